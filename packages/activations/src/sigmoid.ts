import type { Activation } from '@nladmm/core';

/**
 * The logistic sigmoid σ(u) = 1 / (1 + e^{−u}). It satisfies Assumption 1 of the paper (real analytic, with
 * |σ| ≤ 1, |σ′| ≤ 1/4 and |σ″| ≤ 1/(6√3)).
 *
 * Every formula evaluates e^{−|u|} ∈ [0, 1] only, so no exponential overflows: large |u| and ±Infinity give
 * the limits, and the tails keep their relative accuracy (σ(−700) ≈ e^{−700}, not 0).
 */
export const sigmoid: Activation = {
  name: 'sigmoid',
  sigma(u) {
    const e = Math.exp(-Math.abs(u));
    return u >= 0 ? 1 / (1 + e) : e / (1 + e);
  },
  /** σ′ = σ(1 − σ) = e^{−|u|} / (1 + e^{−|u|})², even in u. */
  dsigma(u) {
    const e = Math.exp(-Math.abs(u));
    const d = 1 + e;
    return e / (d * d);
  },
  /** σ″ = σ′ (1 − 2σ) = −σ′ tanh(u/2); tanh keeps 1 − 2σ accurate near u = 0. */
  d2sigma(u) {
    return -sigmoid.dsigma(u) * Math.tanh(u / 2);
  },
  wgsl: {
    // f32: e = exp(−|x|) ∈ [0, 1]; for x < 0, σ = e / (1 + e) avoids the cancellation of 1 − 1/(1 + e).
    sigma: 'let e = exp(-abs(x)); let p = 1.0 / (1.0 + e); return select(e * p, p, x >= 0.0);',
    dsigma: 'let e = exp(-abs(x)); let p = 1.0 / (1.0 + e); return e * p * p;',
  },
  // sup |σ| = 1 (as u → ∞); sup σ′ = σ′(0) = 1/4; |σ″| peaks where σ = (3 ± √3)/6, with σ′ = 1/6 and
  // |1 − 2σ| = 1/√3, so sup |σ″| = 1/(6√3).
  bounds: { L0: 1, L1: 1 / 4, L2: 1 / (6 * Math.sqrt(3)) },
  satisfiesAssumption1: true,
};
