// The blas backend beyond the conformance suite: Algorithm 1 against the JavaScript reference, determinism and
// resume bit for bit, the elementwise worker threads, and how a missing or wrong library is reported.
import { describe, expect, it } from 'vitest';
import { type Activation, type AdmmConfig, AdmmSolver, type HostIterate, Trainer, paperStepRule } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { BlasBackend, BlasUnavailableError, loadBlas, resolveThreads } from '@nladmm/blas-backend';
import { CpuBackend } from '@nladmm/cpu-backend';
import { iterateDifference, relDiff } from './support/hostModel.ts';
import { randomRegression } from './support/problems.ts';

const registry = createDefaultRegistry();
const sigmoid = registry.get('sigmoid');
const tanh = registry.get('tanh');

function config(layers: number[], bias: boolean, activation: Activation = sigmoid): AdmmConfig {
  return {
    layers,
    activation,
    beta: layers.slice(1).map((_, k) => 0.9 + 0.3 * k),
    lambda: 0.05,
    bias,
    stepRule: paperStepRule,
    init: { scheme: 'xavier', seed: 3, scale: 1.5 },
  };
}

function expectSameBits(a: HostIterate, b: HostIterate): void {
  for (const block of ['W', 'V', 'Lambda'] as const) {
    for (let i = 1; i < a.W.length; i++) expect(Buffer.from(b[block][i].data.buffer).equals(Buffer.from(a[block][i].data.buffer)), `${block}${i}`).toBe(true);
  }
}

// Widths × samples above the worker threads' threshold (2^15 elements), so both paths of the backend run.
const SHAPES: { layers: number[]; n: number }[] = [
  { layers: [24, 48, 40, 6], n: 900 },
  { layers: [16, 40, 24, 40, 5], n: 1000 },
];

describe('Algorithm 1 on blas f64 matches the JavaScript reference', () => {
  for (const { layers, n } of SHAPES) {
    for (const bias of [true, false]) {
      it(`to 1e-10 over 20 iterations, N = ${layers.length - 1}, ${bias ? 'with' : 'without'} biases`, async () => {
        const data = randomRegression(layers, n, 7 + layers.length);
        const reference = AdmmSolver.create(new CpuBackend(), data, config(layers, bias));
        const blas = new BlasBackend({ threads: 2 });
        const native = AdmmSolver.create(blas, data, config(layers, bias));
        const initial = await native.snapshot();
        for (let k = 1; k <= 20; k++) {
          await reference.step();
          await native.step();
        }
        const { worst, where } = iterateDifference(await reference.snapshot(), await native.snapshot());
        expect(worst, `worst at ${where}`).toBeLessThan(1e-10);
        // The comparison is not vacuous: 20 iterations moved the iterate.
        expect(relDiff((await native.snapshot()).W[1], initial.W[1])).toBeGreaterThan(1e-3);
        reference.dispose();
        native.dispose();
        blas.dispose();
      });
    }
  }
});

describe('determinism', () => {
  it('gives the same bits run to run with a fixed thread count, f64 and f32', async () => {
    const layers = [60, 120, 120, 10];
    const data = randomRegression(layers, 1500, 21);
    for (const precision of ['f64', 'f32'] as const) {
      const runs: HostIterate[] = [];
      for (let run = 0; run < 2; run++) {
        const backend = new BlasBackend({ precision, threads: 2 });
        const solver = AdmmSolver.create(backend, data, config(layers, true, tanh));
        for (let k = 0; k < 5; k++) await solver.step();
        runs.push(await solver.snapshot());
        solver.dispose();
        backend.dispose();
      }
      expectSameBits(runs[0], runs[1]);
    }
  });

  it('resumes from a checkpoint bit for bit', async () => {
    const layers = [24, 48, 40, 6];
    const data = randomRegression(layers, 900, 5);
    const cfg = config(layers, true);
    const straight = await Trainer.create(new BlasBackend({ threads: 2 }), data, cfg);
    await straight.run({ maxIterations: 12, metricsEvery: 4 });
    const first = await Trainer.create(new BlasBackend({ threads: 2 }), data, cfg);
    await first.run({ maxIterations: 6, metricsEvery: 4 });
    const saved = await first.checkpoint();
    first.dispose();
    const resumed = await Trainer.create(new BlasBackend({ threads: 2 }), data, cfg);
    resumed.restore(saved);
    expect((await resumed.run({ maxIterations: 12, metricsEvery: 4 })).iterations).toBe(12);
    expectSameBits(await straight.solver.snapshot(), await resumed.solver.snapshot());
    straight.dispose();
    resumed.dispose();
  });
});

