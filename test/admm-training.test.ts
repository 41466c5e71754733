// Training behaviour of Algorithm 1 on the CPU reference: convergence to a KKT point, the authors' demo,
// stop conditions and events, and the refusal of bad input before any work.
import { describe, expect, it } from 'vitest';
import {
  type AdmmConfig,
  AdmmSolver,
  type Backend,
  DivergenceError,
  InvalidProblemError,
  NotPositiveDefiniteError,
  Trainer,
  type TrainingProgress,
  authorsStepRule,
  hostMatrix,
  paperStepRule,
  squareTask,
} from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { randomRegression } from './support/problems.ts';

const registry = createDefaultRegistry();
const sigmoid = registry.get('sigmoid');

describe('convergence', () => {
  it('drives a tiny problem to a KKT point (24): ‖∇𝓛‖ < 1e-8', async () => {
    const layers = [2, 3, 1];
    const data = randomRegression(layers, 4, 5);
    const trainer = await Trainer.create(new CpuBackend(), data, {
      layers,
      activation: sigmoid,
      beta: 5,
      lambda: 0.1,
      stepRule: paperStepRule,
      init: { scheme: 'xavier', seed: 1 },
    });
    const result = await trainer.run({ maxIterations: 5000, gradTolerance: 1e-8, metricsEvery: 10 });
    expect(result.reason).toBe('tolerance');
    expect(result.final.gradNorm).toBeLessThan(1e-8);
    // At a KKT point the constraints hold: every residual vanishes.
    for (const r of result.final.residuals) expect(r).toBeLessThan(1e-8);
    trainer.dispose();
  });

  it("reproduces the authors' square-function demo: training MSE below 1e-8 after 50 iterations", async () => {
    const data = squareTask(1000, 2024);
    const trainer = await Trainer.create(new CpuBackend(), data, {
      layers: [1, 100, 100, 1],
      activation: sigmoid,
      beta: 1,
      lambda: 1e-6,
      bias: true,
      stepRule: authorsStepRule,
      init: { scheme: 'msra', mode: 'fan_out', scale: 8, seed: 1 },
    });
    const result = await trainer.run({ maxIterations: 50, metricsEvery: 10 });
    const mse = 2 * result.final.trainLoss; // trainLoss is ½ n⁻¹ ‖Φ − Y‖²
    expect(result.iterations).toBe(50);
    expect(mse).toBeLessThan(1e-8);
    trainer.dispose();
  });
});

