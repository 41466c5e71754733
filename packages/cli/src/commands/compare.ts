/**
 * `nladmm compare`: ADMM (Algorithm 1) against a backpropagation baseline (gd or sgd) on the same data, network
 * and initial weights W^0 (drawn once and given to both trainers). Writes into --out: compare.svg / compare.png
 * (training loss and, with class targets and a test set, test accuracy against iterations and wall time),
 * compare.md and compare.json (the final numbers and the initial-weights check), the metrics of each run and
 * the initial weights each trainer reported.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type HostMatrix, InvalidProblemError, Trainer, drawWeights } from '@nladmm/core';
import { type OptionSpec, formatOptions, parseArgs } from '../args.ts';
import { createBackend } from '../backends.ts';
import type { CliContext } from '../context.ts';
import { CliError, UsageError, messageOf } from '../errors.ts';
import { percent, sci } from '../format.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { type ModelInfo, encodeModel } from '../io/model.ts';
import { type ChartSpec, PALETTE, type Series, chartScene } from '../plot/chart.ts';
import { encodePng } from '../plot/png.ts';
import { rasterize } from '../plot/raster.ts';
import type { Primitive, Scene } from '../plot/scene.ts';
import { renderSvg } from '../plot/svg.ts';
import { loadRunInputs, modelInfo, timeLimitMs } from '../runInputs.ts';
import { TRAIN_OPTIONS, mergeOptions, readConfigFile, settingsToOptions, toSettings } from '../trainOptions.ts';
import { VERSION } from '../version.ts';
import { absolutize, backpropConfig, createBaseline } from './train.ts';

const NOT_COMPARE = new Set(['resume', 'optimizer', 'checkpoint-every', 'plots', 'theory-parameters', 'out', 'grad-tol']);

export const COMPARE_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', type: 'string', group: 'Run', placeholder: 'DIR', description: 'output folder (must not exist or be empty)' },
  { name: 'baseline', type: 'string', group: 'Run', placeholder: 'NAME', choices: ['gd', 'sgd', 'adam'], description: 'the baseline optimiser', defaultText: 'gd' },
  ...TRAIN_OPTIONS.filter((s) => !NOT_COMPARE.has(s.name)),
];

export const COMPARE_HELP = `Usage: nladmm compare --out DIR [options]

Runs Algorithm 1 (ADMM) and a backpropagation baseline (--baseline gd|sgd|adam, with --learning-rate, --momentum,
--batch-size) on the same data, network and initial weights W^0, each for --iterations (or --time-limit
seconds each), and writes into DIR: compare.svg and compare.png (training loss and test accuracy against
iterations and wall time), compare.md and compare.json (final loss, accuracy, time per iteration; the check
that both started from the same W^0), metrics-admm.jsonl, metrics-<baseline>.jsonl and the initial weights each
trainer reported (initial-admm.safetensors, initial-<baseline>.safetensors).

Example:
  nladmm compare --dataset teacher --layers 3,16,2 --iterations 50 --baseline sgd --batch-size 32 --out cmp
${formatOptions(COMPARE_OPTIONS)}
`;

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

export async function compareCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options: flags, positionals } = parseArgs(argv, COMPARE_OPTIONS, 'compare');
  if (flags.help) {
    ctx.stdout(COMPARE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see nladmm compare --help)`);
  if (typeof flags.out !== 'string') throw new UsageError('--out DIR is required');
  const out = resolve(ctx.cwd, flags.out);
  const baseline = (flags.baseline ?? 'gd') as 'gd' | 'sgd' | 'adam';
  const quiet = flags.quiet === true;
  const { baseline: _b, out: _o, ...trainFlags } = flags;
  const fromFile = typeof flags.config === 'string' ? await readConfigFile(resolve(ctx.cwd, flags.config)) : {};
  const settings = absolutize(toSettings(mergeOptions(fromFile, { ...trainFlags, optimizer: baseline })), ctx.cwd);
  if (existsSync(out)) {
    if (!(await stat(out)).isDirectory()) throw new CliError(`--out ${out}: a file with that name exists`);
    if ((await readdir(out)).length > 0) throw new CliError(`--out ${out} already exists and is not empty`);
  }
  const admmSettings = { ...settings, optimizer: 'admm' as const, learningRate: undefined, momentum: undefined, batchSize: undefined };
  const { activation, plugin, data, layers, config } = await loadRunInputs(admmSettings);
  const weights0 = 'weights' in config.init
    ? config.init.weights
    : drawWeights(layers, { scheme: config.init.scheme, seed: config.init.seed, scale: config.init.scale, mode: config.init.mode, bias: settings.bias });
  const init = { weights: weights0 };
  const log = (t: string) => {
    if (!quiet) ctx.stderr(`${t}\n`);
  };
  const stop = {
    maxIterations: settings.iterations,
    timeLimitMs: timeLimitMs(settings),
    metricsEvery: settings.metricsEvery,
    signal: ctx.signal,
  };
  const info: ModelInfo = { ...modelInfo(admmSettings, { activation, plugin, data, layers }), iteration: 0 };
  const backend = await createBackend(settings.backend, settings.precision);
  try {
    const trainData = { x: data.train.x, y: data.train.y, xTest: data.test?.x, yTest: data.test?.y };
    // ADMM.
    let admm: Trainer;
    try {
      admm = await Trainer.create(backend, trainData, { ...config, init });
    } catch (err) {
      if (err instanceof InvalidProblemError || err instanceof RangeError) throw new CliError(messageOf(err));
      throw err;
    }
    const admmPoints: Point[] = [];
    let admmInitial: HostMatrix[];
    let admmResult;
    try {
      admmInitial = await admm.solver.weights();
      log(`admm: ${layers.join('-')} ${activation.name}, ${settings.iterations} iterations`);
      admm.events.on('metrics', (m) => void admmPoints.push(point(m)));
      admmResult = await admm.run(stop);
      if (admmPoints.at(-1)?.iteration !== admmResult.final.iteration) admmPoints.push(point(admmResult.final));
    } finally {
      admm.dispose();
    }
    // The baseline.
    const bp = await createBaseline(backend, data, { ...backpropConfig(settings, config), init });
    const bpPoints: Point[] = [];
    let bpInitial: HostMatrix[];
    let bpResult;
    try {
      bpInitial = await bp.weights();
      log(`${baseline}: η = ${bp.config.learningRate}, μ = ${bp.momentum}, batch ${bp.batchSize}, ${settings.iterations} iterations`);
      bp.events.on('metrics', (m) => void bpPoints.push(point(m)));
      bpResult = await bp.run(stop);
      if (bpPoints.at(-1)?.iteration !== bpResult.final.iteration) bpPoints.push(point(bpResult.final));
    } finally {
      bp.dispose();
    }

    const check = {
      identical: maxAbsDiff(admmInitial, bpInitial) === 0,
      maxAbsDiff: maxAbsDiff(admmInitial, bpInitial),
      admmVsDrawn: maxAbsDiff(admmInitial, weights0),
      baselineVsDrawn: maxAbsDiff(bpInitial, weights0),
      files: ['initial-admm.safetensors', `initial-${baseline}.safetensors`],
    };
    const rows = [summary('admm', admmResult.reason, admmResult.iterations, admmPoints), summary(baseline, bpResult.reason, bpResult.iterations, bpPoints)];
    const { scene, title } = compareScene([
      { label: 'ADMM', points: admmPoints },
      { label: baseline.toUpperCase(), points: bpPoints },
    ]);
    await mkdir(out, { recursive: true });
    const jsonl = (ps: readonly Point[]) => ps.map((p) => `${JSON.stringify(p)}\n`).join('');
    await writeFileAtomic(join(out, 'initial-admm.safetensors'), encodeModel(admmInitial, info));
    await writeFileAtomic(join(out, `initial-${baseline}.safetensors`), encodeModel(bpInitial, info));
    await writeFileAtomic(join(out, 'metrics-admm.jsonl'), jsonl(admmPoints));
    await writeFileAtomic(join(out, `metrics-${baseline}.jsonl`), jsonl(bpPoints));
    await writeFileAtomic(join(out, 'compare.svg'), renderSvg(scene, title));
    await writeFileAtomic(join(out, 'compare.png'), encodePng(scene.width, scene.height, rasterize(scene)));
    await writeFileAtomic(join(out, 'compare.md'), `# ADMM vs ${baseline}\n\n${data.description}; network ${layers.join('-')} ${activation.name}, λ = ${settings.lambda}\n\n${markdownTable(rows, check)}`);
    const json = {
      nladmm: { version: VERSION, createdAt: new Date().toISOString(), command: ['nladmm', 'compare', ...argv].join(' '), backend: backend.describe(), data: data.description },
      options: { ...settingsToOptions(settings), baseline },
      initialWeights: check,
      methods: rows,
    };
    await writeFileAtomic(join(out, 'compare.json'), `${JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    ctx.stdout(`${markdownTable(rows, check)}written to ${out}\n`);
    if (!check.identical) throw new CliError(`the two trainers did not start from the same weights (max |ΔW^0| = ${check.maxAbsDiff})`);
    return 0;
  } finally {
    backend.dispose();
  }
}
