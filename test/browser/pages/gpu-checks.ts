/**
 * The page of test/browser/webgpu.test.ts: exposes `window.nladmmChecks` for page.evaluate. Everything runs
 * against navigator.gpu through WebGpuBackend; results come back as JSON strings (NaN becomes null).
 */
import { Trainer, type TrainingProgress } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { type BrowserGpu, requestBrowserGpu } from '../../../packages/web-demo/src/gpu.ts';
import { type DemoSettings, admmConfig, syntheticData } from '../../../packages/web-demo/src/tasks.ts';
import { runConformance } from './conformance.ts';

let gpu: Promise<BrowserGpu> | undefined;
const device = (): Promise<BrowserGpu> => (gpu ??= requestBrowserGpu());

async function backend(): Promise<WebGpuBackend> {
  const { device: d, info } = await device();
  return WebGpuBackend.create({ device: d, adapterInfo: info });
}

export interface AdmmRun {
  readonly describe: string;
  readonly metrics: TrainingProgress[];
  readonly ms: number;
  readonly error?: string;
}

const checks = {
  /** Adapter facts (vendor, architecture, limits) of the device the checks use. */
  async adapter(): Promise<string> {
    return JSON.stringify((await device()).info);
  },
  /** The conformance subset (see conformance.ts) with relative tolerance `rel`. */
  async conformance(rel: number): Promise<string> {
    return JSON.stringify(await runConformance(await backend(), rel));
  },
  /** Algorithm 1 on WebGPU for the given settings; the metrics at every iteration. */
  async admm(settings: DemoSettings): Promise<string> {
    const b = await backend();
    const metrics: TrainingProgress[] = [];
    const started = performance.now();
    let error: string | undefined;
    try {
      const data = syntheticData(settings.task as 'product' | 'square', settings.samples, settings.seed);
      const trainer = await Trainer.create(b, data, admmConfig(settings, createDefaultRegistry().get(settings.activation)));
      trainer.events.on('metrics', (m) => {
        metrics.push(m);
      });
      await trainer.run({ maxIterations: settings.iterations, metricsEvery: settings.metricsEvery });
      trainer.dispose();
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    } finally {
      b.dispose();
    }
    const run: AdmmRun = { describe: b.describe(), metrics, ms: performance.now() - started, ...(error ? { error } : {}) };
    return JSON.stringify(run);
  },
};

export type NladmmChecks = typeof checks;
(globalThis as unknown as { nladmmChecks: NladmmChecks }).nladmmChecks = checks;
document.body.dataset.ready = 'true';
