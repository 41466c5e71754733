// Algorithm 1 and the gd baseline sharded by samples (issue 17) against one process, with P in-process ranks (test/support/localGroup.ts):
// after 10 iterations W, V, Λ and every metric agree to 1e-12 relative in f64 (the sums over samples are reordered, so
// not bit for bit), also for an uneven split, a test set, a classifier with cross-entropy and a β schedule; an iterate
// gathered from P = 2 continues with P = 3 and P = 1 to the same iterates. The MPI runs of the CLI are in
// test/cli/mpi.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type AdmmConfig,
  BackpropTrainer,
  type BackpropProgress,
  type HostIterate,
  type HostMatrix,
  type IterationMetrics,
  type TrainingData,
  Trainer,
  allReducedPerIteration,
  columnSlice,
  gatherIterate,
  hostMatrix,
  joinColumns,
  drawWeights,
  paperStepRule,
  prepareShardedTheorySetting,
  prepareTheorySetting,
  shardRange,
  sliceIterate,
} from '@nladmm/core';
import { sigmoid, tanh } from '@nladmm/activations';
import { crossEntropy } from '@nladmm/losses';
import { CpuBackend } from '@nladmm/cpu-backend';
import { localGroup } from './support/localGroup.ts';
import { randomRegression } from './support/problems.ts';

const TOLERANCE = 1e-12;

/** max |a − b| / max(1, max |b|). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1;
  for (let k = 0; k < b.length; k++) {
    diff = Math.max(diff, Math.abs(a[k] - b[k]));
    scale = Math.max(scale, Math.abs(b[k]));
  }
  return diff / scale;
}

function expectIterateClose(got: HostIterate, want: HostIterate): void {
  expect(got.iteration).toBe(want.iteration);
  for (let i = 1; i < want.W.length; i++) {
    for (const block of ['W', 'V', 'Lambda'] as const) {
      expect(relativeError(got[block][i].data, want[block][i].data), `${block}${i}`).toBeLessThan(TOLERANCE);
    }
  }
}

/** Every number of the metrics, flattened in a fixed order. */
function metricNumbers(m: IterationMetrics): number[] {
  return [
    m.augmentedLagrangian, m.objective, m.gradNorm, m.stepNorm, m.trainLoss, m.trainAccuracy ?? -1, m.testLoss ?? -1, m.testAccuracy ?? -1,
    ...m.residuals, ...m.gradNormBlocks.W, ...m.gradNormBlocks.V, ...m.gradNormBlocks.Lambda,
  ];
}

function expectMetricsClose(got: IterationMetrics[], want: IterationMetrics[]): void {
  expect(got.map((m) => m.iteration)).toEqual(want.map((m) => m.iteration));
  got.forEach((m, k) => {
    const a = metricNumbers(m);
    const b = metricNumbers(want[k]);
    a.forEach((v, j) => expect(Math.abs(v - b[j]) / Math.max(1, Math.abs(b[j])), `metric ${j} at k = ${m.iteration}`).toBeLessThan(TOLERANCE));
  });
}

/** Rank r's slice of the samples (and of the test set). */
function shardOf(data: TrainingData, rank: number, size: number): TrainingData {
  const { start, count } = shardRange(data.x.cols, rank, size);
  const slice: TrainingData = { x: columnSlice(data.x, start, count), y: columnSlice(data.y, start, count) };
  if (!data.xTest || !data.yTest) return slice;
  const test = shardRange(data.xTest.cols, rank, size);
  return { ...slice, xTest: columnSlice(data.xTest, test.start, test.count), yTest: columnSlice(data.yTest, test.start, test.count) };
}

interface RunOutcome {
  iterate: HostIterate;
  metrics: IterationMetrics[];
}

/** Runs `iterations` on one process (size 1) or P in-process ranks, from `start` (a whole iterate) when given. */
async function run(data: TrainingData, config: AdmmConfig, size: number, iterations: number, start?: HostIterate): Promise<RunOutcome> {
  const group = localGroup(size);
  const ranks = await Promise.all(group.map(async (communicator) => {
    const trainer = await Trainer.create(new CpuBackend(), shardOf(data, communicator.rank, size), config, { communicator });
    if (start) {
      const { start: first, count } = shardRange(data.x.cols, communicator.rank, size);
      trainer.restore({ iterate: sliceIterate(start, first, count), gradSqSum: 0, gradSqCount: 0, elapsedMs: 0 });
    }
    const metrics: IterationMetrics[] = [];
    trainer.events.on('metrics', (m) => void metrics.push(m));
    await trainer.run({ maxIterations: iterations, metricsEvery: 3 });
    const iterate = await gatherIterate(communicator, await trainer.solver.snapshot());
    trainer.dispose();
    return { iterate, metrics };
  }));
  // Every rank reports the same metrics.
  for (const r of ranks.slice(1)) expectMetricsClose(r.metrics, ranks[0].metrics);
  return { iterate: ranks[0].iterate!, metrics: ranks[0].metrics };
}

