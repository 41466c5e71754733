// Backprop baselines on the CPU reference (f64): the backend-computed gradient against finite differences of a
// host forward, a case whose minimiser is known (W = 0), monotone GD, SGD with momentum, determinism, events
// and the refusal of bad options.
import { describe, expect, it } from 'vitest';
import {
  type Activation,
  type BackpropConfig,
  type BackpropProgress,
  BackpropTrainer,
  type HostMatrix,
  InvalidProblemError,
  type TrainingData,
  hostMatrix,
} from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { randomRegression } from './support/problems.ts';

const registry = createDefaultRegistry();
const tanh = registry.get('tanh');
const sigmoid = registry.get('sigmoid');

/** Host f(W) = ½n⁻¹‖Φ(X; W) − Y‖² + λ/(2n) Σ‖W_i‖², by plain loops (independent of the backend). */
function hostObjective(weights: readonly HostMatrix[], x: HostMatrix, y: HostMatrix, act: Activation, lambda: number, bias: boolean): number {
  const n = x.cols;
  let a: number[][] = Array.from({ length: x.rows }, (_, r) => Array.from({ length: n }, (_, c) => x.data[r * n + c]));
  weights.forEach((w, k) => {
    const last = k === weights.length - 1;
    const inp = bias ? [...a, new Array<number>(n).fill(1)] : a;
    a = Array.from({ length: w.rows }, (_, r) =>
      Array.from({ length: n }, (_, c) => {
        let z = 0;
        for (let j = 0; j < w.cols; j++) z += w.data[r * w.cols + j] * inp[j][c];
        return last ? z : act.sigma(z);
      }),
    );
  });
  let misfit = 0;
  for (let r = 0; r < y.rows; r++) for (let c = 0; c < n; c++) misfit += (a[r][c] - y.data[r * n + c]) ** 2;
  let weightSq = 0;
  for (const w of weights) for (const v of w.data) weightSq += v * v;
  return misfit / (2 * n) + (lambda / (2 * n)) * weightSq;
}

const frobenius = (m: HostMatrix) => Math.sqrt(Array.from(m.data).reduce((s, v) => s + v * v, 0));

describe('gradient', () => {
  it('agrees with central finite differences of f on the host (tanh, biases, N = 3)', async () => {
    const layers = [3, 4, 3, 2];
    const data = randomRegression(layers, 5, 11);
    const lambda = 0.3;
    const trainer = await BackpropTrainer.create(new CpuBackend(), data, {
      layers, activation: tanh, lambda, init: { scheme: 'xavier', seed: 3, scale: 1.5 }, optimizer: 'gd', learningRate: 0.1,
    });
    // Move the biases off zero so that their gradients are exercised too.
    await trainer.run({ maxIterations: 3 });
    const weights = await trainer.weights();
    const grad = await trainer.gradient();
    expect((await trainer.evaluate()).objective).toBeCloseTo(hostObjective(weights, data.x, data.y, tanh, lambda, true), 13);
    const h = 1e-5;
    let maxErr = 0;
    let maxGrad = 0;
    weights.forEach((w, i) => {
      for (let k = 0; k < w.data.length; k++) {
        const saved = w.data[k];
        w.data[k] = saved + h;
        const plus = hostObjective(weights, data.x, data.y, tanh, lambda, true);
        w.data[k] = saved - h;
        const minus = hostObjective(weights, data.x, data.y, tanh, lambda, true);
        w.data[k] = saved;
        maxErr = Math.max(maxErr, Math.abs((plus - minus) / (2 * h) - grad[i].data[k]));
        maxGrad = Math.max(maxGrad, Math.abs(grad[i].data[k]));
      }
    });
    expect(maxGrad).toBeGreaterThan(1e-2);
    expect(maxErr).toBeLessThan(1e-8);
    trainer.dispose();
  });
});

