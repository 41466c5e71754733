/** The coefficients ξ, η, ζ of the Lyapunov function of Lemma 1 under the hypotheses of Theorem 3. */
import { type PreparedTheorySetting, type TheoryParameters, type TheorySetting, theoryConstants } from './theoryConstants.ts';

/**
 * The coefficients of the Lyapunov function of Lemma 1 and of the descent inequality (90), from (91)-(94) of
 * Appendix C.4, index i = layer 1…N (index 0 is NaN):
 *
 *   𝓛(Q^k) + Σ ξ_i ‖V_i^k − V_i^{k−1}‖² ≤ 𝓛(Q^{k−1}) + Σ ξ_i ‖V_i^{k−1} − V_i^{k−2}‖² − Σ ζ_i ‖W_i^k − W_i^{k−1}‖² − Σ (η_i − ξ_i) ‖V_i^k − V_i^{k−1}‖²
 *
 * for k ≥ 2 under the hypotheses of Theorem 3, which make ζ_i > 0 and η_i − ξ_i > 0 ((95)). For N = 2 layer 1 is
 * layer N−1 and takes (92); for N ≥ 3 layer 1 takes (94).
 */
export function lyapunovCoefficients(
  setting: TheorySetting | PreparedTheorySetting,
  params: TheoryParameters,
): { xi: number[]; eta: number[]; zeta: number[] } {
  const c = theoryConstants(setting, params);
  const { L1, L2, L3, gamma: g, C3 } = c;
  const N = c.N;
  const { lambda } = params;
  const b = (i: number) => params.betas[i - 1];
  // Σ_{j=1}^{upper} β_j⁻¹ (N − j + offset) (L1 γ)^{2(power − j)}
  const sum = (upper: number, offset: number, power: number) => {
    let s = 0;
    for (let j = 1; j <= upper; j++) s += ((N - j + offset) * (L1 * g) ** (2 * (power - j))) / b(j);
    return s;
  };
  const xi = new Array<number>(N + 1).fill(NaN);
  const eta = new Array<number>(N + 1).fill(NaN);
  const zeta = new Array<number>(N + 1).fill(NaN);
  // (91): layer N.
  const sN = sum(N - 2, 1, N);
  eta[N] = (1 + b(N)) / 2 - 1 / b(N) - (3 * g * g * (1 + b(N)) ** 2) / b(N - 1) - ((4 * (1 + b(N)) ** 2) / (L1 * L1)) * sN;
  xi[N] = (3 * g * g * b(N) ** 2) / b(N - 1) + ((4 * b(N) ** 2) / (L1 * L1)) * sN;
  // (92): layer N−1.
  const sN1 = sum(N - 2, 1, N - 1);
  eta[N - 1] = b(N - 1) / 2 - 4 * b(N - 1) ** 2 * sN1;
  xi[N - 1] = 4 * b(N - 1) ** 2 * sN1;
  // (93): layers 2…N−2.
  for (let i = 2; i <= N - 2; i++) {
    const a1 = L1 * L1 + 2 * L3 * C3 * g ** i;
    const a2 = a1 + L2 * C3 * g ** i;
    const s = sum(i - 1, 1, i);
    eta[i] = b(i) / 2 - 4 * (b(i) + a1 * g * g * b(i + 1)) ** 2 * s - (4 * a1 * a1 * g ** 4 * b(i + 1) ** 2 * (N - i + 1)) / b(i);
    xi[i] = 4 * (b(i) + a2 * g * g * b(i + 1)) ** 2 * s + (4 * a2 * a2 * g ** 4 * b(i + 1) ** 2 * (N - i + 1)) / b(i);
  }
  // (94): layer 1 when N ≥ 3.
  if (N >= 3) {
    const a1 = L1 * L1 + 2 * L3 * C3 * g;
    const a2 = a1 + L2 * C3 * g;
    eta[1] = b(1) / 2 - (4 * a1 * a1 * g ** 4 * b(2) ** 2 * N) / b(1);
    xi[1] = (4 * a2 * a2 * g ** 4 * b(2) ** 2 * N) / b(1);
  }
  // ζ below (90).
  zeta[N] = lambda / 2 - (3 * C3 * C3 * b(N) ** 2 * g ** (2 * (N - 1))) / b(N - 1) - ((2 * C3 * C3 * b(N) ** 2 * g ** (2 * (N - 2))) / (L1 * L1)) * sum(N - 2, 0, N);
  for (let i = 2; i <= N - 1; i++) {
    const f = 1 + (3 / L1) * L2 * L3 * g ** (i - 1);
    zeta[i] = lambda / 2 - 2 * f * f * C3 * C3 * b(i) ** 2 * g ** (2 * (i - 2)) * sum(i - 1, 0, i);
  }
  zeta[1] = lambda / 2;
  return { xi, eta, zeta };
}
