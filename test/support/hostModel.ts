// Host-side f64 reference of the quantities of the paper, written independently of any backend: plain loops
// over HostMatrix, used as the oracle of the theory tests.
import { type Activation, type HostIterate, type HostMatrix, type Loss, hostMatrix, identityActivation } from '@nladmm/core';
import { combine, multiply, transpose } from '../conformance/reference.ts';

export { transpose, combine };
export const mul = multiply;

export const add = (a: HostMatrix, b: HostMatrix) => combine(1, a, 1, b);
export const sub = (a: HostMatrix, b: HostMatrix) => combine(1, a, -1, b);
export const scale = (s: number, a: HostMatrix) => hostMatrix(a.rows, a.cols, a.data.map((v) => s * v));
export const map = (a: HostMatrix, f: (v: number) => number) => hostMatrix(a.rows, a.cols, a.data.map(f));

export function hadamard(a: HostMatrix, b: HostMatrix): HostMatrix {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError('hadamard: shapes differ');
  return hostMatrix(a.rows, a.cols, a.data.map((v, k) => v * b.data[k]));
}

export function frob2(a: HostMatrix): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return s;
}

export const frob = (a: HostMatrix) => Math.sqrt(frob2(a));

export function inner(a: HostMatrix, b: HostMatrix): number {
  let s = 0;
  for (let k = 0; k < a.data.length; k++) s += a.data[k] * b.data[k];
  return s;
}

/** ‖A − B‖ / max(‖A‖, ‖B‖, floor). */
export function relDiff(a: HostMatrix, b: HostMatrix, floor = 1e-300): number {
  return frob(sub(a, b)) / Math.max(frob(a), frob(b), floor);
}

/** The largest relative difference between two iterates over every block (W, V, Λ), and the block where it is. */
export function iterateDifference(a: HostIterate, b: HostIterate): { worst: number; where: string } {
  let worst = 0;
  let where = '';
  for (let i = 1; i < a.W.length; i++) {
    for (const [name, x, y] of [['W', a.W[i], b.W[i]], ['V', a.V[i], b.V[i]], ['Λ', a.Lambda[i], b.Lambda[i]]] as const) {
      const d = relDiff(x, y);
      if (!(d <= worst)) {
        worst = d;
        where = `${name}${i}`;
      }
    }
  }
  return { worst, where };
}

/** [V; 1ᵀ] when bias, else V. */
export function augment(v: HostMatrix, bias: boolean): HostMatrix {
  if (!bias) return v;
  const out = hostMatrix(v.rows + 1, v.cols);
  out.data.set(v.data);
  out.data.fill(1, v.rows * v.cols);
  return out;
}

/** W̄: W without its last (bias) column when bias. */
export function dropBias(w: HostMatrix, bias: boolean): HostMatrix {
  if (!bias) return w;
  const out = hostMatrix(w.rows, w.cols - 1);
  for (let r = 0; r < w.rows; r++) for (let c = 0; c < w.cols - 1; c++) out.data[r * (w.cols - 1) + c] = w.data[r * w.cols + c];
  return out;
}

export interface HostProblem {
  readonly x: HostMatrix;
  readonly y: HostMatrix;
  readonly betas: readonly number[];
  readonly lambda: number;
  readonly bias: boolean;
  readonly activation: Activation;
  /** ℓ(V_N; Y) (default: the squared loss ½‖V_N − Y‖² of (5)). */
  readonly loss?: Loss;
}

/** ℓ(V; Y) = Σ_c ℓ(v_c; y_c) on the host. */
export function lossOf(loss: Loss, v: HostMatrix, y: HostMatrix): number {
  const vc = new Float64Array(v.rows);
  const yc = new Float64Array(v.rows);
  let total = 0;
  for (let c = 0; c < v.cols; c++) {
    for (let r = 0; r < v.rows; r++) {
      vc[r] = v.data[r * v.cols + c];
      yc[r] = y.data[r * v.cols + c];
    }
    total += loss.value(vc, yc);
  }
  return total;
}

/** ∇ℓ(V; Y) column by column on the host. */
export function lossGradientOf(loss: Loss, v: HostMatrix, y: HostMatrix): HostMatrix {
  const out = hostMatrix(v.rows, v.cols);
  const vc = new Float64Array(v.rows);
  const yc = new Float64Array(v.rows);
  const g = new Float64Array(v.rows);
  for (let c = 0; c < v.cols; c++) {
    for (let r = 0; r < v.rows; r++) {
      vc[r] = v.data[r * v.cols + c];
      yc[r] = y.data[r * v.cols + c];
    }
    loss.gradient(vc, yc, g);
    for (let r = 0; r < v.rows; r++) out.data[r * v.cols + c] = g[r];
  }
  return out;
}

/** σ_i: the activation for i < N, the identity for i = N. */
export function sigmaOf(p: HostProblem, i: number, depth: number): Activation {
  return i < depth ? p.activation : identityActivation;
}

/** The augmented Lagrangian (6) at Q = (W, V, Λ), with V_0 = X. */
export function augmentedLagrangian(p: HostProblem, q: Pick<HostIterate, 'W' | 'V' | 'Lambda'>): number {
  const depth = q.W.length - 1;
  let value = p.loss ? lossOf(p.loss, q.V[depth], p.y) : frob2(sub(q.V[depth], p.y)) / 2;
  for (let i = 1; i <= depth; i++) {
    const act = sigmaOf(p, i, depth);
    const input = i === 1 ? p.x : q.V[i - 1];
    const r = sub(map(mul(q.W[i], augment(input, p.bias)), act.sigma), q.V[i]);
    value += (p.lambda / 2) * frob2(q.W[i]) + (p.betas[i - 1] / 2) * frob2(r) + inner(q.Lambda[i], r);
  }
  return value;
}

/** Central finite differences of the augmented Lagrangian with respect to every entry of W, V (i ≥ 1) and Λ. */
export function finiteDifferenceGradient(p: HostProblem, q: HostIterate, h = 1e-6): { W: HostMatrix[]; V: HostMatrix[]; Lambda: HostMatrix[] } {
  const depth = q.W.length - 1;
  const clone = (list: HostMatrix[]) => list.map((m) => hostMatrix(m.rows, m.cols, m.data));
  const grads = { W: [] as HostMatrix[], V: [] as HostMatrix[], Lambda: [] as HostMatrix[] };
  for (const block of ['W', 'V', 'Lambda'] as const) {
    for (let i = 1; i <= depth; i++) {
      const target = q[block][i];
      const g = hostMatrix(target.rows, target.cols);
      for (let k = 0; k < target.data.length; k++) {
        const plus = { W: clone(q.W), V: clone(q.V), Lambda: clone(q.Lambda) };
        const minus = { W: clone(q.W), V: clone(q.V), Lambda: clone(q.Lambda) };
        plus[block][i].data[k] += h;
        minus[block][i].data[k] -= h;
        g.data[k] = (augmentedLagrangian(p, plus) - augmentedLagrangian(p, minus)) / (2 * h);
      }
      grads[block].push(g);
    }
  }
  return grads;
}