function classification(n: number, seed: number): { x: HostMatrix; y: HostMatrix } {
  const { x } = randomRegression([3, 1], n, seed);
  const y = hostMatrix(2, n);
  for (let c = 0; c < n; c++) {
    const inside = x.data[c] * x.data[c] + x.data[n + c] * x.data[n + c] < 1 ? 1 : 0;
    y.data[c] = inside;
    y.data[n + c] = 1 - inside;
  }
  return { x, y };
}

describe('Algorithm 1 sharded by samples', () => {
  const layers = [4, 7, 6, 3];
  const train = randomRegression(layers, 37, 11); // 37 = 13 + 12 + 12 over 3 ranks, 19 + 18 over 2
  const test = randomRegression(layers, 10, 12);
  const data: TrainingData = { ...train, xTest: test.x, yTest: test.y };
  const config: AdmmConfig = { layers, activation: tanh, beta: 2, lambda: 1e-3, stepRule: paperStepRule, init: { scheme: 'xavier', seed: 3 } };

  it('P = 2 and P = 3 (uneven) give the iterates and metrics of one process to 1e-12 after 10 iterations', async () => {
    const single = await run(data, config, 1, 10);
    for (const size of [2, 3]) {
      const sharded = await run(data, config, size, 10);
      expectIterateClose(sharded.iterate, single.iterate);
      expectMetricsClose(sharded.metrics, single.metrics);
    }
    expect(single.metrics.map((m) => m.iteration)).toEqual([1, 3, 6, 9, 10]);
  });

  it('so does a classifier with the cross-entropy loss, a β schedule and no biases (accuracy summed over ranks)', async () => {
    const cls = classification(41, 5);
    const clsTest = classification(9, 6);
    const clsData: TrainingData = { ...cls, xTest: clsTest.x, yTest: clsTest.y };
    const clsConfig: AdmmConfig = {
      layers: [3, 8, 2], activation: sigmoid, loss: crossEntropy, beta: 1, lambda: 1e-3, bias: false, stepRule: paperStepRule,
      betaSchedule: { factor: 2, every: 3, cap: 8 }, init: { scheme: 'msra', seed: 9 },
    };
    const single = await run(clsData, clsConfig, 1, 10);
    const sharded = await run(clsData, clsConfig, 3, 10);
    expectIterateClose(sharded.iterate, single.iterate);
    expectMetricsClose(sharded.metrics, single.metrics);
    expect(single.metrics.at(-1)!.testAccuracy).toBeGreaterThan(0);
  });

  it('an iterate gathered from P = 2 continues with P = 3 and with P = 1 to the iterates of an unbroken run', async () => {
    const whole = await run(data, config, 1, 10);
    const half = await run(data, config, 2, 5);
    for (const size of [3, 1]) {
      const resumed = await run(data, config, size, 10, half.iterate);
      expectIterateClose(resumed.iterate, whole.iterate);
    }
  });

  it('all-reduces the numbers allReducedPerIteration says: per plain iteration and per evaluated one', async () => {
    const group = localGroup(2);
    const counted = { values: 0 };
    const trainers = await Promise.all(group.map(async (inner) => {
      const communicator = {
        ...inner,
        allReduceSum: async (d: Float64Array) => ((counted.values += inner.rank === 0 ? d.length : 0), inner.allReduceSum(d)),
        allReduceMax: async (d: Float64Array) => ((counted.values += inner.rank === 0 ? d.length : 0), inner.allReduceMax(d)),
        broadcast: async (d: Float64Array, root?: number) => ((counted.values += inner.rank === 0 ? d.length : 0), inner.broadcast(d, root)),
      };
      return Trainer.create(new CpuBackend(), shardOf(data, inner.rank, 2), config, { communicator });
    }));
    const expected = allReducedPerIteration(layers, true);
    const gramX = (layers[0] + 1) ** 2;
    await Promise.all(trainers.map((t) => t.run({ maxIterations: 1 })));
    expect(counted.values).toBe(gramX + expected.iteration + expected.metrics + 1); // + the stop decision before k = 2
    counted.values = 0;
    await Promise.all(trainers.map((t) => t.run({ maxIterations: 3, metricsEvery: 2 }))); // k = 2 evaluated, k = 3 the last
    expect(counted.values).toBe(2 * (expected.iteration + expected.metrics) + 1); // and the stop decision before k = 4
    for (const t of trainers) t.dispose();
  });

  it('prepares the setting of Theorem 3 from the ranks\' slices as from the whole data', async () => {
    const weights = drawWeights(layers, { scheme: 'xavier', seed: 3, bias: true });
    const setting = (x: HostMatrix, y: HostMatrix) => ({ x, y, layers, activation: tanh, weights, bias: true });
    const whole = prepareTheorySetting(setting(data.x, data.y));
    const prepared = await Promise.all(localGroup(3).map((communicator) => {
      const part = shardOf(data, communicator.rank, 3);
      return prepareShardedTheorySetting(setting(part.x, part.y), communicator);
    }));
    for (const p of prepared) {
      expect(p.samples).toBe(37);
      const numbers = (q: typeof whole) => [q.normX, q.normY, ...q.initialVNorms.slice(1), ...q.weightNorms.slice(1)];
      expect(relativeError(numbers(p), numbers(whole))).toBeLessThan(TOLERANCE);
    }
  });

  it('splits samples into contiguous balanced slices, and refuses a split with an empty rank', () => {
    expect([0, 1, 2].map((r) => shardRange(37, r, 3))).toEqual([{ start: 0, count: 13 }, { start: 13, count: 12 }, { start: 25, count: 12 }]);
    expect(() => shardRange(2, 0, 3)).toThrow(/2 samples cannot be split over 3 ranks/);
    const m = hostMatrix(2, 5, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...joinColumns([columnSlice(m, 0, 2), columnSlice(m, 2, 3)]).data]).toEqual([...m.data]);
    expect([...columnSlice(m, 1, 2).data]).toEqual([2, 3, 7, 8]);
  });
});

