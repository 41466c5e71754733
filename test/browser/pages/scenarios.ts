/**
 * The runs the browser tests make both in the page (WebGPU, f32) and in Node (CpuBackend, f64), so that the two
 * sides build exactly the same problem. Browser-safe: no Node imports.
 */
import type { DemoSettings } from '../../../packages/web-demo/src/tasks.ts';

/**
 * Five iterations of Algorithm 1 in the page on WebGPU (test/browser/webgpu.test.ts): y = x₁x₂, small enough for
 * SwiftShader, with λ large enough that every system matrix is well conditioned in f32.
 */
export const ADMM_CHECK: DemoSettings = {
  task: 'product',
  samples: 200,
  layers: [2, 16, 16, 1],
  activation: 'tanh',
  beta: 1,
  lambda: 1e-2,
  iterations: 5,
  stepRule: 'paper',
  init: 'msra',
  initScale: 1,
  seed: 3,
  metricsEvery: 1,
};

/** The demo page driven end to end (test/browser/web-demo.test.ts): layers 1,16,16,1 on y = x², n = 200. */
export const DEMO_E2E: DemoSettings = {
  task: 'square',
  samples: 200,
  layers: [1, 16, 16, 1],
  activation: 'tanh',
  beta: 1,
  lambda: 1e-2,
  iterations: 8,
  stepRule: 'paper',
  init: 'msra',
  initScale: 1,
  seed: 5,
  metricsEvery: 1,
};
