/**
 * The elementwise steps and reductions over typed-array storage, one row at a time (a row is contiguous; the
 * matrices are d × n with the samples along the rows, so the inner loops are long). Values are computed in f64 and
 * rounded once when stored into a Float32Array.
 *
 * The steps that take a column range [c0, c1) (default: every column) are also run by the blas backend's worker
 * threads, each on its own columns, from these functions' source text: they use nothing but their arguments and
 * the globals (Math, Number).
 */
import type { Activation, AdamStepOptions } from '@nladmm/core';
import type { Storage } from './gemm.ts';

/** A rows × cols matrix in row-major typed-array storage: element (r, c) at r · ld + c. */
export interface DenseBlock {
  readonly rows: number;
  readonly cols: number;
  readonly ld: number;
  readonly data: Storage;
}

export function copyIn(d: DenseBlock, values: ArrayLike<number>): void {
  const { rows, cols, ld, data } = d;
  if (ld === cols && ArrayBuffer.isView(values)) {
    data.set(values as unknown as ArrayLike<number>);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const row = r * ld;
    const src = r * cols;
    for (let c = 0; c < cols; c++) data[row + c] = values[src + c];
  }
}

export function copyOut(s: DenseBlock): Float64Array {
  const { rows, cols, ld, data } = s;
  const packed = new Float64Array(rows * cols);
  if (ld === cols) {
    packed.set(data.subarray(0, rows * cols));
    return packed;
  }
  for (let r = 0; r < rows; r++) packed.set(data.subarray(r * ld, r * ld + cols), r * cols);
  return packed;
}

export function copy(s: DenseBlock, d: DenseBlock): void {
  for (let r = 0; r < s.rows; r++) d.data.set(s.data.subarray(r * s.ld, r * s.ld + s.cols), r * d.ld);
}

export function fill(d: DenseBlock, value: number): void {
  for (let r = 0; r < d.rows; r++) d.data.fill(value, r * d.ld, r * d.ld + d.cols);
}

/** C ← β C (β = 0 writes zeros, whatever C held). */
export function scale(c: DenseBlock, beta: number): void {
  if (beta === 0) {
    fill(c, 0);
    return;
  }
  const { rows, cols, ld, data } = c;
  for (let r = 0; r < rows; r++) {
    for (let i = r * ld, end = i + cols; i < end; i++) data[i] *= beta;
  }
}

/** The strict upper triangle ← the transpose of the strict lower one. */
export function mirrorLower(c: DenseBlock): void {
  const { rows: n, ld, data } = c;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) data[i * ld + j] = data[j * ld + i];
  }
}

export function shiftedScale(s: DenseBlock, scale: number, shift: number, out: DenseBlock): void {
  for (let r = 0; r < s.rows; r++) {
    const from = r * s.ld;
    const to = r * out.ld;
    for (let q = 0; q < s.cols; q++) out.data[to + q] = scale * s.data[from + q] + (q === r ? shift : 0);
  }
}

/** Y ← α X + β Y. */
export function axpby(alpha: number, x: DenseBlock, beta: number, y: DenseBlock, c0 = 0, c1 = x.cols): void {
  const xs = x.data;
  const ys = y.data;
  for (let r = 0; r < x.rows; r++) {
    const xRow = r * x.ld;
    const yRow = r * y.ld;
    for (let q = c0; q < c1; q++) ys[yRow + q] = alpha * xs[xRow + q] + beta * ys[yRow + q];
  }
}

export function adamStep(g: DenseBlock, m: DenseBlock, v: DenseBlock, w: DenseBlock, options: AdamStepOptions, c0 = 0, c1 = g.cols): void {
  const { learningRate, beta1, beta2, epsilon, step } = options;
  const firstCorrection = 1 - beta1 ** step;
  const secondCorrection = 1 - beta2 ** step;
  const [G, M, V, W] = [g.data, m.data, v.data, w.data];
  for (let r = 0; r < g.rows; r++) {
    for (let q = c0; q < c1; q++) {
      const grad = G[r * g.ld + q];
      const mi = r * m.ld + q;
      const vi = r * v.ld + q;
      M[mi] = beta1 * M[mi] + (1 - beta1) * grad;
      V[vi] = beta2 * V[vi] + (1 - beta2) * grad * grad;
      W[r * w.ld + q] -= (learningRate * (M[mi] / firstCorrection)) / (Math.sqrt(V[vi] / secondCorrection) + epsilon);
    }
  }
}

