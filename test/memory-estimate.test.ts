// core's memory estimate (memory.ts) against what the trainers really allocate: the CPU backend's alloc and free
// wrapped to sum rows·cols and the storage's bytes; the persistent matrices after create, the peak while a run
// measures, and the state a checkpoint holds, for ADMM (Woodbury and not, with and without biases and a test set)
// and the three baselines, in f64 and f32.
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  BackpropTrainer,
  type Matrix,
  type Precision,
  Trainer,
  admmMatrices,
  backpropMatrices,
  elementCount,
  estimateMemory,
  paperStepRule,
} from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { randomRegression } from './support/problems.ts';

const sigmoid = createDefaultRegistry().get('sigmoid');

/** Wraps a backend's alloc and free: the live elements and bytes, and their peak since the last reset. */
function track(backend: Backend) {
  const sizes = new Map<Matrix, { elements: number; bytes: number }>();
  const state = { elements: 0, bytes: 0, peakElements: 0, allocs: [] as [number, number][] };
  const alloc = backend.alloc.bind(backend);
  const free = backend.free.bind(backend);
  backend.alloc = (rows: number, cols: number) => {
    const m = alloc(rows, cols);
    const bytes = (m as unknown as { data: { byteLength: number } }).data.byteLength;
    sizes.set(m, { elements: rows * cols, bytes });
    state.elements += rows * cols;
    state.bytes += bytes;
    state.peakElements = Math.max(state.peakElements, state.elements);
    state.allocs.push([rows, cols]);
    return m;
  };
  backend.free = (m: Matrix) => {
    const size = sizes.get(m);
    if (size) {
      state.elements -= size.elements;
      state.bytes -= size.bytes;
      sizes.delete(m);
    }
    free(m);
  };
  return { state, resetPeak: () => (state.peakElements = state.elements) };
}

function data(layers: number[], n: number, testN: number) {
  const train = randomRegression(layers, n, 3);
  const test = testN > 0 ? randomRegression(layers, testN, 4) : undefined;
  return { x: train.x, y: train.y, ...(test ? { xTest: test.x, yTest: test.y } : {}) };
}

describe('the memory estimate against the allocations', () => {
  const admmCases: { layers: number[]; bias: boolean; n: number; testN: number; precision: Precision }[] = [
    { layers: [5, 7, 6, 3], bias: true, n: 23, testN: 11, precision: 'f64' }, // Woodbury (3 < 6)
    { layers: [5, 7, 6, 3], bias: false, n: 23, testN: 0, precision: 'f64' },
    { layers: [4, 3, 6], bias: true, n: 9, testN: 0, precision: 'f64' }, // no Woodbury (6 > 3)
    { layers: [2, 9, 4, 4, 1], bias: true, n: 17, testN: 40, precision: 'f32' }, // the test pass is the larger one
  ];
  for (const c of admmCases) {
    it(`ADMM ${c.layers.join('-')}${c.bias ? '' : ' no bias'} n = ${c.n}, ${c.testN} test, ${c.precision}`, async () => {
      const backend = new CpuBackend({ precision: c.precision });
      const t = track(backend);
      const trainer = await Trainer.create(backend, data(c.layers, c.n, c.testN), { layers: c.layers, activation: sigmoid, beta: 1, lambda: 1, bias: c.bias, stepRule: paperStepRule, init: { scheme: 'msra', seed: 1 } });
      const matrices = admmMatrices({ layers: c.layers, bias: c.bias, samples: c.n, testSamples: c.testN });
      const estimate = estimateMemory(matrices, c.precision);
      // The persistent matrices, shape by shape, and their bytes.
      expect(t.state.allocs.map(([r, q]) => `${r}x${q}`).sort()).toEqual(matrices.persistent.map((m) => `${m.rows}x${m.cols}`).sort());
      expect(t.state.elements).toBe(elementCount(matrices.persistent));
      expect(t.state.bytes).toBe(estimate.solverBytes);
      // The peak on top of them while the metrics are evaluated; all freed after.
      t.resetPeak();
      await trainer.run({ maxIterations: 2, metricsEvery: 1 });
      expect(t.state.peakElements - elementCount(matrices.persistent)).toBe(elementCount(matrices.transient));
      expect(t.state.elements).toBe(elementCount(matrices.persistent));
      // The host copy of a checkpoint: W, V and Λ.
      const cp = await trainer.checkpoint();
      const held = [...cp.iterate.W.slice(1), ...cp.iterate.V.slice(1), ...cp.iterate.Lambda.slice(1)].reduce((s, m) => s + m.rows * m.cols, 0);
      expect(elementCount(matrices.checkpoint)).toBe(held);
      trainer.dispose();
      expect(t.state.elements).toBe(0);
      backend.dispose();
    });
  }

  const baselineCases: { optimizer: 'gd' | 'sgd' | 'adam'; momentum?: number; batchSize?: number; testN: number }[] = [
    { optimizer: 'gd', testN: 8 },
    { optimizer: 'gd', momentum: 0.5, testN: 0 },
    { optimizer: 'sgd', batchSize: 5, testN: 8 },
    { optimizer: 'adam', testN: 8 },
    { optimizer: 'adam', batchSize: 4, testN: 0 },
  ];
  for (const c of baselineCases) {
    it(`baseline ${c.optimizer}${c.momentum ? ` μ = ${c.momentum}` : ''}${c.batchSize ? ` b = ${c.batchSize}` : ''}, ${c.testN} test`, async () => {
      const layers = [4, 6, 5, 2];
      const n = 13;
      const backend = new CpuBackend();
      const t = track(backend);
      const trainer = await BackpropTrainer.create(backend, data(layers, n, c.testN), {
        layers,
        activation: sigmoid,
        lambda: 0.1,
        init: { scheme: 'msra', seed: 2 },
        optimizer: c.optimizer,
        learningRate: 0.01,
        ...(c.momentum !== undefined ? { momentum: c.momentum } : {}),
        ...(c.batchSize !== undefined ? { batchSize: c.batchSize } : {}),
      });
      const momentum = c.optimizer === 'adam' ? 0 : (c.momentum ?? (c.optimizer === 'sgd' ? 0.9 : 0));
      const matrices = backpropMatrices({ layers, bias: true, samples: n, testSamples: c.testN, optimizer: c.optimizer, momentum, batchSize: c.batchSize ?? n });
      expect(t.state.elements).toBe(elementCount(matrices.persistent));
      expect(t.state.bytes).toBe(estimateMemory(matrices, 'f64').solverBytes);
      t.resetPeak();
      await trainer.run({ maxIterations: 3, metricsEvery: 1 });
      expect(t.state.peakElements - elementCount(matrices.persistent)).toBe(elementCount(matrices.transient));
      const cp = await trainer.checkpoint();
      const held = [...cp.weights, ...cp.firstMoment, ...cp.secondMoment].reduce((s, m) => s + m.rows * m.cols, 0) + cp.order.length;
      expect(elementCount(matrices.checkpoint)).toBe(held);
      trainer.dispose();
      expect(t.state.elements).toBe(0);
      backend.dispose();
    });
  }

  it('a 100000-wide hidden layer needs a 100001² system matrix: 80 GB in f64, known without allocating', () => {
    const est = estimateMemory(admmMatrices({ layers: [784, 100000, 10], bias: true, samples: 1, testSamples: 0 }), 'f64');
    expect(est.largest).toMatchObject({ rows: 100001, cols: 100001, bytes: 100001 * 100001 * 8 });
    expect(est.solverBytes).toBeGreaterThan(8e10);
  });
});
