/**
 * Throughput of the CPU backend's heavy kernels at the sizes of an MNIST-like layer (785 inputs with the bias,
 * 128 units, 5000 samples). Usage: pnpm exec tsx scripts/bench-cpu.ts [f64|f32]
 */
import type { Matrix, Precision } from '@nladmm/core';
import { CpuBackend } from '@nladmm/cpu-backend';
import { benchArgs } from './benchArgs.ts';

const { positionals } = benchArgs('bench-cpu', '[f64|f32]', { positionals: 1 });
const precision = (positionals[0] ?? 'f64') as Precision;
const backend = new CpuBackend({ precision });

function random(rows: number, cols: number): Matrix {
  const m = backend.alloc(rows, cols);
  backend.upload(m, Float64Array.from({ length: rows * cols }, () => Math.random() * 2 - 1));
  return m;
}

/** An SPD matrix A Aᵀ / k + I from a random n × k matrix A. */
function spd(n: number, k: number): Matrix {
  const m = backend.alloc(n, n);
  const a = random(n, k);
  backend.gram(1 / k, a, false, 0, m);
  backend.shiftedScale(m, backend.scalar(1), 1, m);
  backend.free(a);
  return m;
}

/** Best wall time of a few runs of `op` (after `prepare`, untimed), reported as GFLOP/s. */
function bench(label: string, flops: number, op: () => void, prepare: () => void = () => {}): void {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    prepare();
    const start = performance.now();
    op();
    best = Math.min(best, performance.now() - start);
  }
  console.log(`${label.padEnd(44)} ${(flops / best / 1e6).toFixed(2).padStart(6)} GFLOP/s  ${best.toFixed(1).padStart(7)} ms`);
}

console.log(backend.describe());

const a256 = random(256, 256);
const b256 = random(256, 256);
const c256 = backend.alloc(256, 256);
bench('gemm 256×256×256 (NN)', 2 * 256 ** 3, () => backend.gemm(1, a256, false, b256, false, 0, c256));

const w = random(128, 785);
const x = random(785, 5000);
const z = backend.alloc(128, 5000);
bench('gemm 128×785 · 785×5000 (NN)', 2 * 128 * 785 * 5000, () => backend.gemm(1, w, false, x, false, 0, z));

const wOut = backend.alloc(128, 785);
bench('gemm 128×5000 · (785×5000)ᵀ (NT)', 2 * 128 * 785 * 5000, () => backend.gemm(1, z, false, x, true, 0, wOut));

const g = backend.alloc(785, 785);
bench('gram 785×5000 (AAᵀ)', 785 * 785 * 5000, () => backend.gram(1, x, false, 0, g));

const m785 = spd(785, 1000);
const factor785 = backend.alloc(785, 785);
bench('cholesky 785', 785 ** 3 / 3, () => backend.cholesky(factor785), () => backend.copy(m785, factor785));

const factor128 = spd(128, 256);
backend.cholesky(factor128);
const rhs = random(128, 5000);
bench('solveLeft 128×128, 5000 right-hand sides', 2 * 128 * 128 * 5000, () => backend.solveLeft(factor128, rhs));

const rowsRhs = random(128, 785);
bench('solveRight 785×785, 128 right-hand sides', 2 * 785 * 785 * 128, () => backend.solveRight(factor785, rowsRhs));

backend.dispose();
