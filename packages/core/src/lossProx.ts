/**
 * The V_N subproblem of Algorithm 1 with a loss plugin, for one column (sample):
 *
 *     v⁺ = argmin_v F(v),  F(v) = ℓ(v; y) + β/2 ‖v − t‖²,   t = (W_N^k Ṽ_{N−1}^k)_c + (Λ_N^{k−1})_c / β,
 *
 * the column form of (12) with ℓ in place of ½‖· − y‖². F is β-strongly convex (ℓ is convex), so the minimiser is
 * unique and is the zero of ∇F(v) = ∇ℓ(v; y) + β (v − t). Solved by Newton's method, s = (∇²ℓ + βI)⁻¹ ∇F(v), with
 * backtracking on F (Armijo, halving) for global convergence; near the solution the full step is taken and the
 * convergence is quadratic. It stops when ‖∇F(v)‖_∞ ≤ tolerance · (1 + β ‖t‖_∞) or after {@link PROX_MAX_ITERATIONS}
 * steps. The WebGPU kernel (shaders/loss.wgsl, entry point column_prox) runs the same iteration.
 */
import type { Loss } from './loss.ts';
import type { Precision } from './backend.ts';

/** Stopping tolerance of the V_N prox, relative to 1 + β‖t‖_∞ (see the module comment). */
export const PROX_TOLERANCE: Readonly<Record<Precision, number>> = { f64: 1e-12, f32: 1e-5 };

/** The Newton steps allowed per column (the iteration converges in 3-8 from a warm start). */
export const PROX_MAX_ITERATIONS = 50;

/** Halvings of the step allowed in one backtracking search. */
export const PROX_MAX_HALVINGS = 30;

/** Work arrays of {@link proxColumn} for columns of width d (reused across columns). */
export class ProxWorkspace {
  readonly gradient: Float64Array;
  readonly step: Float64Array;
  readonly trial: Float64Array;
  constructor(readonly width: number) {
    this.gradient = new Float64Array(width);
    this.step = new Float64Array(width);
    this.trial = new Float64Array(width);
  }
}

function objective(loss: Loss, v: Float64Array, y: Float64Array, t: Float64Array, beta: number): number {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += (v[i] - t[i]) ** 2;
  return loss.value(v, y) + (beta / 2) * sq;
}

/** g ← ∇F(v) = ∇ℓ(v; y) + β (v − t); returns ‖g‖_∞. */
function objectiveGradient(loss: Loss, v: Float64Array, y: Float64Array, t: Float64Array, beta: number, g: Float64Array): number {
  loss.gradient(v, y, g);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    g[i] += beta * (v[i] - t[i]);
    norm = Math.max(norm, Math.abs(g[i]));
  }
  return norm;
}

/**
 * Solves one column's V_N subproblem in place: `v` holds the starting point on entry (the previous V_N column, a warm
 * start) and the minimiser on return. Returns the number of Newton steps taken, or −1 when the tolerance was not met
 * within {@link PROX_MAX_ITERATIONS} steps (v is then the last iterate, still a descent from the start).
 */
export function proxColumn(
  loss: Loss,
  t: Float64Array,
  y: Float64Array,
  beta: number,
  v: Float64Array,
  tolerance: number,
  work: ProxWorkspace,
): number {
  const { gradient: g, step: s, trial } = work;
  let tMax = 0;
  for (let i = 0; i < t.length; i++) tMax = Math.max(tMax, Math.abs(t[i]));
  const threshold = tolerance * (1 + beta * tMax);
  let f = objective(loss, v, y, t, beta);
  for (let iteration = 0; iteration <= PROX_MAX_ITERATIONS; iteration++) {
    if (objectiveGradient(loss, v, y, t, beta, g) <= threshold) return iteration;
    if (iteration === PROX_MAX_ITERATIONS) break;
    loss.newtonSolve(v, y, beta, g, s);
    // Armijo on F along −s: F(v − αs) ≤ F(v) − α/4 ⟨g, s⟩, with a rounding allowance so that a step at the
    // level of machine precision is not refused forever.
    let slope = 0;
    for (let i = 0; i < v.length; i++) slope += g[i] * s[i];
    const allowance = 8 * Number.EPSILON * (1 + Math.abs(f));
    let alpha = 1;
    let accepted = false;
    for (let halving = 0; halving <= PROX_MAX_HALVINGS; halving++) {
      for (let i = 0; i < v.length; i++) trial[i] = v[i] - alpha * s[i];
      const fTrial = objective(loss, trial, y, t, beta);
      if (fTrial <= f - (alpha / 4) * slope + allowance) {
        v.set(trial);
        f = fTrial;
        accepted = true;
        break;
      }
      alpha /= 2;
    }
    if (!accepted) break;
  }
  return -1;
}
