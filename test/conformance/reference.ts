/**
 * Naive f64 reference loops and test data for the backend conformance suite. Everything here is deliberately
 * simple (triple loops, textbook Cholesky) so that it can be trusted by inspection.
 */

import { type Activation, type HostMatrix, type Matrix, hostMatrix } from '@nladmm/core';

export { type HostMatrix, hostMatrix };

export function entry(a: HostMatrix, r: number, c: number): number {
  return a.data[r * a.cols + c];
}

// ---- seeded random numbers ----

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
}

/** A small deterministic generator: a Weyl sequence (step 0x9e3779b9) through a 32-bit avalanche mix. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next32 = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };
  const uniform = (): number => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53;
  return {
    uniform,
    normal: () => {
      const u = 1 - uniform();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
  };
}

/** Entries uniform in [−scale, scale). */
export function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1): HostMatrix {
  const m = hostMatrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * (2 * rng.uniform() - 1);
  return m;
}

/**
 * A symmetric positive definite n × n matrix Q diag(λ) Qᵀ with eigenvalues on a geometric grid from 1 down to
 * 1/condition (so ‖M‖₂ = 1 and κ₂(M) = condition). Q is a product of n random Householder reflectors.
 */
export function randomSpd(rng: Rng, n: number, condition: number): HostMatrix {
  const m = hostMatrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = n === 1 ? 1 : condition ** (-i / (n - 1));
  const u = new Float64Array(n);
  const w = new Float64Array(n);
  for (let reflector = 0; reflector < n; reflector++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      u[i] = rng.normal();
      norm += u[i] * u[i];
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) u[i] /= norm;
    // H M H with H = I − 2uuᵀ: M − 2uwᵀ − 2wuᵀ + 4γuuᵀ, where w = Mu and γ = uᵀw.
    let gamma = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += m.data[i * n + j] * u[j];
      w[i] = s;
      gamma += u[i] * s;
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) m.data[i * n + j] += -2 * u[i] * w[j] - 2 * w[i] * u[j] + 4 * gamma * u[i] * u[j];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const mean = (m.data[i * n + j] + m.data[j * n + i]) / 2;
      m.data[i * n + j] = mean;
      m.data[j * n + i] = mean;
    }
  }
  return m;
}

// ---- reference operations ----

export function transpose(a: HostMatrix): HostMatrix {
  const t = hostMatrix(a.cols, a.rows);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) t.data[c * a.rows + r] = a.data[r * a.cols + c];
  return t;
}

export function multiply(a: HostMatrix, b: HostMatrix): HostMatrix {
  if (a.cols !== b.rows) throw new RangeError(`multiply: ${a.rows}×${a.cols} times ${b.rows}×${b.cols}`);
  const c = hostMatrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let p = 0; p < a.cols; p++) {
      const aip = a.data[i * a.cols + p];
      for (let j = 0; j < b.cols; j++) c.data[i * b.cols + j] += aip * b.data[p * b.cols + j];
    }
  }
  return c;
}

/** α X + β Y elementwise; β = 0 ignores Y (which may hold NaN). */
export function combine(alpha: number, x: HostMatrix, beta: number, y: HostMatrix): HostMatrix {
  return hostMatrix(x.rows, x.cols, x.data.map((v, i) => alpha * v + (beta === 0 ? 0 : beta * y.data[i])));
}

/** α op(A) op(B) + β C. */
export function refGemm(alpha: number, a: HostMatrix, transA: boolean, b: HostMatrix, transB: boolean, beta: number, c: HostMatrix): HostMatrix {
  return combine(alpha, multiply(transA ? transpose(a) : a, transB ? transpose(b) : b), beta, c);
}

/** α A Aᵀ + β C, or α AᵀA + β C when `transA`. */
export function refGram(alpha: number, a: HostMatrix, transA: boolean, beta: number, c: HostMatrix): HostMatrix {
  const op = transA ? transpose(a) : a;
  return combine(alpha, multiply(op, transpose(op)), beta, c);
}

/** The lower Cholesky factor of a symmetric positive definite matrix (textbook loops; throws on a pivot ≤ 0). */
export function refCholesky(m: HostMatrix): HostMatrix {
  const n = m.rows;
  const l = hostMatrix(n, n);
  for (let j = 0; j < n; j++) {
    let pivot = entry(m, j, j);
    for (let p = 0; p < j; p++) pivot -= entry(l, j, p) ** 2;
    if (!(pivot > 0)) throw new Error(`refCholesky: pivot ${j} is ${pivot}`);
    l.data[j * n + j] = Math.sqrt(pivot);
    for (let i = j + 1; i < n; i++) {
      let s = entry(m, i, j);
      for (let p = 0; p < j; p++) s -= entry(l, i, p) * entry(l, j, p);
      l.data[i * n + j] = s / entry(l, j, j);
    }
  }
  return l;
}

