import type { Activation } from '@nladmm/core';

/**
 * sup |σ′| of SiLU: σ′(u⋆) = (u⋆ + 2)/4 = 1.09983932012886691695818492432…, at u⋆ = 2.39935728051546766783273969728…
 * This double is the nearest to the exact value (6.5e-17 above it; (u⋆ + 2)/4 evaluated in double arithmetic rounds
 * to the double 1 ulp below, 1.0998393201288668, which would not be an upper bound).
 *
 * Derivation. With s = sigmoid(u) and t = tanh(u/2) = 2s − 1 (so s(1 − s) = (1 − t²)/4):
 *   σ′(u) = s (1 + u (1 − s)),   σ″(u) = s (1 − s) (2 − u t),   σ‴(u) = s (1 − s) (u (3t² − 1)/2 − 3t).
 * As s(1 − s) > 0, σ″ = 0 exactly where g(u) = u·tanh(u/2) − 2 = 0: an even equation whose only positive root is u⋆
 * (u·tanh(u/2) increases from 0 to ∞ on u > 0). Newton on g, with g′(u) = t + (u/2)(1 − t²), from u₀ = 2.4 gives
 * 2.399357280501969, then 2.3993572805154675, where it stays in double precision; a 50-digit solve (mpmath
 * findroot) gives the digits above. At u⋆, t = 2/u⋆, so 1 − s = (1 − t)/2 and
 *   σ′(u⋆) = s (1 + u⋆(1 − t)/2) = s (1 + u⋆/2 − 1) = s u⋆/2 = (1 + t) u⋆/4 = (u⋆ + 2)/4.
 * As s(−u) = 1 − s(u), σ′(u) + σ′(−u) = 1, so the other critical point −u⋆ is the minimum σ′(−u⋆) = (2 − u⋆)/4
 * = −0.0998393…; σ′ → 1 as u → ∞ and → 0 as u → −∞. Hence sup |σ′| = max((u⋆ + 2)/4, (u⋆ − 2)/4) = (u⋆ + 2)/4.
 */
const SILU_L1 = 1.099839320128867;

/**
 * sup |σ″| of SiLU = σ″(0) = 1/2, exactly.
 *
 * Derivation: σ″(u) = s (1 − s) (2 − u tanh(u/2)) is even, with 0 < s(1 − s) ≤ 1/4 and u·tanh(u/2) ≥ 0, so
 * σ″ ≤ 1/4 · 2 = 1/2, with equality at u = 0 only. Its negative minimum is where σ‴ = 0 away from 0: at the roots
 * u₂ = ±3.435840993535111 of u (3t² − 1) = 6t (Newton from 3.4, confirmed to 50 digits), where
 * σ″(u₂) = −0.036914373199893186; σ″ → 0 as |u| → ∞. So sup |σ″| = 1/2.
 */
const SILU_L2 = 0.5;

/**
 * The SiLU (swish) σ(u) = u·sigmoid(u), a smooth ReLU. It does NOT satisfy Assumption 1 of the paper: σ is
 * unbounded above (σ(u) ≈ u as u → ∞; below, it is bounded by its minimum u₀ + 1 = −0.2784645… at the root
 * u₀ = −1.2784645… of σ′), so L0 = ∞, the paper's step rule (22) cannot be formed (use the `authors` rule)
 * and the convergence guarantees do not apply. σ′ and σ″ are bounded (see the constants above).
 *
 * Every formula evaluates e^{−|u|} ∈ [0, 1] only, and multiplies u only by s, 1 − s or e^{−|u|} (all in [0, 1]), so
 * nothing overflows: σ(1e300) = 1e300, σ(−1e300) = −0; ±Infinity give the limits (not ∞ · 0 = NaN).
 */
export const silu: Activation = {
  name: 'silu',
  /** σ = u / (1 + e^{−u}) for u ≥ 0 and u e^{u} / (1 + e^{u}) for u < 0 (then |u| e^{−|u|} ≤ 1/e). */
  sigma(u) {
    const e = Math.exp(-Math.abs(u));
    if (u >= 0) return u / (1 + e);
    // e = 0 only for u < −745, where u·e^u underflows anyway (and u = −Infinity would give −∞ · 0 = NaN).
    return e === 0 ? -0 : (u * e) / (1 + e);
  },
  /** σ′ = s (1 + u (1 − s)), with s and 1 − s each formed without cancellation: e/(1 + e) or 1/(1 + e). */
  dsigma(u) {
    const e = Math.exp(-Math.abs(u));
    // |u| > 745: σ′ is 1 (u > 0) or 0 (u < 0) to double precision; also keeps ±Infinity from giving ∞ · 0.
    if (e === 0) return u > 0 ? 1 : 0;
    const d = 1 + e;
    const s = u >= 0 ? 1 / d : e / d;
    const oneMinusS = u >= 0 ? e / d : 1 / d;
    return s * (1 + u * oneMinusS);
  },
  /** σ″ = s (1 − s) (2 − u tanh(u/2)) with s (1 − s) = e^{−|u|} / (1 + e^{−|u|})² (even in u). */
  d2sigma(u) {
    const e = Math.exp(-Math.abs(u));
    // |u| > 745: σ″ ≈ −|u| e^{−|u|} underflows to 0; also keeps ±Infinity from giving 0 · ∞.
    if (e === 0) return 0;
    const d = 1 + e;
    return (e / (d * d)) * (2 - u * Math.tanh(u / 2));
  },
  wgsl: {
    // f32, with e = exp(−|x|) ∈ [0, 1] and p = 1/(1 + e): s = select(e p, p, x ≥ 0) and 1 − s = select(p, e p, x ≥ 0),
    // each without cancellation. x is multiplied only by s or 1 − s ∈ [0, 1], so nothing overflows for any finite
    // f32 x (x = −1e30: s = 0, σ = −0 and σ′ = 0 · (1 + x) = −0, never inf/inf or 0 · inf).
    sigma: 'let e = exp(-abs(x)); let p = 1.0 / (1.0 + e); return x * select(e * p, p, x >= 0.0);',
    dsigma:
      'let e = exp(-abs(x)); let p = 1.0 / (1.0 + e); let s = select(e * p, p, x >= 0.0); ' +
      'let r = select(p, e * p, x >= 0.0); return s * (1.0 + x * r);',
  },
  bounds: { L0: Infinity, L1: SILU_L1, L2: SILU_L2 },
  satisfiesAssumption1: false,
};
