/**
 * A comparison directory (`nladmm compare`): ADMM (Algorithm 1) against a backpropagation baseline (gd, sgd or adam)
 * on the same data, network and initial weights W^0 (drawn once, stored in DIR/initial.safetensors and read by both
 * runs). Each method runs through the run loop (run/runLoop.ts) as an ordinary run in DIR/admm and DIR/<baseline>
 * (checkpoints, metrics, SIGINT/SIGTERM), so that a resume continues an interrupted comparison from the runs' last
 * checkpoints. When both runs are done it writes into DIR: compare.svg / compare.png (training loss and, with class
 * targets and a test set, test accuracy against iterations and wall time), compare.md and compare.json (the final
 * numbers and the initial-weights check) and the initial weights each trainer reported.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type HostMatrix, InvalidProblemError, drawWeights, resolveBackprop, resolveProblem } from '@nladmm/core';
import type { ParsedOptions } from '../args.ts';
import type { CliContext } from '../context.ts';
import { CliError, UsageError, messageOf } from '../errors.ts';
import { lambdaText, percent, sci } from '../format.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { type RunLock, acquireRunLock } from '../io/lock.ts';
import { readMetrics } from '../io/metrics.ts';
import { encodeModel, readInitWeights, readModel, recordedIteration } from '../io/model.ts';
import { CHECKPOINT, CONFIG, METRICS, createRunDirectory, precheckRunDirectory } from '../io/runDirectory.ts';
import { type ChartSpec, PALETTE, type Series, chartScene } from '../plot/chart.ts';
import { encodePng } from '../plot/png.ts';
import { rasterize } from '../plot/raster.ts';
import type { Primitive, Scene } from '../plot/scene.ts';
import { renderSvg } from '../plot/svg.ts';
import { loadRunInputs, modelInfo, pluginRecord, runBackend } from '../runInputs.ts';
import { type TrainSettings, settingsToOptions } from '../trainOptions.ts';
import { VERSION } from '../version.ts';
import { backpropConfig } from './baselineRun.ts';
import { type RunOutcome, executeRun, signalExitCode } from './runLoop.ts';
import { resumeSettings } from './runSettings.ts';

const INITIAL = 'initial.safetensors';
/** How each finished run ended (a resume does not run it again unless it raises --iterations or --time-limit). */
const OUTCOMES = 'outcomes.json';

/** What the comparison's messages need besides its settings. */
export interface ComparisonRequest {
  /** The command line recorded in config.json. */
  readonly command: string;
  readonly quiet: boolean;
  readonly notice: (text: string) => void;
}

/** A new comparison in DIR (which must not exist or be empty): both runs, then the report. */
export async function runComparison(dir: string, settings: TrainSettings, ctx: CliContext, o: ComparisonRequest): Promise<number> {
  const lock = await startComparison(dir, settings, o.command, o.notice);
  try {
    return await continueComparison(dir, settings, ctx, { ...o, extend: false, fresh: true });
  } finally {
    lock.release();
  }
}

/**
 * Continues the comparison in DIR (its settings: the stored ones with the resume's flags, which `changed` the
 * comparison's options and `extend` the runs that had finished when they raise the budget), under DIR's lock.
 */
export async function resumeComparison(dir: string, settings: TrainSettings, ctx: CliContext, o: ComparisonRequest & { changed: boolean; extend: boolean }): Promise<number> {
  if (!existsSync(join(dir, INITIAL))) throw new UsageError(`--resume ${dir}: not a comparison directory (no ${INITIAL})`);
  // Held until the comparison ends (a second resume of DIR refuses with the PID holding it).
  const lock = acquireRunLock(dir, o.notice);
  try {
    for (const method of ['admm', settings.optimizer]) {
      const checkpoint = join(dir, method, CHECKPOINT);
      const done = existsSync(checkpoint) ? await recordedIteration(checkpoint) : 0;
      if (settings.iterations < done) throw new UsageError(`--iterations ${settings.iterations} is below the ${done} iterations the ${method} run has done`);
    }
    // The comparison's own options change with the resume's (a later resume keeps the new budget).
    if (o.changed) {
      const path = join(dir, CONFIG);
      const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      await writeFileAtomic(path, `${JSON.stringify({ ...json, options: settingsToOptions(settings) }, null, 2)}\n`);
    }
    return await continueComparison(dir, settings, ctx, { command: o.command, quiet: o.quiet, notice: o.notice, extend: o.extend, fresh: false });
  } finally {
    lock.release();
  }
}

/** A method's run settings: the comparison's, with ADMM's optimiser options dropped. */
function methodSettings(settings: TrainSettings, method: string): TrainSettings {
  return method === 'admm' ? { ...settings, optimizer: 'admm', learningRate: undefined, momentum: undefined, batchSize: undefined } : settings;
}

