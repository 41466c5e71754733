// The tuning study behind the fashion-mnist presets: runs Algorithm 1 (and its extensions: loss, β schedule, width)
// on Fashion-MNIST with the blas backend for a list of settings and prints, per setting, the test accuracy at every
// evaluated iteration, the best and the final one, and the wall time.
//
// Usage: pnpm exec tsx scripts/tune-fashion-mnist.ts [--study NAME] [--only LABEL,…] [--n 60000] [--n-test 10000]
//          [--precision f32|f64] [--threads T] [--out results.json]
// Studies: see STUDIES below (`--study list` prints them). Each line of output is one evaluated iteration; the table
// at the end is what the README's "Accuracy on Fashion-MNIST" section shows.
import { writeFile } from 'node:fs/promises';
import { type AdmmConfig, type BetaSchedule, type HostMatrix, type IterationMetrics, Trainer, hostMatrix, stepRuleByName } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { BlasBackend } from '@nladmm/blas-backend';
import { readIdx } from '@nladmm/cli';
import { builtinLoss } from '@nladmm/losses';
import { benchArgs } from './benchArgs.ts';

interface Setting {
  readonly label: string;
  readonly layers: readonly number[];
  readonly activation?: string;
  readonly loss?: string;
  readonly beta?: number | readonly number[];
  readonly lambda?: number;
  readonly stepRule?: 'paper' | 'authors';
  readonly initScale?: number;
  readonly schedule?: BetaSchedule;
  readonly iterations: number;
  readonly every: number;
}

const wide = (d: number): number[] => [784, d, 10];
const STUDIES: Record<string, Setting[]> = {
  // Candidates for the main job (all 60 000 images, ≤ 5 min on 2 cores): the round-1 net, then one wide hidden layer.
  main: [
    { label: '784-128-128-10 sq', layers: [784, 128, 128, 10], iterations: 30, every: 5 },
    { label: '784-1024-10 sq ×3', layers: wide(1024), initScale: 3, iterations: 10, every: 1 },
    { label: '784-2048-10 sq ×1', layers: wide(2048), initScale: 1, iterations: 6, every: 1 },
    { label: '784-2048-10 sq ×3', layers: wide(2048), initScale: 3, iterations: 10, every: 1 },
    { label: '784-2048-10 ce ×3', layers: wide(2048), initScale: 3, loss: 'cross-entropy', iterations: 10, every: 1 },
    { label: '784-2048-10 sq ×3 β×2/2≤32', layers: wide(2048), initScale: 3, schedule: { factor: 2, every: 2, cap: 32 }, iterations: 12, every: 1 },
    { label: '784-2048-10 sq ×3 β 10,1', layers: wide(2048), initScale: 3, beta: [10, 1], iterations: 6, every: 1 },
  ],
  // The longer preset: wider and deeper.
  best: [
    { label: '784-4096-10 sq ×3', layers: wide(4096), initScale: 3, iterations: 6, every: 1 },
    { label: '784-8192-10 sq ×3', layers: wide(8192), initScale: 3, iterations: 3, every: 1 },
    { label: '784-2048-2048-10 sq ×3', layers: [784, 2048, 2048, 10], initScale: 3, iterations: 4, every: 1 },
  ],
};

const { values: args } = benchArgs(
  'tune-fashion-mnist',
  '[--study main|best|list] [--only LABEL,…] [--n 60000] [--n-test 10000] [--precision f32|f64] [--threads T] [--out results.json]',
  {
    options: {
      study: { type: 'string', default: 'main' },
      only: { type: 'string' },
      n: { type: 'integer', default: 60000, min: 1, max: 60000 },
      'n-test': { type: 'integer', default: 10000, min: 1, max: 10000 },
      precision: { type: 'string', default: 'f32', choices: ['f32', 'f64'] },
      threads: { type: 'integer', min: 1 },
      out: { type: 'string' },
    },
  },
);
const study = args.study;
if (study === 'list') {
  for (const [name, settings] of Object.entries(STUDIES)) console.log(`${name}: ${settings.map((s) => s.label).join(' | ')}`);
  process.exit(0);
}
const settings = STUDIES[study];
if (!settings) throw new Error(`unknown study '${study}' (known: ${Object.keys(STUDIES).join(', ')}, list)`);
const only = args.only?.split(',');
const n = args.n;
const nTest = args['n-test'];
const precision = args.precision as 'f32' | 'f64';
const threads = args.threads;

