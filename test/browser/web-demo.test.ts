// The web demo (packages/web-demo) driven end to end in headless Chromium: built by scripts/build-web-demo.mjs into
// a temporary folder, served from 127.0.0.1 by scripts/serve-static.mjs, trained on navigator.gpu (SwiftShader),
// stopped and resumed, its numbers read from the DOM and checked against a Node run of the same problem on the
// CPU backend (f64); a screenshot is checked for content and kept in test-artifacts/web-demo.png. Also: the
// activation plugin loaded by URL, and the CPU fallback (?backend=cpu) with its notice.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer, type TrainingProgress } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { repoRoot } from '../../scripts/browser-bundle.mjs';
import { type BuiltDemo, buildWebDemo } from '../../scripts/build-web-demo.mjs';
import { type StaticServer, startStaticServer } from '../../scripts/serve-static.mjs';
import { type DemoSettings, admmConfig, syntheticData } from '../../packages/web-demo/src/tasks.ts';
import { DEMO_E2E } from './pages/scenarios.ts';
import { type LaunchedBrowser, launchChromium } from './support/browser.ts';
import { colourStats } from './support/colours.ts';

let browser: LaunchedBrowser | undefined;
let server: StaticServer | undefined;
let workDir: string | undefined;
let setupError: unknown;

/** Throws what went wrong while starting the server or the browser. */
function ready(): void {
  if (setupError) throw setupError;
}
let built: BuiltDemo;

const diagnostics = (): string => (browser && browser.console.length > 0 ? `\nbrowser console:\n${browser.console.slice(-30).join('\n')}` : '');