describe('the gd baseline sharded by samples', () => {
  const layers = [4, 6, 2];
  const train = randomRegression(layers, 23, 21);
  const test = randomRegression(layers, 7, 22);
  const data: TrainingData = { ...train, xTest: test.x, yTest: test.y };
  const config = { layers, activation: tanh, optimizer: 'gd' as const, learningRate: 0.1, momentum: 0.5, lambda: 1e-2, init: { scheme: 'xavier' as const, seed: 8 } };

  async function runGd(size: number): Promise<{ weights: HostMatrix[]; metrics: BackpropProgress[] }> {
    const ranks = await Promise.all(localGroup(size).map(async (communicator) => {
      const trainer = await BackpropTrainer.create(new CpuBackend(), shardOf(data, communicator.rank, size), config, { communicator });
      const metrics: BackpropProgress[] = [];
      trainer.events.on('metrics', (m) => void metrics.push(m));
      await trainer.run({ maxIterations: 10, metricsEvery: 4 });
      const weights = await trainer.weights();
      trainer.dispose();
      return { weights, metrics };
    }));
    return ranks[0];
  }

  it('P = 2 and 3 take the steps of one process (weights and metrics to 1e-12)', async () => {
    const single = await runGd(1);
    for (const size of [2, 3]) {
      const sharded = await runGd(size);
      sharded.weights.forEach((w, k) => expect(relativeError(w.data, single.weights[k].data), `W${k + 1}`).toBeLessThan(TOLERANCE));
      expect(sharded.metrics.map((m) => m.iteration)).toEqual(single.metrics.map((m) => m.iteration));
      sharded.metrics.forEach((m, k) => {
        const want = single.metrics[k];
        for (const key of ['objective', 'trainLoss', 'gradNorm', 'testLoss', 'epoch'] as const) {
          expect(Math.abs(m[key]! - want[key]!) / Math.max(1, Math.abs(want[key]!)), `${key} at ${m.iteration}`).toBeLessThan(TOLERANCE);
        }
      });
    }
  });

  it('refuses mini-batches when sharded', async () => {
    const outcomes = await Promise.allSettled(localGroup(2).map((communicator) =>
      BackpropTrainer.create(new CpuBackend(), shardOf(data, communicator.rank, 2), { ...config, optimizer: 'sgd', batchSize: 4 }, { communicator })));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/sharded over 2 processes takes full-batch steps only \(batchSize n = 23\)/);
    }
  });
});