/** out ← σ(Z) (out may be Z). */
export function activate(act: Activation, z: DenseBlock, out: DenseBlock, c0 = 0, c1 = z.cols): void {
  const sigma = act.sigma;
  const from = z.data;
  const to = out.data;
  for (let r = 0; r < z.rows; r++) {
    const zRow = r * z.ld;
    const outRow = r * out.ld;
    for (let q = c0; q < c1; q++) to[outRow + q] = sigma(from[zRow + q]);
  }
}

/** out ← Λ + β (σ(S) − V), times σ′(S) when `withDerivative` (13), (16)/(17); out may be S, V or Λ. */
export function multiplierStep(
  act: Activation,
  s: DenseBlock,
  v: DenseBlock,
  lambda: DenseBlock,
  beta: number,
  withDerivative: boolean,
  out: DenseBlock,
  c0 = 0,
  c1 = s.cols,
): void {
  const { sigma, dsigma } = act;
  const [S, V, L, O] = [s.data, v.data, lambda.data, out.data];
  for (let r = 0; r < s.rows; r++) {
    const sRow = r * s.ld;
    const vRow = r * v.ld;
    const lRow = r * lambda.ld;
    const oRow = r * out.ld;
    if (withDerivative) {
      for (let q = c0; q < c1; q++) {
        const x = S[sRow + q];
        O[oRow + q] = (L[lRow + q] + beta * (sigma(x) - V[vRow + q])) * dsigma(x);
      }
    } else {
      for (let q = c0; q < c1; q++) O[oRow + q] = L[lRow + q] + beta * (sigma(S[sRow + q]) - V[vRow + q]);
    }
  }
}

/** The activation's loops: copies of {@link activate} and {@link multiplierStep} compiled for one activation. */
export interface ActivationLoops {
  readonly activate: typeof activate;
  readonly multiplierStep: typeof multiplierStep;
}

const compiledLoops = new WeakMap<Activation, ActivationLoops>();

/**
 * The loops to run `act` with. Each activation gets its own copies of the loop functions (compiled from their source
 * text), so the JavaScript engine sees a single σ at their call sites and inlines it: loops shared by two activations
 * (Algorithm 1 always uses σ and the identity of layer N) run 2–3 times slower. Where code cannot be compiled at
 * run time (a page whose content security policy forbids it), the shared loops are used.
 */
export function loopsFor(act: Activation): ActivationLoops {
  let loops = compiledLoops.get(act);
  if (loops === undefined) {
    loops = { activate: compiled(activate), multiplierStep: compiled(multiplierStep) };
    compiledLoops.set(act, loops);
  }
  return loops;
}

/** A fresh copy of a self-contained function, with its own type feedback; `fn` itself where eval is refused. */
function compiled<F extends (...args: never[]) => unknown>(fn: F): F {
  try {
    return new Function(`return (${fn.toString()});`)() as F;
  } catch {
    return fn;
  }
}

/** max |A + b · B| (B omitted: max |A|); NaN anywhere gives NaN. */
export function maxAbs(a: DenseBlock, b: DenseBlock | undefined, scaleB: number, c0 = 0, c1 = a.cols): number {
  let max = 0;
  const A = a.data;
  const B = b?.data;
  for (let r = 0; r < a.rows; r++) {
    const aRow = r * a.ld;
    const bRow = r * (b?.ld ?? 0);
    for (let q = c0; q < c1; q++) {
      const value = Math.abs(B ? A[aRow + q] + scaleB * B[bRow + q] : A[aRow + q]);
      // `value <= max` is false for NaN, which ends the scan.
      if (!(value <= max)) {
        if (Number.isNaN(value)) return NaN;
        max = value;
      }
    }
  }
  return max;
}

/** Σ A ⊙ B (b omitted: Σ A²), accumulated in f64. */
export function dot(a: DenseBlock, b: DenseBlock = a): number {
  const [A, B] = [a.data, b.data];
  let sum = 0;
  for (let r = 0; r < a.rows; r++) {
    const aRow = r * a.ld;
    const bRow = r * b.ld;
    for (let q = 0; q < a.cols; q++) sum += A[aRow + q] * B[bRow + q];
  }
  return sum;
}
