// WebGPU in a real browser: headless Chromium with SwiftShader's Vulkan (no GPU needed), a page served from
// 127.0.0.1 that bundles core, activations and webgpu-backend for browsers (test/browser/pages/gpu-checks.ts) and
// runs, against navigator.gpu,
//   1. the SwiftShader-sized subset (the `browser` rows) of the backend conformance table test/conformance/cases.ts
//      that the Node suite runs in full, covering every Backend op, with the f64 references computed in the page;
//   2. five iterations of Algorithm 1, compared here with a Node run of the same problem on CpuBackend (f64).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, Trainer, type TrainingProgress } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { type StaticServer, startStaticServer } from '../../scripts/serve-static.mjs';
import { admmConfig, syntheticData } from '../../packages/web-demo/src/tasks.ts';
import { BROWSER_CASES, type ConformanceReport } from './pages/conformance.ts';
import type { AdmmRun, NladmmChecks } from './pages/gpu-checks.ts';
import { ADMM_CHECK } from './pages/scenarios.ts';
import { type LaunchedBrowser, launchChromium, withTimeout } from './support/browser.ts';
import { buildChecksPage } from './support/pages.ts';

/** Every method of the Backend interface: a Record, so that a method added to Backend fails to compile here. */
type BackendMethod = { [K in keyof Backend]: Backend[K] extends (...args: never[]) => unknown ? K : never }[keyof Backend];
const BACKEND_OPS: Record<BackendMethod, true> = {
  describe: true, alloc: true, upload: true, download: true, free: true, view: true, copy: true, fill: true,
  scalar: true, readScalar: true, readScalars: true, freeScalar: true, scalarAffine: true, gemm: true, gram: true, shiftedScale: true,
  axpby: true, adamStep: true, cholesky: true, solveLeft: true, solveRight: true, prepareActivation: true, activate: true,
  multiplierStep: true, prepareLoss: true, lossValue: true, lossGradient: true, lossProx: true, sumSquares: true, maxAbs: true, dot: true, sync: true, dispose: true,
};

// The conformance tolerance: every result is computed in f32 (unit roundoff u = 2⁻²⁴ ≈ 6e-8); rel = 1e-6 ≈ 16 u is
// the accuracy expected of one well-conditioned op, scaled by the page's checks by √k for sums of k terms and by κ
// for solutions — the same value test/webgpu-backend.test.ts uses for Dawn in Node.
const REL = 1e-6;

let browser: LaunchedBrowser | undefined;
let server: StaticServer | undefined;
let page: Page;
let workDir: string | undefined;
let setupError: unknown;

/** Throws what went wrong while starting the server or the browser. */
function ready(): void {
  if (setupError) throw setupError;
}

const diagnostics = (): string => (browser && browser.console.length > 0 ? `\nbrowser console:\n${browser.console.slice(-30).join('\n')}` : '');

/** Calls `window.nladmmChecks[name](arg)` in the page (results come back as JSON text). */
async function inPage<K extends keyof NladmmChecks>(name: K, arg: Parameters<NladmmChecks[K]>[0], timeoutMs: number): Promise<string> {
  return withTimeout(
    page.evaluate(
      (n, a) => (globalThis as unknown as { nladmmChecks: Record<string, (x: unknown) => Promise<string>> }).nladmmChecks[n](a),
      name,
      arg as unknown,
    ),
    timeoutMs,
    `page call ${name}`,
  );
}