describe('a problem with a known minimiser', () => {
  // Without biases, with σ(0) = 0 and |σ(z)| ≤ |z| (tanh) and N = 2: |⟨Φ, Y⟩| ≤ ‖Y‖‖W_2‖‖W_1‖‖X‖
  // ≤ ½‖X‖‖Y‖(‖W_1‖² + ‖W_2‖²), so F(W) − F(0) ≥ ½(λ − ‖X‖‖Y‖) Σ‖W_i‖² > 0 for W ≠ 0 when λ > ‖X‖‖Y‖:
  // W = 0 is the unique minimiser and f(0) = ½ n⁻¹ ‖Y‖². GD must reach it; a wrong gradient, sign or scaling
  // of the weight decay, or a wrong objective makes this fail.
  it('GD with λ > ‖X‖‖Y‖ converges to W = 0, ‖∇f‖ → 0 and f → ½ n⁻¹ ‖Y‖²', async () => {
    const layers = [3, 5, 2];
    const n = 10;
    const data = randomRegression(layers, n, 21);
    const bound = frobenius(data.x) * frobenius(data.y);
    const lambda = 2 * bound;
    expect(lambda).toBeGreaterThan(bound);
    const trainer = await BackpropTrainer.create(new CpuBackend(), data, {
      layers, activation: tanh, lambda, bias: false, init: { scheme: 'xavier', seed: 4 }, optimizer: 'gd', learningRate: n / (2 * lambda),
    });
    const start = await trainer.evaluate();
    expect(start.gradNorm).toBeGreaterThan(0.1);
    const result = await trainer.run({ maxIterations: 2000, gradTolerance: 1e-10, metricsEvery: 10 });
    expect(result.reason).toBe('tolerance');
    for (const w of await trainer.weights()) expect(frobenius(w)).toBeLessThan(1e-8);
    const ySq = frobenius(data.y) ** 2;
    expect(result.final.objective).toBeCloseTo(ySq / (2 * n), 12);
    expect(result.final.trainLoss).toBeCloseTo(ySq / (2 * n), 12);
    trainer.dispose();
  });

  // W = 0 is a stationary point of every mini-batch objective too (σ(0) = 0 zeroes both layers' gradients), so
  // SGD with momentum converges there exactly; Adam's normalised steps keep a size ≈ η near it, so it hovers
  // within some tens of η of W = 0 (it started ≈ 500 η away).
  it('SGD with momentum and Adam reach the same minimiser', async () => {
    const layers = [3, 5, 2];
    const n = 10;
    const data = randomRegression(layers, n, 21);
    const lambda = 2 * frobenius(data.x) * frobenius(data.y);
    const common = { layers, activation: tanh, lambda, bias: false, init: { scheme: 'xavier', seed: 4 } } as const;
    const ySq = frobenius(data.y) ** 2;
    const sgd = await BackpropTrainer.create(new CpuBackend(), data, { ...common, optimizer: 'sgd', batchSize: 5, momentum: 0.5, learningRate: n / (8 * lambda) });
    const sgdResult = await sgd.run({ maxIterations: 3000, gradTolerance: 1e-10, metricsEvery: 10 });
    expect(sgdResult.reason).toBe('tolerance');
    for (const w of await sgd.weights()) expect(frobenius(w)).toBeLessThan(1e-8);
    sgd.dispose();
    const eta = 1e-3;
    const adam = await BackpropTrainer.create(new CpuBackend(), data, { ...common, optimizer: 'adam', learningRate: eta });
    const adamResult = await adam.run({ maxIterations: 3000, metricsEvery: 100 });
    for (const w of await adam.weights()) for (const v of w.data) expect(Math.abs(v)).toBeLessThan(50 * eta);
    expect(Math.abs(adamResult.final.objective - ySq / (2 * n)) / (ySq / (2 * n))).toBeLessThan(1e-2);
    adam.dispose();
  });
});

describe('optimisers', () => {
  const layers = [2, 8, 1];
  const data = randomRegression(layers, 64, 31);
  const base = { layers, activation: sigmoid, lambda: 0.01, init: { scheme: 'xavier', seed: 5 } } as const;

  it('GD with a small learning rate decreases f monotonically', async () => {
    const trainer = await BackpropTrainer.create(new CpuBackend(), data, { ...base, optimizer: 'gd', learningRate: 0.05 });
    const seen: number[] = [(await trainer.evaluate()).objective];
    trainer.events.on('metrics', (m) => {
      seen.push(m.objective);
    });
    await trainer.run({ maxIterations: 200 });
    expect(seen).toHaveLength(201);
    for (let k = 1; k < seen.length; k++) expect(seen[k]).toBeLessThan(seen[k - 1]);
    expect(seen[200]).toBeLessThan(0.95 * seen[0]);
    trainer.dispose();
  });

  it('SGD with momentum reduces f substantially over a few epochs, deterministically in the seed', async () => {
    const config: BackpropConfig = { ...base, optimizer: 'sgd', learningRate: 0.05, batchSize: 8, seed: 7 };
    const runOnce = async (seed: number) => {
      const trainer = await BackpropTrainer.create(new CpuBackend(), data, { ...config, seed });
      expect(trainer.momentum).toBe(0.9);
      const start = await trainer.evaluate();
      const result = await trainer.run({ maxIterations: 5 * 8, metricsEvery: 8 }); // 5 epochs of 8 batches
      const weights = await trainer.weights();
      trainer.dispose();
      return { start, result, weights };
    };
    const a = await runOnce(7);
    expect(a.result.final.epoch).toBe(5);
    expect(a.result.final.objective).toBeLessThan(0.6 * a.start.objective);
    const b = await runOnce(7);
    expect(b.weights.map((w) => [...w.data])).toEqual(a.weights.map((w) => [...w.data]));
    const c = await runOnce(8);
    expect(c.weights.map((w) => [...w.data])).not.toEqual(a.weights.map((w) => [...w.data]));
  });

  it('Adam (mini-batch) reduces f substantially over a few epochs', async () => {
    const trainer = await BackpropTrainer.create(new CpuBackend(), data, { ...base, optimizer: 'adam', learningRate: 0.02, batchSize: 8, seed: 3 });
    const start = await trainer.evaluate();
    const result = await trainer.run({ maxIterations: 5 * 8, metricsEvery: 8 });
    expect(result.final.objective).toBeLessThan(0.6 * start.objective);
    trainer.dispose();
  });

  it('GD is deterministic', async () => {
    const go = async () => {
      const trainer = await BackpropTrainer.create(new CpuBackend(), data, { ...base, optimizer: 'gd', learningRate: 0.1, momentum: 0.5 });
      await trainer.run({ maxIterations: 20, metricsEvery: 20 });
      const w = (await trainer.weights()).map((m) => [...m.data]);
      trainer.dispose();
      return w;
    };
    expect(await go()).toEqual(await go());
  });
});

