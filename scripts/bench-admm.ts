// Per-iteration time of Algorithm 1 on random data of a given shape (a benchmark: prints figures, asserts nothing).
// Usage: pnpm exec tsx scripts/bench-admm.ts [--layers 784,128,128,10] [--n 5000] [--iters 3] [--precision f64|f32]
import { AdmmSolver, Rng, hostMatrix, paperStepRule } from '@nladmm/core';
import { sigmoid } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { benchArgs } from './benchArgs.ts';

const { values: args } = benchArgs('bench-admm', '[--layers 784,128,128,10] [--n 5000] [--iters 3] [--precision f64|f32]', {
  options: {
    layers: { type: 'string', default: '784,128,128,10' },
    n: { type: 'integer', min: 1, default: 5000 },
    iters: { type: 'integer', min: 1, default: 3 },
    precision: { type: 'string', choices: ['f64', 'f32'], default: 'f64' },
  },
});
const layers = args.layers.split(',').map(Number);
const n = args.n;
const iterations = args.iters;
const precision = args.precision as 'f64' | 'f32';
const rng = new Rng(1);
const x = hostMatrix(layers[0], n, Array.from({ length: layers[0] * n }, () => rng.uniform()));
const y = hostMatrix(layers.at(-1)!, n);
for (let c = 0; c < n; c++) y.data[(c % y.rows) * n + c] = 1;

const backend = new CpuBackend({ precision });
const t0 = performance.now();
const solver = AdmmSolver.create(backend, { x, y }, {
  layers, activation: sigmoid, beta: 1, lambda: 1e-4, stepRule: paperStepRule, init: { scheme: 'msra', seed: 1 },
});
await backend.sync();
console.log(`backend ${backend.describe()}, layers ${layers.join('-')}, n = ${n}`);
console.log(`setup + initialisation (7): ${(performance.now() - t0).toFixed(0)} ms`);
const times: number[] = [];
for (let k = 0; k < iterations; k++) {
  const start = performance.now();
  await solver.step();
  await backend.sync();
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
console.log(`per iteration: median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, min ${times[0].toFixed(0)} ms over ${iterations} iterations`);
solver.dispose();
backend.dispose();
