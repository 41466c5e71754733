import type { Activation } from '@nladmm/core';
import { sigmoid } from './sigmoid.ts';

/**
 * The softplus σ(u) = log(1 + e^u), a smooth ReLU. It does NOT satisfy Assumption 1 of the paper: σ is unbounded
 * (σ(u) ≈ u as u → ∞), so L0 = ∞, the paper's step rule (22) cannot be formed (use the `authors` rule) and the
 * convergence guarantees do not apply. Its derivatives are bounded: σ′ = sigmoid ∈ (0, 1) and σ″ = sigmoid′.
 *
 * Every formula evaluates e^{−|u|} ∈ [0, 1] only, so nothing overflows: σ(1e300) = 1e300, σ(−1e300) = 0, and
 * the left tail keeps its relative accuracy (σ(−700) ≈ e^{−700}, not 0).
 */
export const softplus: Activation = {
  name: 'softplus',
  /** σ = max(u, 0) + log1p(e^{−|u|}): equal to log(1 + e^u) for either sign of u, without overflow. */
  sigma: (u) => Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u))),
  /**
   * σ′ = 1 / (1 + e^{−u}), the sigmoid, in sigmoid's stable form. Written out rather than calling `sigmoid.sigma`:
   * the blas backend rebuilds σ and σ′ from their source text in its worker threads, where `sigmoid` is not in scope.
   */
  dsigma(u) {
    const e = Math.exp(-Math.abs(u));
    return u >= 0 ? 1 / (1 + e) : e / (1 + e);
  },
  /** σ″ = sigmoid′ = e^{−|u|} / (1 + e^{−|u|})². */
  d2sigma(u) {
    const e = Math.exp(-Math.abs(u));
    const d = 1 + e;
    return e / (d * d);
  },
  wgsl: {
    // f32, with e = exp(−|x|) ∈ [0, 1] (so no exp overflows) and WGSL having no log1p: log1p(e) = 2 atanh(z) with
    // z = e / (2 + e) ∈ [0, 1/3], summed as 2z (1 + w/3 + w²/5 + … + w⁶/13), w = z² ≤ 1/9. The first omitted term is
    // w⁷/15 ≤ 1.4e-8 relative, below the f32 rounding (6e-8), so σ keeps its relative accuracy in the left tail
    // where log(1.0 + e) would round to 0 (e < 6e-8, x < −16.6). select(0.0, x, x > 0.0) is max(x, 0).
    sigma:
      'let e = exp(-abs(x)); let z = e / (2.0 + e); let w = z * z; ' +
      'return select(0.0, x, x > 0.0) + 2.0 * z * (1.0 + w * (1.0 / 3.0 + w * (0.2 + w * (1.0 / 7.0 + w * (1.0 / 9.0 + w * (1.0 / 11.0 + w / 13.0))))));',
    // σ′ is the sigmoid: the same f32 form as sigmoid's σ.
    dsigma: sigmoid.wgsl.sigma,
  },
  // σ is unbounded (L0 = ∞). sup |σ′| = sup sigmoid = 1 (approached as u → ∞, not attained);
  // sup |σ″| = sup sigmoid′ = sigmoid′(0) = 1/4.
  bounds: { L0: Infinity, L1: 1, L2: 1 / 4 },
  satisfiesAssumption1: false,
};