describe('checkpoint and restore', () => {
  const layers = [2, 8, 4, 1];
  const data = randomRegression(layers, 64, 31);
  const base = { layers, activation: sigmoid, lambda: 0.01, init: { scheme: 'xavier', seed: 5 } } as const;
  // Mid-epoch (13 steps of batch 8 on 64 samples: the shuffle's position and RNG matter), for each optimiser state.
  const cases: [string, Partial<BackpropConfig>][] = [
    ['sgd with momentum (velocity, shuffles)', { optimizer: 'sgd', learningRate: 0.05, batchSize: 8, seed: 5 }],
    ['adam, mini-batch (both moments)', { optimizer: 'adam', learningRate: 0.02, batchSize: 8, seed: 5 }],
    ['gd without momentum (weights only)', { optimizer: 'gd', learningRate: 0.1 }],
  ];
  for (const [name, patch] of cases) {
    it(`continues bit for bit in a new trainer: ${name}`, async () => {
      const config = { ...base, ...patch } as BackpropConfig;
      const straight = await BackpropTrainer.create(new CpuBackend(), data, config);
      await straight.run({ maxIterations: 21, metricsEvery: 21 });
      const first = await BackpropTrainer.create(new CpuBackend(), data, config);
      await first.run({ maxIterations: 13, metricsEvery: 13 });
      const cp = await first.checkpoint();
      first.dispose();
      expect(cp.iteration).toBe(13);
      expect(cp.firstMoment.length).toBe(patch.optimizer === 'gd' ? 0 : 3);
      expect(cp.secondMoment.length).toBe(patch.optimizer === 'adam' ? 3 : 0);
      const resumed = await BackpropTrainer.create(new CpuBackend(), data, config);
      resumed.restore(cp);
      expect(resumed.iteration).toBe(13);
      const result = await resumed.run({ maxIterations: 21, metricsEvery: 21 });
      expect(result.iterations).toBe(21);
      expect((await resumed.weights()).map((w) => [...w.data])).toEqual((await straight.weights()).map((w) => [...w.data]));
      expect(result.final.objective).toBe((await straight.evaluate()).objective);
      straight.dispose();
      resumed.dispose();
    });
  }

  it('refuses a checkpoint that does not fit, changing nothing', async () => {
    const sgd = await BackpropTrainer.create(new CpuBackend(), data, { ...base, optimizer: 'sgd', learningRate: 0.05, batchSize: 8 });
    await sgd.run({ maxIterations: 3 });
    const cp = await sgd.checkpoint();
    const gd = await BackpropTrainer.create(new CpuBackend(), data, { ...base, optimizer: 'gd', learningRate: 0.1 });
    expect(() => gd.restore(cp)).toThrow(/has a first moment, this optimiser keeps none/);
    const before = (await sgd.weights()).map((w) => [...w.data]);
    const bad = (patch: object) => () => sgd.restore({ ...cp, ...patch });
    expect(bad({ weights: cp.weights.slice(1) })).toThrow(/weights has 2 matrices, the network 3/);
    expect(bad({ order: cp.order.map(() => 0) })).toThrow(/order must be a permutation of the 64 sample indices/);
    expect(bad({ cursor: 65 })).toThrow(/cursor must be an integer in \[0, 64\], got 65/);
    expect(bad({ rng: { words: [0, 0, 0, 0], spareNormal: null } })).toThrow(/rng must be four 32-bit words, not all zero/);
    expect(bad({ rng: { words: [1, 2, 3], spareNormal: null } })).toThrow(/rng must be four 32-bit words/);
    expect((await sgd.weights()).map((w) => [...w.data])).toEqual(before);
    expect(sgd.iteration).toBe(3);
    sgd.dispose();
    gd.dispose();
  });
});

