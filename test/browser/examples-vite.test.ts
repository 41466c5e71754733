// examples/browser-vite, the browser app of the examples, as a user builds it: copied into the app folder where the
// packed tarballs are installed with plain npm (test/support/packedInstall.ts), so that its `@nladmm/*` imports
// resolve to the packages' dist/ builds; type-checked and built by its own `npm run build` (tsc, then Vite; the
// workspace's tsc and vite are put on PATH rather than installed again), served from 127.0.0.1 and opened in headless
// Chromium with WebGPU on SwiftShader (support/browser.ts). The page's #result is checked against a Node run of the
// same problem on the CPU backend (f64), and the page without an adapter must say so.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer, paperStepRule, squareTask } from '@nladmm/core';
import { sigmoid } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { repoRoot } from '../../scripts/pack-packages.mjs';
import { type StaticServer, startStaticServer } from '../../scripts/serve-static.mjs';
import { PACKED_INSTALL_TIMEOUT_MS, installPackedPackages } from '../support/packedInstall.ts';
import { type Ran, copyExample, describeRun, run } from '../support/exampleApp.ts';
import { type LaunchedBrowser, launchChromium } from './support/browser.ts';

let dir: string | undefined;
let build: Ran | undefined;
let server: StaticServer | undefined;
let browser: LaunchedBrowser | undefined;
let setupError: unknown;

/** Throws what went wrong while installing, building or starting the server or the browser. */
function ready(): void {
  if (setupError) throw setupError;
}

const diagnostics = (): string => (browser && browser.console.length > 0 ? `\nbrowser console:\n${browser.console.slice(-30).join('\n')}` : '');

beforeAll(async () => {
  try {
    dir = copyExample(await installPackedPackages(), 'browser-vite');
    build = await run('npm', ['--silent', 'run', 'build'], dir, { pathFirst: join(repoRoot, 'node_modules', '.bin'), timeoutMs: 120_000 });
    console.log(`examples/browser-vite: npm run build (tsc + vite build) took ${(build.ms / 1000).toFixed(1)} s`);
    if (build.code !== 0) throw new Error(describeRun('npm run build in examples/browser-vite', build));
    server = await startStaticServer({ root: join(dir, 'dist') });
    browser = await launchChromium();
  } catch (err) {
    setupError = err;
  }
}, PACKED_INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** Opens the app and waits until #result leaves the running states; returns the page, the state and the text. */
async function openApp(prepare?: (page: Page) => Promise<void>): Promise<{ page: Page; state: string; text: string; loss?: string }> {
  const page = await browser!.newPage();
  await prepare?.(page);
  await page.goto(server!.url, { waitUntil: 'load', timeout: 30_000 });
  await page
    .waitForFunction(() => ['done', 'no-webgpu', 'error'].includes(document.getElementById('result')?.dataset.state ?? ''), { timeout: 150_000, polling: 200 })
    .catch(async (err: unknown) => {
      const text = await page.$eval('#result', (e) => e.textContent).catch(() => '');
      throw new Error(`#result never finished (it says "${text}"): ${String(err)}${diagnostics()}`);
    });
  const { state, text, loss } = await page.$eval('#result', (e) => ({ state: (e as HTMLElement).dataset.state!, text: e.textContent ?? '', loss: (e as HTMLElement).dataset.loss }));
  return { page, state, text, loss };
}

describe('examples/browser-vite in headless Chromium', () => {
  it('type-checks and builds against the packed packages (an index.html and one script, without inversify)', () => {
    ready();
    const assets = readdirSync(join(dir!, 'dist', 'assets')).filter((f) => f.endsWith('.js'));
    expect(assets).toHaveLength(1);
    expect(readFileSync(join(dir!, 'dist', 'index.html'), 'utf8')).toContain(`/assets/${assets[0]}`);
    expect(readFileSync(join(dir!, 'dist', 'assets', assets[0]), 'utf8')).not.toMatch(/inversify/i);
  });

  it('trains on navigator.gpu and writes the final loss into #result, as a Node CPU f64 run of the same problem', async () => {
    ready();
    const { page, state, text, loss } = await openApp();
    expect(state, `${text}${diagnostics()}`).toBe('done');
    expect(text).toMatch(/^done: 20 iterations on webgpu \(f32\) on .+, final train loss \d\.\d{4}e-\d+$/);

    const backend = new CpuBackend();
    const trainer = await Trainer.create(backend, squareTask(256, 1), {
      layers: [1, 32, 32, 1], activation: sigmoid, stepRule: paperStepRule, beta: 1, lambda: 1e-3, init: { scheme: 'msra', seed: 1 },
    });
    const reference = (await trainer.run({ maxIterations: 20, metricsEvery: 20 })).final.trainLoss;
    trainer.dispose();
    backend.dispose();
    // f32 on the GPU against f64: the tolerance of test/examples.test.ts's swap-backend check (measured 4.9e-3 there).
    console.log(`examples/browser-vite: train loss ${loss} on WebGPU, ${reference} on the CPU (f64)`);
    expect(Math.abs(Number(loss) - reference) / reference).toBeLessThanOrEqual(2e-2);
    await page.close();
  }, 180_000);

  it('says clearly that it has nothing to train on without a WebGPU adapter', async () => {
    ready();
    // A browser without WebGPU: navigator.gpu is undefined before any of the page's scripts run.
    const { page, state, text } = await openApp((p) => p.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined })).then(() => undefined));
    expect(state).toBe('no-webgpu');
    expect(text).toMatch(/^WebGPU is not available here/);
    await page.close();
  }, 60_000);
});
