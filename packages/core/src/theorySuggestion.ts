/** The smallest β_1…β_N and λ that meet (42)-(45) of Theorem 3 for a setting (its data and W^0). */
import {
  ASTRONOMICAL,
  BETA_N_MIN,
  type PreparedTheorySetting,
  type TheoryParameters,
  type TheorySetting,
  c3Of,
  formatTheoryNumber as fmt,
  lambdaBarTerms,
  lambdaHatOf,
  prepareTheorySetting,
  ratioTerms44,
} from './theoryConstants.ts';
import { type TheoryReport, checkHypotheses, isParameterHypothesis } from './theoryHypotheses.ts';

/** Result of {@link suggestParameters}. */
export interface ParameterSuggestion extends TheoryParameters {
  /** The checker's report at the suggestion ((42)-(45) hold; (46), (47) as they are). */
  readonly report: TheoryReport;
  /** True when some β_i or λ exceeds {@link ASTRONOMICAL}. */
  readonly astronomical: boolean;
  /** Ids of hypotheses that no choice of β, λ can meet here ((46): widths; (47): initialisation). */
  readonly unattainable: readonly string[];
  /** Whether C3 at the suggestion comes from the data term or from the ‖Y‖ term of (41). */
  readonly c3Source: 'data' | 'targets';
  readonly notes: readonly string[];
}

/** The smallest double above x (x finite, > 0). */
function nextUp(x: number): number {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  buf.setBigUint64(0, buf.getBigUint64(0) + 1n);
  return buf.getFloat64(0);
}

/** The smallest double v ≥ target·base with v / base ≥ target in floating point. */
function ratioAtLeast(target: number, base: number): number {
  let v = target * base;
  if (!Number.isFinite(v)) return v;
  while (v / base < target) v = nextUp(v);
  return v;
}

/**
 * The smallest β_1…β_N and λ meeting (42)-(45) for the setting (data, widths, bounds, W^0), solved in the order
 * the hypotheses allow:
 *
 * 1. β_N = max(3.5, options.betaN): (42). C3 of (41) depends on β_N only, so it is fixed from here on.
 * 2. β_{N−1} = 16γ² β_N: (43).
 * 3. β_i = max{…}·β_{i+1} for i = N−2 … 1: (44), whose right side depends only on C3 (not on the other β).
 * 4. λ = max{12β_N C3² γ^(2N−4), λ̄, λ̂}: (45), with λ̄ and λ̂ at these β.
 *
 * Each later quantity is increasing in the earlier ones and nothing feeds back into C3 but β_N, so this single pass
 * is the fixed point: for the given β_N every β_i and λ is the least value allowed (each is rounded up to the next
 * double where needed so that the checker's ≥ holds in floating point), and lowering any one of them alone breaks a
 * hypothesis. The suggestion is verified by running {@link checkHypotheses} on it. β_N = 3.5 minimises β_N; when the
 * ‖Y‖ term dominates C3 a larger β_N lowers C3 (down to the data term at β_N = 3 + ‖Y‖/(data term · γ^(N−1))) and may
 * lower β_1…β_{N−2} and λ: pass `betaN` to explore that trade-off.
 *
 * (46) and (47) do not involve β or λ except through C3 (which β_N = 3.5 already makes as large as (42) allows), so
 * when they fail here no choice of β, λ meets them: they are listed in `unattainable` with the reason.
 */
export function suggestParameters(
  setting: TheorySetting | PreparedTheorySetting,
  options: { readonly betaN?: number } = {},
): ParameterSuggestion {
  const p = prepareTheorySetting(setting);
  const N = p.depth;
  const { L0, L1, L2 } = p.bounds;
  const L3 = 2 * (L1 * L1 + L2 * L0 + L2);
  const gamma = Math.max(...p.weightNorms.slice(1));
  const betas = new Array<number>(N).fill(NaN);
  const betaN = Math.max(BETA_N_MIN, options.betaN ?? BETA_N_MIN);
  betas[N - 1] = betaN;
  const c3 = c3Of(p, gamma, betaN);
  betas[N - 2] = ratioAtLeast(16 * gamma * gamma, betas[N - 1]);
  for (let i = N - 2; i >= 1; i--) {
    betas[i - 1] = ratioAtLeast(Math.max(...ratioTerms44(p, L3, gamma, c3.C3, i)), betas[i]);
  }
  const notes: string[] = [];
  const finite = betas.every((b) => Number.isFinite(b));
  let lambda = NaN;
  if (finite) {
    let lambdaBar = 0;
    for (let i = 2; i <= N - 1; i++) lambdaBar = Math.max(lambdaBar, ...lambdaBarTerms(p, L3, gamma, c3.C3, betas, i));
    lambda = Math.max(12 * betaN * c3.C3 * c3.C3 * gamma ** (2 * N - 4), lambdaBar, lambdaHatOf(p, L3, gamma, c3.C3, betas[0]));
  }
  if (!finite || !Number.isFinite(lambda)) {
    throw new RangeError(`the suggested parameters overflow double precision (β = [${betas.join(', ')}], λ = ${lambda}): the theory's constants are far too large for this setting`);
  }
  const report = checkHypotheses(p, { betas, lambda });
  const broken = report.hypotheses.filter((h) => isParameterHypothesis(h) && !h.holds).map((h) => h.id);
  if (broken.length > 0) throw new Error(`internal error: the suggested parameters fail ${broken.join(', ')}`);

  const unattainable: string[] = [];
  for (const h of report.hypotheses) {
    if (isParameterHypothesis(h) || h.holds) continue;
    unattainable.push(h.id);
    if (h.equation === '(46)') {
      notes.push(`${h.id} fails: d_min = ${h.lhs} < ${fmt(h.rhs)}; it depends on the widths, n, N and the activation bounds only. Widen the narrowest hidden layer to at least ${Math.ceil(h.rhs)}.`);
    } else {
      notes.push(`${h.id} fails: ${h.lhsLabel} = ${fmt(h.lhs)} > ${fmt(h.rhs)}; it depends on the initialisation (W^0 and the starting V^0, Λ^0), and C3 is already as large as (42) allows.`);
    }
  }
  const all = [...betas, lambda];
  const astronomical = all.some((v) => v > ASTRONOMICAL);
  const largest = Math.max(...all);
  if (astronomical) {
    notes.unshift(
      `the suggested values are astronomically large (largest ${fmt(largest)} > ${fmt(ASTRONOMICAL)}): the theory's constants are very conservative for real widths — they guarantee convergence to a KKT point of a heavily regularised problem, not useful training.`,
    );
  }
  const c3Source = c3.target > c3.data ? 'targets' : 'data';
  if (c3Source === 'targets') {
    const balance = 3 + p.normY / (c3.data * gamma ** (N - 1));
    notes.push(`C3 comes from the ‖Y‖_F term of (41) at β_N = ${betaN}; any β_N ≥ ${fmt(balance)} makes it the data term and may lower β_1…β_{N−2} and λ (option betaN).`);
  }
  return { betas, lambda, report, astronomical, unattainable, c3Source, notes: [...notes, ...report.notes] };
}