describe('training loop', () => {
  it('emits metrics (with accuracy and the test set) every m-th step and a stop event', async () => {
    const n = 12;
    const x = randomRegression([2, 3], n, 41).x;
    const y = hostMatrix(3, n);
    for (let c = 0; c < n; c++) y.data[(c % 3) * n + c] = 1;
    const data: TrainingData = { x, y, xTest: x, yTest: y };
    const trainer = await BackpropTrainer.create(new CpuBackend(), data, {
      layers: [2, 4, 3], activation: tanh, lambda: 0.1, init: { scheme: 'lecun', seed: 2 }, optimizer: 'sgd', learningRate: 0.1, batchSize: 4,
    });
    const seen: BackpropProgress[] = [];
    const stops: number[] = [];
    trainer.events.on('metrics', (m) => {
      seen.push(m);
    });
    trainer.events.on('stop', (r) => {
      stops.push(r.iterations);
    });
    const result = await trainer.run({ maxIterations: 10, metricsEvery: 4 });
    expect(seen.map((m) => m.iteration)).toEqual([1, 4, 8, 10]);
    expect(stops).toEqual([10]);
    expect(result.reason).toBe('iterations');
    const last = seen[3];
    expect(last.trainAccuracy).toBeGreaterThanOrEqual(0);
    expect(last.testLoss).toBeCloseTo(last.trainLoss, 14); // the test set is the training set here
    expect(last.testAccuracy).toBe(last.trainAccuracy);
    expect(last.msPerIteration).toBeGreaterThan(0);
    const controller = new AbortController();
    controller.abort();
    expect((await trainer.run({ maxIterations: 20, signal: controller.signal })).reason).toBe('cancelled');
    trainer.dispose();
  });
});

describe('bad options', () => {
  const layers = [2, 3, 1];
  const data = randomRegression(layers, 6, 51);
  const base: BackpropConfig = { layers, activation: tanh, lambda: 0.1, init: { scheme: 'xavier', seed: 1 }, optimizer: 'sgd', learningRate: 0.1, batchSize: 2 };
  const cases: [Partial<BackpropConfig> & Record<string, unknown>, RegExp][] = [
    [{ learningRate: 0 }, /learningRate must be a finite number > 0, got 0/],
    [{ learningRate: Number.NaN }, /learningRate/],
    [{ momentum: 1 }, /momentum must be a number in \[0, 1\), got 1/],
    [{ momentum: -0.1 }, /momentum/],
    [{ batchSize: 0 }, /batchSize must be an integer in \[1, n\] = \[1, 6\], got 0/],
    [{ batchSize: 7 }, /batchSize .* got 7/],
    [{ batchSize: 1.5 }, /batchSize .* got 1.5/],
    [{ batchSize: undefined }, /optimizer 'sgd' needs a batchSize/],
    [{ optimizer: 'gd', batchSize: 3 }, /optimizer 'gd' uses the full batch \(n = 6\); got batchSize 3/],
    [{ optimizer: 'rmsprop' as never }, /optimizer must be 'gd', 'sgd' or 'adam', got 'rmsprop'/],
    [{ optimizer: 'adam', momentum: 0.5 }, /momentum applies to 'gd' and 'sgd'; 'adam' takes adam.beta1/],
    [{ optimizer: 'adam', adam: { beta2: 1 } }, /adam.beta2 must be a number in \[0, 1\), got 1/],
    [{ optimizer: 'adam', adam: { epsilon: 0 } }, /adam.epsilon must be a finite number > 0, got 0/],
    [{ adam: { beta1: 0.5 } }, /adam options apply only to optimizer 'adam'/],
    [{ seed: 0.5 }, /seed must be an integer/],
    [{ lambda: 0 }, /lambda must be a finite number > 0/],
    [{ layers: [3, 3, 1] }, /X has 2 rows/],
  ];
  for (const [patch, message] of cases) {
    it(`rejects ${Object.entries(patch).map(([k, v]) => `${k} = ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`).join(', ')}`, async () => {
      const attempt = BackpropTrainer.create(new CpuBackend(), data, { ...base, ...patch } as BackpropConfig);
      await expect(attempt).rejects.toThrow(InvalidProblemError);
      await expect(BackpropTrainer.create(new CpuBackend(), data, { ...base, ...patch } as BackpropConfig)).rejects.toThrow(message);
    });
  }
  it('accepts gd with batchSize = n', async () => {
    const trainer = await BackpropTrainer.create(new CpuBackend(), data, { ...base, optimizer: 'gd', batchSize: 6 });
    expect(trainer.batchSize).toBe(6);
    expect(trainer.momentum).toBe(0);
    trainer.dispose();
  });
});
