/**
 * Softmax cross-entropy ℓ(v; y) = (Σ_i y_i) · log Σ_i exp(v_i) − ⟨y, v⟩ of the logits v, for a target y that is a
 * probability vector (y ≥ 0, Σ y = 1; a one-hot label is one): ℓ = −Σ_i y_i log softmax(v)_i.
 * ∇ℓ = p − y with p = softmax(v); ∇²ℓ = diag(p) − p pᵀ, whose eigenvalues lie in [0, ½], so ∇ℓ is ½-Lipschitz.
 * The Newton system of the V_N step, (diag(p) − p pᵀ + βI) s = r, is diagonal plus rank one: with M = diag(p + β),
 * s = M⁻¹r + M⁻¹p · (pᵀM⁻¹r) / (1 − pᵀM⁻¹p) (Sherman–Morrison; 1 − pᵀM⁻¹p = 1 − Σ p_i²/(p_i + β) > 0), O(d).
 */
import type { Loss } from '@nladmm/core';

/** p ← softmax(v) (shifted by max v so that exp never overflows). */
function softmax(v: Float64Array, p: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]);
  let total = 0;
  for (let i = 0; i < v.length; i++) total += p[i] = Math.exp(v[i] - max);
  for (let i = 0; i < v.length; i++) p[i] /= total;
}

let scratch = new Float64Array(16);
function probabilities(v: Float64Array): Float64Array {
  if (scratch.length < v.length) scratch = new Float64Array(v.length);
  const p = scratch.length === v.length ? scratch : scratch.subarray(0, v.length);
  softmax(v, p);
  return p;
}

const TARGET_SLACK = 1e-6;

export const crossEntropy: Loss = {
  name: 'cross-entropy',
  value(v, y) {
    let max = -Infinity;
    for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]);
    let total = 0;
    for (let i = 0; i < v.length; i++) total += Math.exp(v[i] - max);
    const logSumExp = max + Math.log(total);
    let out = 0;
    for (let i = 0; i < v.length; i++) out += y[i] * (logSumExp - v[i]);
    return out;
  },
  gradient(v, y, g) {
    const p = probabilities(v);
    for (let i = 0; i < v.length; i++) g[i] = p[i] - y[i];
  },
  newtonSolve(v, _y, beta, r, s) {
    const p = probabilities(v);
    let pMr = 0;
    let pMp = 0;
    for (let i = 0; i < v.length; i++) {
      const m = p[i] + beta;
      pMr += (p[i] * r[i]) / m;
      pMp += (p[i] * p[i]) / m;
    }
    const coupling = pMr / (1 - pMp);
    for (let i = 0; i < v.length; i++) s[i] = (r[i] + p[i] * coupling) / (p[i] + beta);
  },
  wgsl: {
    value: `var mx = (*v)[0];
for (var i = 1u; i < LOSS_D; i++) { mx = max(mx, (*v)[i]); }
var total = 0.0;
for (var i = 0u; i < LOSS_D; i++) { total += exp((*v)[i] - mx); }
let lse = mx + log(total);
var out = 0.0;
for (var i = 0u; i < LOSS_D; i++) { out += (*y)[i] * (lse - (*v)[i]); }
return out;`,
    gradient: `var mx = (*v)[0];
for (var i = 1u; i < LOSS_D; i++) { mx = max(mx, (*v)[i]); }
var total = 0.0;
for (var i = 0u; i < LOSS_D; i++) { total += exp((*v)[i] - mx); }
for (var i = 0u; i < LOSS_D; i++) { (*g)[i] = exp((*v)[i] - mx) / total - (*y)[i]; }`,
    newtonSolve: `var mx = (*v)[0];
for (var i = 1u; i < LOSS_D; i++) { mx = max(mx, (*v)[i]); }
var total = 0.0;
for (var i = 0u; i < LOSS_D; i++) { total += exp((*v)[i] - mx); }
var pMr = 0.0;
var pMp = 0.0;
for (var i = 0u; i < LOSS_D; i++) {
  let p = exp((*v)[i] - mx) / total;
  pMr += p * (*r)[i] / (p + beta);
  pMp += p * p / (p + beta);
}
let coupling = pMr / (1.0 - pMp);
for (var i = 0u; i < LOSS_D; i++) {
  let p = exp((*v)[i] - mx) / total;
  (*s)[i] = ((*r)[i] + p * coupling) / (p + beta);
}`,
  },
  smoothness: 0.5,
  quadratic: false,
  checkTarget(y) {
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      if (!(y[i] >= 0)) return `entry ${i} is ${y[i]} (a target must be a probability vector: entries ≥ 0 summing to 1)`;
      total += y[i];
    }
    if (!(Math.abs(total - 1) <= TARGET_SLACK)) return `its entries sum to ${total} (a target must be a probability vector summing to 1)`;
    return undefined;
  },
};