/**
 * Checks both methods' configurations (before anything is written or trained), draws W^0 and creates DIR with
 * config.json (the comparison's options; the baseline is its `optimizer`) and initial.safetensors (W^0, f64);
 * returns DIR's lock, which the caller releases when the comparison ends.
 */
async function startComparison(dir: string, settings: TrainSettings, command: string, notice: (text: string) => void): Promise<RunLock> {
  await precheckRunDirectory(dir);
  const admmSettings = methodSettings(settings, 'admm');
  const { activation, plugin, loss, lossPlugin, data, layers, config } = await loadRunInputs(admmSettings);
  const weights0 = 'weights' in config.init
    ? config.init.weights
    : drawWeights(layers, { scheme: config.init.scheme, seed: config.init.seed, scale: config.init.scale, mode: config.init.mode, bias: settings.bias });
  const init = { weights: weights0 };
  const trainData = { x: data.train.x, y: data.train.y, xTest: data.test?.x, yTest: data.test?.y };
  try {
    resolveProblem(trainData, { ...config, init });
    resolveBackprop(trainData, backpropConfig(settings, config, init));
  } catch (err) {
    if (err instanceof InvalidProblemError || err instanceof RangeError) throw new CliError(messageOf(err));
    throw err;
  }
  // The backend too (a webgpu run needs f32 and an adapter): both runs create one like it.
  (await runBackend(settings, notice)).dispose();
  const info = { ...modelInfo(admmSettings, { activation, plugin, loss, lossPlugin, data, layers }), precision: 'f64' as const, iteration: 0 };
  const json = { nladmm: { version: VERSION, createdAt: new Date().toISOString(), command, data: data.description, ...pluginRecord(info) }, options: settingsToOptions(settings) };
  return createRunDirectory(dir, [
    { name: CONFIG, data: `${JSON.stringify(json, null, 2)}\n` },
    { name: INITIAL, data: encodeModel(weights0, info) },
  ]);
}

/** A resumed run's stopping and output options and threads: the comparison's (so that both runs keep the same budget). */
function runFlags(settings: TrainSettings): ParsedOptions {
  return {
    ...(settings.threads !== undefined ? { threads: settings.threads } : {}),
    iterations: settings.iterations,
    'metrics-every': settings.metricsEvery,
    'checkpoint-every': settings.checkpointEvery,
    plots: settings.plots,
    ...(settings.timeLimit !== undefined ? { 'time-limit': settings.timeLimit } : {}),
    // The activation and loss the comparison's resume checked (plugin files given with --activation, --loss), checked
    // again by each run.
    activation: settings.activation,
    loss: settings.loss,
  };
}

/**
 * Runs ADMM in DIR/admm, then the baseline in DIR/<baseline>, both from DIR/initial.safetensors: a run not begun
 * starts, one stopped by a signal resumes, one that finished is kept (resumed with `extend`), then the report.
 * A new comparison (`fresh`) whose first run fails before it begins leaves no DIR behind.
 */
async function continueComparison(dir: string, settings: TrainSettings, ctx: CliContext, o: { command: string; quiet: boolean; notice: (text: string) => void; extend: boolean; fresh: boolean }): Promise<number> {
  const methods = ['admm', settings.optimizer];
  const outcomesPath = join(dir, OUTCOMES);
  const finished = existsSync(outcomesPath) ? (JSON.parse(await readFile(outcomesPath, 'utf8')) as Record<string, RunOutcome>) : {};
  // With --quiet only the comparison's table reaches stdout, not each run's summary.
  const runCtx: CliContext = o.quiet ? { ...ctx, stdout: () => undefined } : ctx;
  const outcomes: RunOutcome[] = [];
  for (const method of methods) {
    const runDir = join(dir, method);
    const begun = existsSync(join(runDir, CONFIG));
    if (begun && finished[method] && !o.extend) {
      outcomes.push(finished[method]);
      continue;
    }
    const runSettings = begun ? await resumeSettings(runDir, runFlags(settings)) : { ...methodSettings(settings, method), initWeights: join(dir, INITIAL), out: runDir };
    let outcome: RunOutcome;
    try {
      outcome = await executeRun({ settings: runSettings, runDir, resume: begun, command: o.command, quiet: o.quiet, notice: o.notice, initialWeightsPath: join(dir, `initial-${method}.safetensors`) }, runCtx);
    } catch (err) {
      if (o.fresh && method === methods[0] && !existsSync(join(runDir, CONFIG))) await rm(dir, { recursive: true, force: true });
      throw err;
    }
    if (outcome.code === 0) {
      finished[method] = { code: 0, reason: outcome.reason, iterations: outcome.iterations };
      await writeFileAtomic(outcomesPath, `${JSON.stringify(finished, null, 2)}\n`);
    }
    // A signal stops the comparison, also one that came during a run's last iteration.
    if (outcome.code !== 0 || outcome.stoppedBy) {
      ctx.stdout(`the comparison stopped ${outcome.code === 0 ? 'after' : 'in'} the ${method} run at iteration ${outcome.iterations}; continue it with: nladmm compare --resume ${dir}\n`);
      return outcome.code || signalExitCode(outcome.stoppedBy);
    }
    outcomes.push(outcome);
  }
  return writeReport(dir, settings, methods, outcomes, o.command, ctx);
}