describe('the elementwise steps on worker threads', () => {
  /** Runs each threaded step on a fresh backend with `threads` and returns the results. */
  async function steps(threads: number, act: Activation, precision: 'f64' | 'f32' = 'f64'): Promise<Float64Array[]> {
    const backend = new BlasBackend({ threads, precision });
    const rows = 37;
    const cols = 1501; // 55 537 elements: above the threshold, not divisible by the thread count
    const values = (seed: number) => Float64Array.from({ length: rows * cols }, (_, k) => Math.sin(seed * 1e3 + k * 0.37) * 3);
    const [s, v, l, out] = [1, 2, 3, 4].map((seed) => {
      const m = backend.alloc(rows, cols);
      backend.upload(m, values(seed));
      return m;
    });
    const results: Float64Array[] = [];
    backend.activate(act, s, out);
    results.push(await backend.download(out));
    for (const withDerivative of [false, true]) {
      backend.multiplierStep(act, s, v, l, 1.7, withDerivative, out);
      results.push(await backend.download(out));
    }
    backend.axpby(0.3, s, -1.25, v);
    results.push(await backend.download(v));
    backend.adamStep(s, v, l, out, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3 });
    for (const m of [v, l, out]) results.push(await backend.download(m));
    const max = backend.scalar();
    backend.maxAbs(max, s, l, -0.5);
    results.push(Float64Array.of(await backend.readScalar(max)));
    // A NaN in the last column (the last thread's part) makes the max-norm NaN.
    const last = backend.view(s, rows, cols);
    const poisoned = values(1);
    poisoned[rows * cols - 1] = NaN;
    backend.upload(last, poisoned);
    backend.maxAbs(max, s);
    results.push(Float64Array.of(await backend.readScalar(max)));
    backend.dispose();
    return results;
  }

  it('computes the same bits on 1, 2 and 3 threads (f64 and f32)', async () => {
    for (const precision of ['f64', 'f32'] as const) {
      const one = await steps(1, sigmoid, precision);
      expect(Number.isNaN(one.at(-1)![0])).toBe(true);
      for (const threads of [2, 3]) {
        const many = await steps(threads, sigmoid, precision);
        many.forEach((result, k) => expect(Buffer.from(result.buffer).equals(Buffer.from(one[k].buffer)), `step ${k}, ${threads} threads`).toBe(true));
      }
    }
  });

  it('runs an activation whose functions use module state on the calling thread, with the same results', async () => {
    // σ reads a variable outside itself: its source text alone cannot run in a worker.
    const gain = { value: 1.5 };
    const closure: Activation = { ...tanh, name: 'scaled-tanh', sigma: (u) => Math.tanh(gain.value * u) / gain.value, dsigma: (u) => 1 - Math.tanh(gain.value * u) ** 2 };
    const backend = new BlasBackend({ threads: 2 });
    expect(backend.elementwiseThreads(closure)).toBe(1);
    expect(backend.elementwiseThreads(sigmoid)).toBe(2);
    backend.dispose();
    const one = await steps(1, closure);
    const two = await steps(2, closure);
    two.forEach((result, k) => expect(Buffer.from(result.buffer).equals(Buffer.from(one[k].buffer)), `step ${k}`).toBe(true));
    // And the values are the activation's: σ(s) of the first element.
    expect(one[0][0]).toBe(closure.sigma(Math.sin(1e3) * 3));
  });
});

describe('a worker thread that stops', () => {
  it('makes the step fail with one message instead of hanging, and the backend go on with one thread', async () => {
    // σ ends its thread at one value, placed in the last column (the second thread's part): the worker stops mid-step.
    const fatal = 12345.678;
    const killer: Activation = { ...tanh, name: 'killer', sigma: (u) => (u === 12345.678 ? process.exit(0) : Math.tanh(u)) };
    const backend = new BlasBackend({ threads: 2 });
    expect(backend.elementwiseThreads(killer)).toBe(2);
    const [rows, cols] = [8, 8192];
    const z = backend.alloc(rows, cols);
    const out = backend.alloc(rows, cols);
    const values = Float64Array.from({ length: rows * cols }, (_, k) => Math.cos(k));
    values[rows * cols - 1] = fatal;
    backend.upload(z, values);
    const started = Date.now();
    expect(() => backend.activate(killer, z, out)).toThrow('blas backend: an elementwise worker thread stopped; the backend runs its loops on one thread from now on');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(backend.elementwiseThreads(tanh)).toBe(1);
    values[rows * cols - 1] = 0.5;
    backend.upload(z, values);
    backend.activate(tanh, z, out);
    expect((await backend.download(out))[rows * cols - 1]).toBe(Math.tanh(0.5));
    backend.dispose();
  });
});

describe('the library and the options', () => {
  it('describes the library and its threads', () => {
    const backend = new BlasBackend({ threads: 2 });
    expect(backend.describe()).toMatch(/^blas \(f64, OpenBLAS, 2 threads: \/.*openblas.*\)$/);
    expect(backend.library.config).toMatch(/OpenBLAS/);
    expect(backend.library.getThreads()).toBe(2);
    backend.dispose();
  });

  it('refuses a missing library and one that is not CBLAS + LAPACK with one line', () => {
    const missing = (() => {
      try {
        loadBlas('/nonexistent/libfoo.so');
      } catch (err) {
        return err;
      }
    })();
    expect(missing).toBeInstanceOf(BlasUnavailableError);
    expect((missing as Error).message).toMatch(/^blas backend: cannot load \/nonexistent\/libfoo\.so \(.+\)$/);
    expect((missing as Error).message).not.toContain('\n');
    expect(() => loadBlas('libc.so.6')).toThrow(/^blas backend: libc\.so\.6 is not a CBLAS \+ LAPACK library: it lacks cblas_dgemm, /);
    expect(() => new BlasBackend({ library: '/nonexistent/libfoo.so' })).toThrow(BlasUnavailableError);
  });

  it('checks the thread count from the option and from NLADMM_THREADS', () => {
    expect(resolveThreads(3, '5')).toBe(3);
    expect(resolveThreads(undefined, '5')).toBe(5);
    expect(resolveThreads(undefined, '')).toBeGreaterThanOrEqual(1);
    for (const bad of [0, -1, 1.5, NaN]) expect(() => resolveThreads(bad)).toThrow(/threads must be an integer ≥ 1/);
    expect(() => resolveThreads(undefined, 'two')).toThrow(/NLADMM_THREADS must be an integer ≥ 1, got 'two'/);
    expect(() => new BlasBackend({ threads: 0 })).toThrow(RangeError);
  });

  it('refuses an unknown precision, naming the backend', () => {
    expect(() => new BlasBackend({ precision: 'f16' as never })).toThrow("blas backend: unknown precision 'f16'");
  });
});