const dir = '/usr/share/datasets/fashion-mnist';
async function load(prefix: string, count: number): Promise<{ x: HostMatrix; y: HostMatrix }> {
  const images = await readIdx(`${dir}/${prefix}-images-idx3-ubyte.gz`);
  const labels = await readIdx(`${dir}/${prefix}-labels-idx1-ubyte.gz`);
  const d = 784;
  const x = hostMatrix(d, count);
  const y = hostMatrix(10, count);
  for (let s = 0; s < count; s++) {
    for (let f = 0; f < d; f++) x.data[f * count + s] = images.data[s * d + f] / 255;
    y.data[labels.data[s] * count + s] = 1;
  }
  return { x, y };
}
const train = await load('train', n);
const test = await load('t10k', nTest);
const activations = createDefaultRegistry();

interface Row {
  readonly label: string;
  readonly best: { iteration: number; testAccuracy: number };
  readonly last: { iteration: number; testAccuracy: number; trainAccuracy: number; residuals: number[]; gradNorm: number };
  readonly seconds: number;
  readonly trace: { iteration: number; testAccuracy: number; trainAccuracy: number; seconds: number }[];
}
const rows: Row[] = [];
for (const s of settings) {
  if (only && !only.includes(s.label)) continue;
  const loss = builtinLoss(s.loss ?? 'squared');
  if (!loss) throw new Error(`unknown loss ${s.loss}`);
  const config: AdmmConfig = {
    layers: s.layers,
    activation: activations.get(s.activation ?? 'sigmoid'),
    beta: s.beta ?? 1,
    lambda: s.lambda ?? 1,
    stepRule: stepRuleByName(s.stepRule ?? 'paper'),
    init: { scheme: 'msra', seed: 1, scale: s.initScale ?? 1 },
    loss,
    ...(s.schedule ? { betaSchedule: s.schedule } : {}),
  };
  const backend = new BlasBackend({ precision, ...(threads !== undefined ? { threads } : {}) });
  const t0 = performance.now();
  const trainer = await Trainer.create(backend, { x: train.x, y: train.y, xTest: test.x, yTest: test.y }, config);
  const trace: Row['trace'] = [];
  let last: IterationMetrics | undefined;
  trainer.events.on('metrics', (m) => {
    const seconds = (performance.now() - t0) / 1000;
    trace.push({ iteration: m.iteration, testAccuracy: m.testAccuracy ?? NaN, trainAccuracy: m.trainAccuracy ?? NaN, seconds });
    last = m;
    console.log(`${s.label} | k ${m.iteration} train ${m.trainAccuracy?.toFixed(4)} test ${m.testAccuracy?.toFixed(4)} ` +
      `r ${m.residuals.map((r) => r.toExponential(2)).join(',')} grad ${m.gradNorm.toExponential(2)} ${seconds.toFixed(0)} s`);
  });
  await trainer.run({ maxIterations: s.iterations, metricsEvery: s.every });
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  backend.dispose();
  const best = trace.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a));
  rows.push({
    label: s.label,
    best: { iteration: best.iteration, testAccuracy: best.testAccuracy },
    last: { iteration: last!.iteration, testAccuracy: last!.testAccuracy ?? NaN, trainAccuracy: last!.trainAccuracy ?? NaN, residuals: last!.residuals, gradNorm: last!.gradNorm },
    seconds,
    trace,
  });
}

console.log(`\nstudy ${study}: n = ${n}, test ${nTest}, blas ${precision}`);
console.log('| setting | best test acc (k) | final test acc (k) | final train acc | wall |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.label} | ${(100 * r.best.testAccuracy).toFixed(2)} % (${r.best.iteration}) | ${(100 * r.last.testAccuracy).toFixed(2)} % (${r.last.iteration}) | ` +
    `${(100 * r.last.trainAccuracy).toFixed(2)} % | ${r.seconds.toFixed(0)} s |`);
}
const out = args.out;
if (out) await writeFile(out, `${JSON.stringify({ study, n, nTest, precision, rows }, null, 2)}\n`);
