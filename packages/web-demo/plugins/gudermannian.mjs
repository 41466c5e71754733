// An example third-party activation plugin for the web demo, loaded by URL with
// ActivationRegistry.registerModule: a plain ES module whose default export is an Activation
// (see packages/core/src/activation.ts).
//
// The Gudermannian function gd(u) = 2 atan(tanh(u / 2)): an odd, real-analytic sigmoid-shaped curve with
//   σ′(u) = sech(u) = 1 / cosh(u),   σ″(u) = −sech(u) tanh(u).
// Bounds of Assumption 1: |σ| < π/2 (its limits at ±∞); sup σ′ = σ′(0) = 1; |σ″| = sinh(u) / cosh²(u) peaks
// where cosh² = 2 sinh², i.e. sinh(u) = 1, cosh(u) = √2, so sup |σ″| = 1/2.

/** sech(u) without overflow: e^{−|u|} ∈ (0, 1], so 2e^{−|u|} / (1 + e^{−2|u|}) never overflows. */
const sech = (u) => {
  const e = Math.exp(-Math.abs(u));
  return (2 * e) / (1 + e * e);
};

export default {
  name: 'gudermannian',
  sigma: (u) => 2 * Math.atan(Math.tanh(u / 2)),
  dsigma: sech,
  d2sigma: (u) => -sech(u) * Math.tanh(u),
  wgsl: {
    sigma: 'return 2.0 * atan(tanh(0.5 * x));',
    // The same overflow-free form of sech in f32.
    dsigma: 'let e = exp(-abs(x)); return 2.0 * e / (1.0 + e * e);',
  },
  bounds: { L0: Math.PI / 2, L1: 1, L2: 0.5 },
  satisfiesAssumption1: true,
};
