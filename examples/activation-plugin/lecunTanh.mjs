// A third-party activation plugin: an ES module whose default export is an Activation (the contract of
// packages/core/src/activation.ts). LeCun's scaled tanh σ(u) = A tanh(b u), A = 1.7159, b = 2/3 ("Efficient
// BackProp", 1998), which keeps σ(±1) ≈ ±1. It satisfies Assumption 1 (bounded, real analytic), with
//   σ′(u) = A b sech²(b u),  σ″(u) = −2 A b² tanh(b u) sech²(b u),
//   L0 = A,  L1 = A b = σ′(0),  L2 = A b² · 4/(3√3) (sup |2t(1 − t²)| over t = tanh ∈ (−1, 1), at t² = 1/3).
// σ and σ′ use nothing outside their own bodies, so the blas backend can rebuild them in its worker threads.
export default {
  name: 'lecun-tanh',
  sigma: (u) => 1.7159 * Math.tanh((2 / 3) * u),
  // sech²(v) = 4e / (1 + e)² with e = exp(−2|v|): no overflow, and accurate in the tails (unlike 1 − tanh²).
  dsigma: (u) => {
    const e = Math.exp((-4 / 3) * Math.abs(u));
    return (1.7159 * (2 / 3) * 4 * e) / ((1 + e) * (1 + e));
  },
  d2sigma: (u) => {
    const e = Math.exp((-4 / 3) * Math.abs(u));
    return (-2 * 1.7159 * (4 / 9) * Math.tanh((2 / 3) * u) * 4 * e) / ((1 + e) * (1 + e));
  },
  wgsl: {
    // Clamped: WGSL's tanh may be (e^{2x} − 1)/(e^{2x} + 1), NaN in f32 for large |x|; tanh(15) is 1 in f32.
    sigma: 'return 1.7159 * tanh(clamp(0.6666667 * x, -15.0, 15.0));',
    dsigma: 'let e = exp(-1.3333334 * abs(x)); let d = 1.0 + e; return 1.7159 * 0.6666667 * 4.0 * e / (d * d);',
  },
  bounds: { L0: 1.7159, L1: 1.7159 * (2 / 3), L2: (1.7159 * (4 / 9) * 4) / (3 * Math.sqrt(3)) },
  satisfiesAssumption1: true,
};
