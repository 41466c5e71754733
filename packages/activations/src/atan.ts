import type { Activation } from '@nladmm/core';

/**
 * The arctangent σ(u) = atan(u). It satisfies Assumption 1 of the paper (real analytic, with |σ| ≤ π/2,
 * |σ′| ≤ 1 and |σ″| ≤ 3√3/8).
 */
export const atan: Activation = {
  name: 'atan',
  sigma: (u) => Math.atan(u),
  /** σ′ = 1 / (1 + u²); u² overflowing to Infinity for |u| > 1.3e154 correctly gives 0. */
  dsigma: (u) => 1 / (1 + u * u),
  /**
   * σ″ = −2u / (1 + u²)², evaluated as −2 · q · σ′ with q = u / (1 + u²). For |u| > 1, q = 1 / (u + 1/u) so
   * that neither u² nor u · (1 + u²)⁻¹ meets Infinity / Infinity (which would be NaN at u = ±Infinity).
   */
  d2sigma(u) {
    const q = Math.abs(u) <= 1 ? u / (1 + u * u) : 1 / (u + 1 / u);
    return -2 * q * atan.dsigma(u);
  },
  wgsl: {
    sigma: 'return atan(x);',
    // Clamping keeps x² below the f32 maximum (≈ 3.4e38); beyond |x| = 1e18 σ′ is 0 in f32 anyway.
    dsigma: 'let c = clamp(x, -1e18, 1e18); return 1.0 / (1.0 + c * c);',
  },
  // d/du [2u/(1 + u²)²] = 2(1 − 3u²)/(1 + u²)³ vanishes at u² = 1/3, so sup |σ″| = (2/√3)(3/4)² = 3√3/8.
  bounds: { L0: Math.PI / 2, L1: 1, L2: (3 * Math.sqrt(3)) / 8 },
  satisfiesAssumption1: true,
};