/** One logged point of a run. */
interface Point {
  readonly iteration: number;
  readonly trainLoss: number;
  readonly trainAccuracy?: number;
  readonly testAccuracy?: number;
  readonly testLoss?: number;
  readonly elapsedMs: number;
}

interface MethodSummary {
  readonly method: string;
  readonly iterations: number;
  readonly reason: string;
  readonly finalTrainLoss: number;
  readonly finalTrainAccuracy: number | null;
  readonly finalTestLoss: number | null;
  readonly finalTestAccuracy: number | null;
  readonly elapsedMs: number;
  readonly msPerIteration: number | null;
}

function maxAbsDiff(a: readonly HostMatrix[], b: readonly HostMatrix[]): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i].rows !== b[i].rows || a[i].cols !== b[i].cols) return Infinity;
    for (let k = 0; k < a[i].data.length; k++) d = Math.max(d, Math.abs(a[i].data[k] - b[i].data[k]));
  }
  return d;
}

const point = (m: Point): Point => ({
  iteration: m.iteration,
  trainLoss: m.trainLoss,
  elapsedMs: m.elapsedMs,
  ...(m.trainAccuracy !== undefined ? { trainAccuracy: m.trainAccuracy } : {}),
  ...(m.testLoss !== undefined ? { testLoss: m.testLoss } : {}),
  ...(m.testAccuracy !== undefined ? { testAccuracy: m.testAccuracy } : {}),
});

function summary(method: string, reason: string, iterations: number, points: readonly Point[]): MethodSummary {
  const last = points[points.length - 1];
  return {
    method,
    iterations,
    reason,
    finalTrainLoss: last.trainLoss,
    finalTrainAccuracy: last.trainAccuracy ?? null,
    finalTestLoss: last.testLoss ?? null,
    finalTestAccuracy: last.testAccuracy ?? null,
    elapsedMs: last.elapsedMs,
    msPerIteration: iterations > 0 ? last.elapsedMs / iterations : null,
  };
}

function translate(p: Primitive, dx: number, dy: number): Primitive {
  switch (p.kind) {
    case 'rect':
    case 'text':
      return { ...p, x: p.x + dx, y: p.y + dy };
    case 'line':
      return { ...p, points: p.points.map(([x, y]) => [x + dx, y + dy] as const) };
  }
}

/** The panels (2 or 4) laid out on one scene, two per row. */
export function compareScene(runs: readonly { label: string; points: readonly Point[] }[], panelW = 640, panelH = 420): { scene: Scene; title: string } {
  const withAcc = runs.every((r) => r.points.some((p) => p.testAccuracy !== undefined));
  const specs: ChartSpec[] = [];
  const series = (x: (p: Point) => number, y: (p: Point) => number): Series[] =>
    runs.map((r, i) => ({ label: r.label, color: PALETTE[i % PALETTE.length], points: r.points.map((p) => [x(p), y(p)] as const) }));
  const size = { width: panelW, height: panelH };
  const positive = runs.every((r) => r.points.every((p) => p.trainLoss > 0));
  const lossY = { yLabel: positive ? 'train loss (log scale)' : 'train loss', yLog: positive };
  specs.push({ ...size, ...lossY, title: 'Training loss vs iteration', xLabel: 'iteration k', series: series((p) => p.iteration, (p) => p.trainLoss) });
  specs.push({ ...size, ...lossY, title: 'Training loss vs wall time', xLabel: 'training time (ms)', series: series((p) => p.elapsedMs, (p) => p.trainLoss) });
  if (withAcc) {
    const acc = (p: Point) => 100 * (p.testAccuracy ?? NaN);
    specs.push({ ...size, title: 'Test accuracy vs iteration', xLabel: 'iteration k', yLabel: 'test accuracy (%)', yRange: [0, 100], series: series((p) => p.iteration, acc) });
    specs.push({ ...size, title: 'Test accuracy vs wall time', xLabel: 'training time (ms)', yLabel: 'test accuracy (%)', yRange: [0, 100], series: series((p) => p.elapsedMs, acc) });
  }
  const rows = Math.ceil(specs.length / 2);
  const items: Primitive[] = [];
  specs.forEach((spec, k) => {
    const panel = chartScene(spec);
    const dx = (k % 2) * panelW;
    const dy = Math.floor(k / 2) * panelH;
    items.push({ kind: 'rect', x: dx, y: dy, w: panelW, h: panelH, fill: panel.background });
    for (const p of panel.items) items.push(translate(p, dx, dy));
  });
  const title = `${runs.map((r) => r.label).join(' vs ')}: ${specs.map((s) => s.title).join('; ')}`;
  return { scene: { width: 2 * panelW, height: rows * panelH, background: '#ffffff', items }, title };
}