describe('training loop', () => {
  const layers = [3, 4, 2];
  const data = randomRegression(layers, 6, 8);
  const config: AdmmConfig = { layers, activation: sigmoid, beta: 1, lambda: 0.1, stepRule: paperStepRule, init: { scheme: 'lecun', seed: 2 } };

  it('emits metrics every m-th iteration with the running mean of ‖∇𝓛‖² (Theorem 1(c))', async () => {
    const trainer = await Trainer.create(new CpuBackend(), data, config);
    const seen: TrainingProgress[] = [];
    trainer.events.on('metrics', (m) => {
      seen.push(m);
    });
    const result = await trainer.run({ maxIterations: 10, metricsEvery: 4 });
    expect(seen.map((m) => m.iteration)).toEqual([1, 4, 8, 10]);
    const mean = seen.reduce((s, m) => s + m.gradNorm ** 2, 0) / seen.length;
    expect(seen[3].runningMeanGradSq).toBeCloseTo(mean, 12);
    expect(result.reason).toBe('iterations');
    for (const m of seen) {
      expect(Number.isFinite(m.stepNorm)).toBe(true);
      expect(m.residuals).toHaveLength(2);
    }
    trainer.dispose();
  });

  it('stops on a cancel signal and on a time budget, and continues on a second run', async () => {
    const trainer = await Trainer.create(new CpuBackend(), data, config);
    const controller = new AbortController();
    trainer.events.on('metrics', (m) => {
      if (m.iteration === 3) controller.abort();
    });
    const cancelled = await trainer.run({ maxIterations: 100, signal: controller.signal });
    expect(cancelled.reason).toBe('cancelled');
    expect(cancelled.iterations).toBe(3);
    const timed = await trainer.run({ maxIterations: 1_000_000, timeLimitMs: 50, metricsEvery: 1000 });
    expect(timed.reason).toBe('time');
    expect(timed.iterations).toBeGreaterThan(3);
    trainer.dispose();
  });

  it('continues from a checkpoint bit for bit', async () => {
    const straight = await Trainer.create(new CpuBackend(), data, config);
    await straight.run({ maxIterations: 20, metricsEvery: 3 });
    const first = await Trainer.create(new CpuBackend(), data, config);
    await first.run({ maxIterations: 10, metricsEvery: 3 });
    const saved = await first.checkpoint();
    first.dispose();
    const resumed = await Trainer.create(new CpuBackend(), data, config);
    resumed.restore(saved);
    const result = await resumed.run({ maxIterations: 20, metricsEvery: 3 });
    expect(result.iterations).toBe(20);
    const a = await straight.solver.snapshot();
    const b = await resumed.solver.snapshot();
    for (const block of ['W', 'V', 'Lambda'] as const) {
      for (let i = 1; i <= 2; i++) expect(Array.from(b[block][i].data)).toEqual(Array.from(a[block][i].data));
    }
    straight.dispose();
    resumed.dispose();
  });

  it('stops with a DivergenceError naming the block, the layer and the iteration', async () => {
    const trainer = await Trainer.create(new CpuBackend(), data, config);
    const q = await trainer.solver.snapshot();
    q.Lambda[2].data[3] = Infinity;
    trainer.restore({ iterate: q, gradSqSum: 0, gradSqCount: 0, elapsedMs: 0 });
    const error = await trainer.run({ maxIterations: 5 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DivergenceError);
    expect((error as DivergenceError).iteration).toBe(1);
    expect((error as Error).message).toMatch(/^diverged at iteration 1: block (W|V|Λ)[12] holds NaN or Infinity$/);
    trainer.dispose();
  });

  it('reports a system that lost positive definiteness in rounding as such, naming the iteration', async () => {
    const cpu = new CpuBackend();
    let factorisations = 0;
    const failing = new Proxy(cpu, {
      get(target, prop, receiver) {
        if (prop === 'cholesky') {
          return (m: Parameters<Backend['cholesky']>[0]) => {
            if (++factorisations > 4) throw new NotPositiveDefiniteError(2, -1e-4, m.rows);
            target.cholesky(m);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const trainer = await Trainer.create(failing, data, config);
    const error = await trainer.run({ maxIterations: 5 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NotPositiveDefiniteError);
    expect((error as Error).message).toMatch(/pivot 2 is -0.0001\) in iteration 2; a larger λ or f64 precision/);
    trainer.dispose();
  });

  it('warns about a step rule outside Lemma 2', async () => {
    const trainer = await Trainer.create(new CpuBackend(), data, { ...config, stepRule: authorsStepRule });
    const warnings: string[] = [];
    trainer.events.on('warning', (w) => {
      warnings.push(w);
    });
    await trainer.run({ maxIterations: 1 });
    expect(warnings.join('\n')).toMatch(/step rule 'authors'/);
    trainer.dispose();
  });
});

/** A backend that counts every call, to prove that bad input is refused before any work. */
function countingBackend(): { backend: Backend; calls: () => number } {
  const inner = new CpuBackend();
  let calls = 0;
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { backend, calls: () => calls };
}

describe('bad input is refused before any work, with a message naming the problem', () => {
  const layers = [3, 4, 2];
  const good = randomRegression(layers, 6, 1);
  const base: AdmmConfig = { layers, activation: sigmoid, beta: 1, lambda: 0.1, stepRule: paperStepRule, init: { scheme: 'xavier', seed: 1 } };
  const withValue = (m: { rows: number; cols: number; data: Float64Array | Float32Array }, k: number, v: number) => {
    const copy = hostMatrix(m.rows, m.cols, m.data);
    copy.data[k] = v;
    return copy;
  };
  const cases: [string, () => AdmmSolver, RegExp][] = [];
  const add = (name: string, data: Parameters<typeof AdmmSolver.create>[1], config: AdmmConfig, message: RegExp) => {
    cases.push([name, () => AdmmSolver.create(tracker.backend, data, config), message]);
  };
  let tracker = countingBackend();
  add('X and Y with different sample counts', { x: good.x, y: hostMatrix(2, 5) }, base, /X has 6 samples but Y has 5/);
  add('X rows not d_0', { x: hostMatrix(2, 6), y: good.y }, base, /X has 2 rows .* d_0 is 3/);
  add('Y rows not d_N', { x: good.x, y: hostMatrix(3, 6) }, base, /Y has 3 rows but the output width d_2 is 2/);
  add('NaN in X', { x: withValue(good.x, 4, NaN), y: good.y }, base, /X contains NaN at row 0, column 4/);
  add('Inf in Y', { x: good.x, y: withValue(good.y, 7, Infinity) }, base, /Y contains Infinity at row 1, column 1/);
  add('β = 0', good, { ...base, beta: 0 }, /beta_1 must be a finite number > 0, got 0/);
  add('negative β for one layer', good, { ...base, beta: [1, -2] }, /beta_2 must be a finite number > 0, got -2/);
  add('β list of the wrong length', good, { ...base, beta: [1, 1, 1] }, /beta lists 3 values but the network has N = 2 layers/);
  add('λ = 0', good, { ...base, lambda: 0 }, /lambda must be a finite number > 0/);
  add('λ < 0', good, { ...base, lambda: -1 }, /lambda must be a finite number > 0/);
  add('N < 2', good, { ...base, layers: [3, 2] }, /N ≥ 2/);
  add('zero samples', { x: hostMatrix(3, 0), y: hostMatrix(2, 0) }, base, /zero samples/);
  add('a width of 0', good, { ...base, layers: [3, 0, 2] }, /layer width d_1 must be a positive integer, got 0/);
  add('initial weights of the wrong shape', good, { ...base, init: { weights: [hostMatrix(4, 2), hostMatrix(2, 5)] } }, /W1 is 4×2 but layer 1 needs 4×3/);
  add('a step rule that is not one', good, { ...base, stepRule: 'paper' as unknown as AdmmConfig['stepRule'] }, /stepRule must be a step rule \(e\.g\. paperStepRule or authorsStepRule\), got string/);
  add('paper step rule with unbounded σ″', good, { ...base, activation: { ...sigmoid, name: 'rough', bounds: { L0: 1, L1: 1, L2: Infinity }, satisfiesAssumption1: false } }, /step rule 'paper' needs finite activation bounds/);
  for (const [name, create, message] of cases) {
    it(name, () => {
      tracker = countingBackend();
      let error: unknown;
      try {
        create();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
      expect(tracker.calls()).toBe(0);
    });
  }
  it('the step rule defaults to the paper\'s (22)', () => {
    const { stepRule: _omitted, ...withoutRule } = base;
    const solver = AdmmSolver.create(new CpuBackend(), good, withoutRule);
    expect(solver.config.stepRule.name).toBe('paper');
    solver.dispose();
  });
  it('the problem errors are InvalidProblemError', () => {
    expect(() => AdmmSolver.create(new CpuBackend(), good, { ...base, lambda: -1 })).toThrow(InvalidProblemError);
  });
});
