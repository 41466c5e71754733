/**
 * The loss's column steps on typed-array storage: each column (sample) of a d × n matrix is gathered into a packed
 * Float64Array, handed to the loss plugin's functions (or to core's Newton prox, lossProx.ts) and scattered back.
 * The arithmetic is f64 whatever the storage; f32 storage rounds on the way back.
 */
import { type Loss, PROX_TOLERANCE, ProxWorkspace, proxColumn } from '@nladmm/core';
import type { DenseBlock } from './elementwise.ts';

function gather(m: DenseBlock, c: number, into: Float64Array): Float64Array {
  for (let r = 0; r < m.rows; r++) into[r] = m.data[r * m.ld + c];
  return into;
}

function scatter(from: Float64Array, m: DenseBlock, c: number): void {
  for (let r = 0; r < m.rows; r++) m.data[r * m.ld + c] = from[r];
}

/** Σ_c ℓ(v_c; y_c), summed in f64. */
export function lossValue(loss: Loss, v: DenseBlock, y: DenseBlock): number {
  const vc = new Float64Array(v.rows);
  const yc = new Float64Array(v.rows);
  let total = 0;
  for (let c = 0; c < v.cols; c++) total += loss.value(gather(v, c, vc), gather(y, c, yc));
  return total;
}

/** out ← ∇ℓ(V; Y) column by column (out may be V). */
export function lossGradient(loss: Loss, v: DenseBlock, y: DenseBlock, out: DenseBlock): void {
  const vc = new Float64Array(v.rows);
  const yc = new Float64Array(v.rows);
  const gc = new Float64Array(v.rows);
  for (let c = 0; c < v.cols; c++) {
    loss.gradient(gather(v, c, vc), gather(y, c, yc), gc);
    scatter(gc, out, c);
  }
}

/**
 * v_c ← argmin ℓ(v; y_c) + β/2 ‖v − t_c‖² for every column, warm-started from v_c (lossProx.ts). The arithmetic is
 * f64, so the f64 tolerance is used for either storage (f32 storage then holds the solution rounded).
 */
export function lossProx(loss: Loss, t: DenseBlock, y: DenseBlock, beta: number, v: DenseBlock): void {
  const d = v.rows;
  const tc = new Float64Array(d);
  const yc = new Float64Array(d);
  const vc = new Float64Array(d);
  const work = new ProxWorkspace(d);
  const tolerance = PROX_TOLERANCE.f64;
  for (let c = 0; c < v.cols; c++) {
    proxColumn(loss, gather(t, c, tc), gather(y, c, yc), beta, gather(v, c, vc), tolerance, work);
    scatter(vc, v, c);
  }
}