const cell = (v: number | null, f: (x: number) => string) => (v === null || !Number.isFinite(v) ? '–' : f(v));

function markdownTable(rows: readonly MethodSummary[], check: { identical: boolean; maxAbsDiff: number }): string {
  const out = [
    '| method | iterations | final train loss | final train accuracy | final test loss | final test accuracy | training time | time / iteration |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.method} | ${r.iterations} | ${sci(r.finalTrainLoss)} | ${cell(r.finalTrainAccuracy, percent)} | ${cell(r.finalTestLoss, sci)} | ${cell(r.finalTestAccuracy, percent)} | ${(r.elapsedMs / 1000).toFixed(3)} s | ${cell(r.msPerIteration, (v) => `${v.toPrecision(3)} ms`)} |`,
    );
  }
  out.push('', `Same initial weights W^0 for both methods: ${check.identical ? 'yes' : 'NO'} (max |ΔW^0| = ${check.maxAbsDiff}).`);
  return `${out.join('\n')}\n`;
}

async function writeReport(dir: string, settings: TrainSettings, methods: readonly string[], outcomes: readonly RunOutcome[], command: string, ctx: CliContext): Promise<number> {
  const baseline = methods[1];
  const drawn = await readModel(join(dir, INITIAL));
  const layers = drawn.layers;
  const reported = await Promise.all(methods.map((m) => readInitWeights(join(dir, `initial-${m}.safetensors`), layers, settings.bias, 'initial weights')));
  const check = {
    identical: maxAbsDiff(reported[0], reported[1]) === 0,
    maxAbsDiff: maxAbsDiff(reported[0], reported[1]),
    admmVsDrawn: maxAbsDiff(reported[0], drawn.weights),
    baselineVsDrawn: maxAbsDiff(reported[1], drawn.weights),
    files: methods.map((m) => `initial-${m}.safetensors`),
  };
  const points = await Promise.all(methods.map(async (m) => (await readMetrics(join(dir, m, METRICS))).map((r) => point(r as unknown as Point))));
  const runs = await Promise.all(methods.map(async (m) => JSON.parse(await readFile(join(dir, m, CONFIG), 'utf8')) as { nladmm: { backend: string; data: string } }));
  const rows = methods.map((m, k) => summary(m, outcomes[k].reason, outcomes[k].iterations, points[k]));
  const { scene, title } = compareScene([
    { label: 'ADMM', points: points[0] },
    { label: baseline.toUpperCase(), points: points[1] },
  ]);
  const description = runs[0].nladmm.data;
  await writeFileAtomic(join(dir, 'compare.svg'), renderSvg(scene, title));
  await writeFileAtomic(join(dir, 'compare.png'), encodePng(scene.width, scene.height, rasterize(scene)));
  await writeFileAtomic(join(dir, 'compare.md'), `# ADMM vs ${baseline}\n\n${description}; network ${layers.join('-')} ${drawn.activation}${drawn.loss !== undefined && drawn.loss !== 'squared' ? `, loss ${drawn.loss}` : ''}, λ = ${lambdaText(settings.lambda)}\n\n${markdownTable(rows, check)}`);
  const json = {
    nladmm: { version: VERSION, createdAt: new Date().toISOString(), command, data: description },
    options: settingsToOptions(settings),
    runs: Object.fromEntries(methods.map((m, k) => [m, { dir: m, backend: runs[k].nladmm.backend }])),
    initialWeights: check,
    methods: rows,
  };
  await writeFileAtomic(join(dir, 'compare.json'), `${JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  ctx.stdout(`${markdownTable(rows, check)}written to ${dir}\n`);
  if (!check.identical) throw new CliError(`the two trainers did not start from the same weights (max |ΔW^0| = ${check.maxAbsDiff})`);
  return 0;
}