beforeAll(async () => {
  try {
    workDir = mkdtempSync(join(tmpdir(), 'nladmm-web-demo-'));
    built = await buildWebDemo({ outDir: join(workDir, 'site') });
    server = await startStaticServer({ root: built.outDir });
    browser = await launchChromium();
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

async function openDemo(query = ''): Promise<Page> {
  const page = await browser!.newPage();
  await page.goto(`${server!.url}${query}`, { waitUntil: 'load', timeout: 30_000 });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 45_000 }).catch(async (err: unknown) => {
    const error = await page.$eval('#error', (e) => e.textContent).catch(() => '');
    throw new Error(`the demo did not become ready: ${String(err)} ${error}${diagnostics()}`);
  });
  return page;
}

/** Sets the form to `s` (the task first: changing it loads that task's defaults). */
async function fillForm(page: Page, s: DemoSettings): Promise<void> {
  await page.select('#task', s.task);
  await page.evaluate((settings) => {
    const set = (id: string, value: string): void => {
      const input = document.getElementById(id) as HTMLInputElement | HTMLSelectElement;
      input.value = value;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    };
    set('samples', String(settings.samples));
    set('layers', settings.layers.join(', '));
    set('activation', settings.activation);
    set('beta', String(settings.beta));
    set('lambda', String(settings.lambda));
    set('iterations', String(settings.iterations));
    set('metrics-every', String(settings.metricsEvery));
    set('step-rule', settings.stepRule);
    set('init', settings.init);
    set('init-scale', String(settings.initScale));
    set('seed', String(settings.seed));
  }, s as unknown as Record<string, unknown> & DemoSettings);
}

const state = (page: Page): Promise<string | undefined> => page.$eval('#status', (e) => (e as HTMLElement).dataset.state);

async function waitForState(page: Page, states: string[], timeoutMs: number): Promise<string> {
  await page
    .waitForFunction((wanted: string[]) => wanted.includes(document.getElementById('status')?.dataset.state ?? ''), { timeout: timeoutMs, polling: 100 }, states)
    .catch(async (err: unknown) => {
      const error = await page.$eval('#error', (e) => e.textContent).catch(() => '');
      throw new Error(`status never became ${states.join('/')} (it is ${await state(page)}): ${String(err)} ${error}${diagnostics()}`);
    });
  return (await state(page))!;
}

/** The latest value of `[data-metric=name]` (full precision from data-value). */
async function metric(page: Page, name: string): Promise<number> {
  const value = await page.$eval(`[data-metric="${name}"]`, (e) => (e as HTMLElement).dataset.value);
  if (value === undefined) throw new Error(`[data-metric="${name}"] has no value${diagnostics()}`);
  return Number(value);
}

async function resultValue(page: Page, name: string): Promise<string | undefined> {
  return page.$eval(`#result-table td[data-result="${name}"]`, (e) => (e as HTMLElement).dataset.value ?? e.textContent ?? undefined);
}

/** The same run in Node on the CPU backend (f64): the metrics at every iteration. */
async function nodeRun(s: DemoSettings): Promise<TrainingProgress[]> {
  const cpu = new CpuBackend();
  const trainer = await Trainer.create(cpu, syntheticData(s.task as 'square', s.samples, s.seed), admmConfig(s, createDefaultRegistry().get(s.activation)));
  const metrics: TrainingProgress[] = [];
  trainer.events.on('metrics', (m) => {
    metrics.push(m);
  });
  await trainer.run({ maxIterations: s.iterations, metricsEvery: s.metricsEvery });
  trainer.dispose();
  cpu.dispose();
  return metrics;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe('web demo in headless Chromium', () => {
  it('built a page with its data and plugin', () => {
    ready();
    expect(built.plugins).toContain('gudermannian.mjs');
    expect(built.bundleBytes).toBeGreaterThan(10_000);
  });

  it('trains the synthetic task on WebGPU, stops, resumes, and matches a Node CPU f64 run', async () => {
    ready();
    const page = await openDemo();
    expect(await page.$eval('body', (b) => b.dataset.backend), `the demo fell back to the CPU${diagnostics()}`).toBe('webgpu');
    expect(await page.$eval('#backend-notice', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#backend-desc', (e) => e.textContent)).toMatch(/^webgpu \(f32\)/);
    expect(await page.$eval('[data-adapter="architecture"]', (e) => e.textContent)).toMatch(/\S/);

    const s = DEMO_E2E;
    await fillForm(page, s);
    await page.click('#start');
    // Stop part-way (the page must stay responsive while it trains), then resume the same Trainer.
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-metric="iteration"]')?.dataset.value ?? 0) >= 2, { timeout: 90_000, polling: 50 });
    await page.click('#stop');
    expect(await waitForState(page, ['stopped', 'done', 'error'], 60_000)).toBe('stopped');
    const stoppedAt = await metric(page, 'iteration');
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(s.iterations);
    expect(await resultValue(page, 'reason')).toMatch(/stopped/);
    expect(await page.$eval('#resume', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    await page.click('#resume');
    expect(await waitForState(page, ['done', 'error'], 120_000), `${await page.$eval('#error', (e) => e.textContent)}${diagnostics()}`).toBe('done');

    const page_ = {
      iteration: await metric(page, 'iteration'),
      measuredAt: await metric(page, 'metricsIteration'),
      augmentedLagrangian: await metric(page, 'augmentedLagrangian'),
      objective: await metric(page, 'objective'),
      gradNorm: await metric(page, 'gradNorm'),
      trainLoss: await metric(page, 'trainLoss'),
      testLoss: await metric(page, 'testLoss'),
      runningMeanGradSq: await metric(page, 'runningMeanGradSq'),
      finalLoss: await metric(page, 'finalLoss'),
    };
    expect(page_.iteration).toBe(s.iterations);
    expect(page_.measuredAt).toBe(s.iterations);
    expect(Number(await resultValue(page, 'iterations'))).toBe(s.iterations);
    expect(Number(await resultValue(page, 'trainLoss'))).toBe(page_.trainLoss);
    expect(page_.finalLoss).toBe(page_.trainLoss);

    const reference = await nodeRun(s);
    const last = reference[reference.length - 1];
    expect(last.iteration).toBe(s.iterations);
    // f32 tolerance (see webgpu.test.ts for the reasoning). Over 8 iterations the CPU backend in f32 *storage* mode
    // alone already moves 𝓛 by 1.6e-3 and the loss by 6e-4 from the f64 run; WebGPU also computes in f32 (measured
    // on SwiftShader: 𝓛 7e-3, losses 2e-3, objective and the running mean 2e-4). 𝓛 adds the multiplier terms
    // ⟨Λ, r⟩ + β/2‖r‖², small differences of perturbed iterates, hence the widest bound among the values; ‖∇𝓛‖
    // suffers the cancellation of a falling gradient. The iteration counts are checked exactly above, and the
    // running mean of ‖∇𝓛‖² (dominated by k = 1) would move by ~1/8 with a skipped or repeated iteration.
    const report = JSON.stringify({ page: page_, node: { augmentedLagrangian: last.augmentedLagrangian, objective: last.objective, gradNorm: last.gradNorm, trainLoss: last.trainLoss, testLoss: last.testLoss, runningMeanGradSq: last.runningMeanGradSq } }, null, 1);
    console.log(
      `web demo on WebGPU, stopped at ${stoppedAt} and resumed to ${s.iterations}; relative differences from Node f64: ` +
        (['augmentedLagrangian', 'objective', 'gradNorm', 'trainLoss', 'testLoss', 'runningMeanGradSq'] as const)
          .map((k) => `${k} ${rel(page_[k], last[k]!).toExponential(1)}`)
          .join(', '),
    );
    expect(rel(page_.augmentedLagrangian, last.augmentedLagrangian), report).toBeLessThanOrEqual(3e-2);
    expect(rel(page_.objective, last.objective), report).toBeLessThanOrEqual(5e-3);
    expect(rel(page_.trainLoss, last.trainLoss), report).toBeLessThanOrEqual(1e-2);
    expect(rel(page_.testLoss, last.testLoss!), report).toBeLessThanOrEqual(1e-2);
    expect(rel(page_.gradNorm, last.gradNorm), report).toBeLessThanOrEqual(6e-2);
    expect(rel(page_.runningMeanGradSq, last.runningMeanGradSq), report).toBeLessThanOrEqual(1e-2);
    // Training made progress: the network's loss fell from the first iterate.
    expect(page_.trainLoss).toBeLessThan(reference[0].trainLoss);

    // The screenshot: the whole page after training, kept for people to look at.
    const png = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }));
    writeFileSync(join(workDir!, 'web-demo.png'), png);
    const artifacts = join(repoRoot, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'web-demo.png'), png);
    const image = PNG.sync.read(png);
    expect(image.width).toBeGreaterThanOrEqual(800);
    const whole = colourStats(image);
    expect(whole.distinct, 'the screenshot has too few colours (blank page?)').toBeGreaterThan(200);
    expect(whole.dominantShare).toBeLessThan(0.9);
    // Each chart drew its curves: many colours inside the canvas, not just the frame and the "press Start" text.
    const ratio = image.width / (await page.evaluate(() => document.documentElement.scrollWidth));
    for (const id of ['chart-lagrangian', 'chart-grad', 'chart-accuracy']) {
      const box = await page.$eval(`#${id}`, (c) => {
        const r = c.getBoundingClientRect();
        return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
      });
      const stats = colourStats(image, { x: box.x * ratio, y: box.y * ratio, width: box.width * ratio, height: box.height * ratio });
      expect(stats.distinct, `#${id} looks empty`).toBeGreaterThan(40);
    }
    await page.close();
  }, 240_000);

  it('loads a third-party activation plugin by URL', async () => {
    ready();
    const page = await openDemo();
    await page.click('#load-plugin');
    await page.waitForFunction(() => ['ok', 'error'].includes(document.getElementById('plugin-status')?.dataset.state ?? ''), { timeout: 60_000, polling: 100 });
    const status = await page.$eval('#plugin-status', (e) => ({ state: (e as HTMLElement).dataset.state, text: e.textContent }));
    expect(status.state, status.text ?? '').toBe('ok');
    expect(await page.$eval('#activation', (e) => (e as HTMLSelectElement).value)).toBe('gudermannian');
    // A URL that does not resolve is reported, not thrown.
    await page.$eval('#plugin-url', (e) => ((e as HTMLInputElement).value = 'plugins/missing.mjs'));
    await page.click('#load-plugin');
    await page.waitForFunction(() => ['ok', 'error'].includes(document.getElementById('plugin-status')?.dataset.state ?? '') && !document.getElementById('plugin-status')?.textContent?.startsWith('loading'), { timeout: 30_000, polling: 100 });
    expect(await page.$eval('#plugin-status', (e) => (e as HTMLElement).dataset.state)).toBe('error');
    expect(await page.$eval('#plugin-status', (e) => e.textContent)).toMatch(/missing\.mjs/);
    await page.close();
  }, 90_000);

  it('falls back to the CPU backend with a visible notice (?backend=cpu), with the f64 numbers of Node', async () => {
    ready();
    const page = await openDemo('?backend=cpu');
    expect(await page.$eval('body', (b) => b.dataset.backend)).toBe('cpu');
    const notice = await page.$eval('#backend-notice', (e) => ({ hidden: (e as HTMLElement).hidden, text: e.textContent ?? '', visible: (e as HTMLElement).offsetHeight > 0 }));
    expect(notice.hidden).toBe(false);
    expect(notice.visible).toBe(true);
    expect(notice.text).toMatch(/CPU backend/);
    expect(await page.$eval('#backend-name', (e) => (e as HTMLElement).dataset.backend)).toBe('cpu');

    const s: DemoSettings = { ...DEMO_E2E, iterations: 4 };
    await fillForm(page, s);
    await page.click('#start');
    expect(await waitForState(page, ['done', 'error'], 60_000)).toBe('done');
    const reference = await nodeRun(s);
    const last = reference[reference.length - 1];
    // The same f64 JavaScript on both sides: equal up to the last few bits (Math.tanh/exp may differ by an ulp).
    expect(await metric(page, 'iteration')).toBe(4);
    expect(rel(await metric(page, 'augmentedLagrangian'), last.augmentedLagrangian)).toBeLessThanOrEqual(1e-9);
    expect(rel(await metric(page, 'gradNorm'), last.gradNorm)).toBeLessThanOrEqual(1e-9);
    expect(rel(await metric(page, 'trainLoss'), last.trainLoss)).toBeLessThanOrEqual(1e-9);
    await page.close();
  }, 90_000);
});
