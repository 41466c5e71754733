import type { Activation } from '@nladmm/core';

/**
 * The hyperbolic tangent σ(u) = tanh(u). It satisfies Assumption 1 of the paper (real analytic, with
 * |σ| ≤ 1, |σ′| ≤ 1 and |σ″| ≤ 4/(3√3)).
 */
export const tanh: Activation = {
  name: 'tanh',
  sigma: (u) => Math.tanh(u),
  /**
   * σ′ = sech²(u) = 4 e^{−2|u|} / (1 + e^{−2|u|})². Unlike 1 − tanh²(u), which rounds to 0 for |u| > 19,
   * this keeps its relative accuracy in the tails, and e^{−2|u|} ∈ [0, 1] never overflows.
   */
  dsigma(u) {
    const e = Math.exp(-2 * Math.abs(u));
    const d = 1 + e;
    return (4 * e) / (d * d);
  },
  /** σ″ = −2 tanh(u) σ′(u). */
  d2sigma(u) {
    return -2 * Math.tanh(u) * tanh.dsigma(u);
  },
  wgsl: {
    // WGSL's tanh may be implemented as (e^{2x} − 1)/(e^{2x} + 1), which is inf/inf = NaN in f32 once
    // |x| > 44. tanh(±15) already rounds to ±1 in f32, so clamping first changes no f32 result.
    sigma: 'return tanh(clamp(x, -15.0, 15.0));',
    dsigma: 'let e = exp(-2.0 * abs(x)); let d = 1.0 + e; return 4.0 * e / (d * d);',
  },
  // sup |σ″| = max over t = tanh(u) ∈ (−1, 1) of |2t(1 − t²)|, attained at t² = 1/3: 4/(3√3).
  bounds: { L0: 1, L1: 1, L2: 4 / (3 * Math.sqrt(3)) },
  satisfiesAssumption1: true,
};