/** (L Lᵀ)⁻¹ B by forward and back substitution, column by column. */
export function refCholeskySolve(l: HostMatrix, b: HostMatrix): HostMatrix {
  const n = l.rows;
  const x = hostMatrix(b.rows, b.cols, b.data);
  for (let c = 0; c < b.cols; c++) {
    for (let i = 0; i < n; i++) {
      let s = entry(x, i, c);
      for (let p = 0; p < i; p++) s -= entry(l, i, p) * entry(x, p, c);
      x.data[i * b.cols + c] = s / entry(l, i, i);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = entry(x, i, c);
      for (let p = i + 1; p < n; p++) s -= entry(l, p, i) * entry(x, p, c);
      x.data[i * b.cols + c] = s / entry(l, i, i);
    }
  }
  return x;
}

/** The lower triangle of a square matrix, zeros above. */
export function lowerTriangle(a: HostMatrix): HostMatrix {
  const t = hostMatrix(a.rows, a.cols, a.data);
  for (let i = 0; i < a.rows; i++) for (let j = i + 1; j < a.cols; j++) t.data[i * a.cols + j] = 0;
  return t;
}

// ---- norms ----

export function frobenius(a: HostMatrix | Float64Array): number {
  const data = a instanceof Float64Array ? a : a.data;
  let sum = 0;
  for (const v of data) sum += v * v;
  return Math.sqrt(sum);
}

/** ‖A − B‖_F; NaN when either holds a NaN. */
export function distance(a: HostMatrix, b: HostMatrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`distance: ${a.rows}×${a.cols} vs ${b.rows}×${b.cols}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  return Math.sqrt(sum);
}

/** Elementwise |A|. */
export function absolute(a: HostMatrix): HostMatrix {
  return hostMatrix(a.rows, a.cols, a.data.map(Math.abs));
}

// ---- shared by the conformance suite and its in-browser runner ----

/** How a matrix is handed to an op: packed, or as a view (column or row prefix) of a larger NaN-padded parent. */
export type Layout = 'packed' | 'colPrefix' | 'rowPrefix';

export interface Placed {
  /** What the op receives: the packed matrix or the view. */
  readonly matrix: Matrix;
  readonly parent: Matrix;
  /** The values the backend stored (after any rounding to its precision). */
  readonly stored: HostMatrix;
}

/** tanh with its derivatives, defined here so that the suite does not depend on the activation registry. */
export const tanhActivation: Activation = {
  name: 'conformance-tanh',
  sigma: Math.tanh,
  dsigma: (u) => 1 - Math.tanh(u) ** 2,
  d2sigma: (u) => -2 * Math.tanh(u) * (1 - Math.tanh(u) ** 2),
  wgsl: { sigma: 'return tanh(x);', dsigma: 'let t = tanh(x); return 1.0 - t * t;' },
  bounds: { L0: 1, L1: 1, L2: 4 / (3 * Math.sqrt(3)) },
  satisfiesAssumption1: true,
};

export function seedFor(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** One Adam step (see Backend.adamStep) on the host: the new moments and weights. */
export function refAdamStep(
  g: HostMatrix,
  m: HostMatrix,
  v: HostMatrix,
  w: HostMatrix,
  o: { learningRate: number; beta1: number; beta2: number; epsilon: number; step: number },
): { m: HostMatrix; v: HostMatrix; w: HostMatrix } {
  const m2 = hostMatrix(m.rows, m.cols, m.data.map((x, i) => o.beta1 * x + (1 - o.beta1) * g.data[i]));
  const v2 = hostMatrix(v.rows, v.cols, v.data.map((x, i) => o.beta2 * x + (1 - o.beta2) * g.data[i] ** 2));
  const w2 = hostMatrix(w.rows, w.cols, w.data.map((x, i) => {
    const mHat = m2.data[i] / (1 - o.beta1 ** o.step);
    const vHat = v2.data[i] / (1 - o.beta2 ** o.step);
    return x - (o.learningRate * mHat) / (Math.sqrt(vHat) + o.epsilon);
  }));
  return { m: m2, v: v2, w: w2 };
}