beforeAll(async () => {
  try {
    workDir = mkdtempSync(join(tmpdir(), 'nladmm-webgpu-page-'));
    await buildChecksPage(workDir);
    server = await startStaticServer({ root: workDir });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(server.url, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  } catch (err) {
    // Reported by every test (not only as a hook error), e.g. "Chromium not found at …".
    setupError = err;
  }
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 30_000);

describe('WebGPU in headless Chromium (navigator.gpu on SwiftShader)', () => {
  it('finds an adapter and a device in the page', async () => {
    ready();
    const info = JSON.parse(await inPage('adapter', undefined, 30_000)) as { vendor: string; architecture: string; limits: Record<string, number> };
    expect(`${info.vendor} ${info.architecture}`, diagnostics()).toMatch(/\S/);
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 << 20);
  });

  it('loads the library build (dist/browser/nladmm.js) as an ES module and trains with it on navigator.gpu', async () => {
    ready();
    // A string, so that no test-side transform touches the page's dynamic import().
    const script = `(async () => {
      const lib = await import(location.origin + '/nladmm.js');
      const adapter = await navigator.gpu.requestAdapter();
      const device = await adapter.requestDevice();
      const backend = await lib.WebGpuBackend.create({ device });
      const trainer = await lib.Trainer.create(backend, lib.squareTask(64, 1), {
        layers: [1, 8, 1], activation: lib.createDefaultRegistry().get('tanh'), beta: 1, lambda: 0.1,
        stepRule: lib.paperStepRule, init: { scheme: 'msra', seed: 1 },
      });
      const run = await trainer.run({ maxIterations: 2 });
      trainer.dispose();
      backend.dispose();
      device.destroy();
      return { exports: Object.keys(lib).length, name: backend.name, iterations: run.iterations, loss: run.final.trainLoss };
    })()`;
    const result = (await withTimeout(page.evaluate(script), 90_000, 'the library bundle in the page')) as {
      exports: number;
      name: string;
      iterations: number;
      loss: number;
    };
    expect(result.exports).toBeGreaterThan(30);
    expect(result.name).toBe('webgpu');
    expect(result.iterations).toBe(2);
    expect(Number.isFinite(result.loss)).toBe(true);
  }, 120_000);

  it('passes the conformance checks in the page, covering every Backend op', async () => {
    ready();
    const report = JSON.parse(await inPage('conformance', REL, 150_000)) as ConformanceReport;
    const slowest = [...report.cases].sort((a, b) => b.ms - a.ms).slice(0, 8);
    console.log(
      `conformance in the page, ${report.backend}: ${report.cases.length} cases, ${report.results.length} checks, ${report.durationMs.toFixed(0)} ms\n` +
        `by group: ${Object.entries(report.timings).map(([g, ms]) => `${g} ${ms.toFixed(0)}`).join(', ')} (ms)\n` +
        `slowest: ${slowest.map((c) => `${c.title} ${c.ms.toFixed(0)}`).join('; ')} (ms)`,
    );
    expect(report.precision).toBe('f32');
    expect(report.backend).toMatch(/^webgpu/);
    expect(report.results.length).toBeGreaterThan(100);
    // Every browser row of the shared table ran, in order, and recorded checks of its own.
    expect(report.cases.map((c) => `${c.group}: ${c.title}`)).toEqual(BROWSER_CASES.map((c) => `${c.group}: ${c.title}`));
    expect(report.cases.filter((c) => c.checks === 0).map((c) => c.title), 'cases that recorded no checks').toEqual([]);
    const failures = report.results.filter((r) => !(r.error <= r.bound));
    expect(failures.map((r) => `${r.from}: ${r.op}: ${r.case}: error ${r.error} > bound ${r.bound}`), diagnostics()).toEqual([]);
    const missing = Object.keys(BACKEND_OPS).filter((op) => !report.opsCalled.includes(op));
    expect(missing, 'Backend ops never called by the page').toEqual([]);
    // Each op family has at least one error-vs-bound record of its own.
    const families = new Set(report.results.map((r) => r.op.split(/[/ ]/)[0]));
    for (const op of ['upload', 'view', 'copy', 'fill', 'scalarAffine', 'gemm', 'gram', 'shiftedScale', 'axpby', 'cholesky', 'solveLeft', 'solveRight', 'activate', 'multiplierStep', 'lossValue', 'lossGradient', 'lossProx', 'sumSquares', 'maxAbs', 'dot']) {
      expect(families.has(op), `no checks recorded for ${op}`).toBe(true);
    }
  }, 180_000);

  it('runs 5 iterations of Algorithm 1 on WebGPU that match a Node CPU f64 run', async () => {
    ready();
    const gpu = JSON.parse(await inPage('admm', ADMM_CHECK, 120_000)) as AdmmRun;
    expect(gpu.error, diagnostics()).toBeUndefined();
    expect(gpu.describe).toMatch(/^webgpu \(f32\)/);

    const cpu = new CpuBackend();
    const trainer = await Trainer.create(cpu, syntheticData(ADMM_CHECK.task as 'product', ADMM_CHECK.samples, ADMM_CHECK.seed), admmConfig(ADMM_CHECK, createDefaultRegistry().get(ADMM_CHECK.activation)));
    const reference: TrainingProgress[] = [];
    trainer.events.on('metrics', (m) => {
      reference.push(m);
    });
    await trainer.run({ maxIterations: ADMM_CHECK.iterations, metricsEvery: 1 });
    trainer.dispose();
    cpu.dispose();

    expect(gpu.metrics.map((m) => m.iteration)).toEqual([1, 2, 3, 4, 5]);
    expect(reference.map((m) => m.iteration)).toEqual([1, 2, 3, 4, 5]);
    // Tolerance. The page computes in f32 (u = 2⁻²⁴ ≈ 6e-8): the data, every stored iterate and every sum are rounded,
    // and each of the W- and V-solves of an iteration loses up to κ·u with κ(λI + c ÃÃᵀ) ≈ c‖Ã‖²/λ ≈ 1e4 here
    // (λ = 1e-2, n = 200), i.e. ~1e-3 in the new blocks. Algorithm 1 is itself sensitive to such perturbations: the
    // CPU backend in f32 *storage* mode (f64 arithmetic) already moves 𝓛 by 1e-4–3e-4 within these five iterations.
    // Measured on SwiftShader: 𝓛 within 1e-3, the losses and residuals within 7e-4. Bounds: 5e-3 (a wrong kernel
    // or a misplaced term is off by O(1)). ‖∇𝓛‖ falls from 270 to ~5 while its terms stay O(1–10), so its relative
    // error is amplified by that cancellation (measured 5.5e-3 at k = 5): bound 3e-2.
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
    const rows: string[] = [];
    for (let k = 0; k < 5; k++) {
      const g = gpu.metrics[k];
      const c = reference[k];
      rows.push(
        `k=${c.iteration}: 𝓛 ${g.augmentedLagrangian} vs ${c.augmentedLagrangian} (${rel(g.augmentedLagrangian, c.augmentedLagrangian).toExponential(1)}), ` +
          `‖∇𝓛‖ ${g.gradNorm} vs ${c.gradNorm} (${rel(g.gradNorm, c.gradNorm).toExponential(1)}), ` +
          `loss ${g.trainLoss} vs ${c.trainLoss} (${rel(g.trainLoss, c.trainLoss).toExponential(1)})`,
      );
      const report = rows.join('\n');
      expect(rel(g.augmentedLagrangian, c.augmentedLagrangian), report).toBeLessThanOrEqual(5e-3);
      expect(rel(g.objective, c.objective), report).toBeLessThanOrEqual(5e-3);
      expect(rel(g.trainLoss, c.trainLoss), report).toBeLessThanOrEqual(5e-3);
      expect(rel(g.testLoss!, c.testLoss!), report).toBeLessThanOrEqual(5e-3);
      g.residuals.forEach((r, i) => expect(rel(r, c.residuals[i]), `${report}\nresidual of layer ${i + 1}`).toBeLessThanOrEqual(5e-3));
      expect(rel(g.gradNorm, c.gradNorm), report).toBeLessThanOrEqual(3e-2);
    }
    console.log(`Algorithm 1 in the page, ${gpu.describe}: ${gpu.ms.toFixed(0)} ms\n${rows.join('\n')}`);
  }, 150_000);
});
