/**
 * The hypotheses (42)-(47) of Theorem 3 at a given configuration, with the constants of theoryConstants.ts, and notes on
 * what the setting leaves outside the paper's proofs (biases, another loss).
 */
import { InvalidProblemError } from './problem.ts';
import {
  BETA_N_MIN,
  type PreparedTheorySetting,
  type TheoryConstants,
  type TheoryParameters,
  type TheorySetting,
  formatTheoryNumber as fmt,
  prepareTheorySetting,
  ratioTerms44,
  theoryConstants,
} from './theoryConstants.ts';

/** One hypothesis (or one instance of it, for one layer i) evaluated as lhs ≥ rhs or lhs ≤ rhs. */
export interface HypothesisCheck {
  /** e.g. "(42)", "(44) i=2", "(47) V i=3", "(47) Λ i=1". */
  readonly id: string;
  /** The equation number, e.g. "(44)". */
  readonly equation: string;
  /** Layer index i where the hypothesis is per layer. */
  readonly layer?: number;
  /** What the two sides are, e.g. "β_1/β_2" and "max{6√N(…)γ², 6(…)²γ²}". */
  readonly lhsLabel: string;
  readonly rhsLabel: string;
  readonly relation: '>=' | '<=';
  readonly lhs: number;
  readonly rhs: number;
  /** False when a side is undefined (C3 with β_N ≤ 3); then {@link holds} is false too. */
  readonly defined: boolean;
  readonly holds: boolean;
  /**
   * lhs/rhs when rhs is a finite positive number (≥ 1 means holds for '>=', ≤ 1 for '<='), else lhs − rhs
   * (≥ 0 means holds for '>=', ≤ 0 for '<='): see {@link marginKind}. NaN when undefined.
   */
  readonly margin: number;
  readonly marginKind: 'ratio' | 'difference';
  /** The named parts of a rhs that is a maximum, e.g. { '12β_N C3² γ^(2N−4)': …, 'λ̄': …, 'λ̂': … }. */
  readonly parts?: Readonly<Record<string, number>>;
  readonly note?: string;
}

export interface TheoryReport {
  readonly constants: TheoryConstants;
  readonly parameters: TheoryParameters;
  readonly bias: boolean;
  readonly hypotheses: readonly HypothesisCheck[];
  /** Whether all of (42)-(47) hold. */
  readonly allHold: boolean;
  /** Ids of the hypotheses that fail (or are undefined). */
  readonly failing: readonly string[];
  readonly notes: readonly string[];
}

function makeCheck(
  id: string,
  equation: string,
  lhsLabel: string,
  relation: '>=' | '<=',
  rhsLabel: string,
  lhs: number,
  rhs: number,
  extra: { layer?: number; parts?: Record<string, number>; note?: string } = {},
): HypothesisCheck {
  const defined = !Number.isNaN(lhs) && !Number.isNaN(rhs);
  const holds = defined && (relation === '>=' ? lhs >= rhs : lhs <= rhs);
  const useRatio = Number.isFinite(rhs) && rhs > 0;
  const margin = !defined ? NaN : useRatio ? lhs / rhs : lhs - rhs;
  return {
    id,
    equation,
    ...(extra.layer !== undefined ? { layer: extra.layer } : {}),
    lhsLabel,
    rhsLabel,
    relation,
    lhs,
    rhs,
    defined,
    holds,
    margin,
    marginKind: useRatio ? 'ratio' : 'difference',
    ...(extra.parts ? { parts: extra.parts } : {}),
    ...(extra.note !== undefined || !defined ? { note: extra.note ?? 'undefined: C3 of (41) needs β_N > 3' } : {}),
  };
}

/**
 * Evaluates (42)-(47) of Theorem 3 for a setting and (β, λ): one {@link HypothesisCheck} per hypothesis and per
 * layer where it is per layer ((44) for i = 1…N−2, (47) for i = 1…N, separately for V and Λ). When β_N ≤ 3 the
 * constant C3 is undefined (its denominator β_N − 3 ≤ 0): (42) fails and the hypotheses that need C3 ((44), (45),
 * (47)) are reported undefined, not divided by a non-positive number.
 */
export function checkHypotheses(setting: TheorySetting | PreparedTheorySetting, params: TheoryParameters): TheoryReport {
  const p = prepareTheorySetting(setting);
  const c = theoryConstants(p, params);
  const { L0, L1, L2, L3, gamma, C3 } = c;
  const N = p.depth;
  const n = p.samples;
  const beta = (i: number) => params.betas[i - 1];
  const checks: HypothesisCheck[] = [];
  const notes: string[] = [];

  checks.push(makeCheck('(42)', '(42)', 'β_N', '>=', '3.5', beta(N), BETA_N_MIN));
  if (!c.c3Defined) notes.push(`β_N = ${beta(N)} ≤ 3: C3 of (41) is undefined (division by β_N − 3 ≤ 0), so (44), (45) and (47) cannot be evaluated.`);
  checks.push(makeCheck('(43)', '(43)', `β_${N - 1}/β_${N}`, '>=', '16γ²', beta(N - 1) / beta(N), 16 * gamma * gamma));
  for (let i = 1; i <= N - 2; i++) {
    const [first, second] = ratioTerms44(p, L3, gamma, C3, i);
    checks.push(
      makeCheck(`(44) i=${i}`, '(44)', `β_${i}/β_${i + 1}`, '>=', 'max{6√N(2L1²+(4L3+L2)C3γ^i)γ², 6(√(3L1)+√(2L3C3γ^i))²γ²}', beta(i) / beta(i + 1), Math.max(first, second), {
        layer: i,
        parts: { '6√N(2L1²+(4L3+L2)C3γ^i)γ²': first, '6(√(3L1)+√(2L3C3γ^i))²γ²': second },
      }),
    );
  }
  const lambdaFirst = 12 * beta(N) * C3 * C3 * gamma ** (2 * N - 4);
  checks.push(
    makeCheck('(45)', '(45)', 'λ', '>=', 'max{12β_N C3² γ^(2N−4), λ̄, λ̂}', params.lambda, Math.max(lambdaFirst, c.lambdaBar, c.lambdaHat), {
      parts: { '12β_N C3² γ^(2N−4)': lambdaFirst, 'λ̄': c.lambdaBar, 'λ̂': c.lambdaHat },
    }),
  );
  const gap = Math.max(Math.sqrt(24 * N + 1) * L1 - Math.sqrt(18 * L1), 0);
  const rhs46 = gap ** 4 / (n * (24 * L0 * L3) ** 2);
  checks.push(
    makeCheck('(46)', '(46)', 'd_min', '>=', '(max{√(24N+1)L1 − √(18L1), 0})⁴ / (n(24L0L3)²)', c.dMin, rhs46, {
      note: `equivalently α3 = ${fmt(c.alpha3)} ≥ 24N + 1 = ${24 * N + 1}`,
    }),
  );
  for (let i = 1; i <= N; i++) {
    checks.push(makeCheck(`(47) V i=${i}`, '(47)', `‖V_${i}^0‖_F`, '<=', '3C3γ^(i−1)', p.initialVNorms[i], 3 * C3 * gamma ** (i - 1), { layer: i }));
  }
  for (let i = 1; i <= N; i++) {
    checks.push(makeCheck(`(47) Λ i=${i}`, '(47)', `‖Λ_${i}^0‖_F`, '<=', 'C3β_iγ^(i−1)', p.initialLambdaNorms[i], C3 * beta(i) * gamma ** (i - 1), { layer: i }));
  }

  // The proof of Lemma 4 ((82)-(83)) also uses 4C3γ^(i−1) ≥ 1 for i = 1…N−1, which (41) gives when L0 ≥ 1/8.
  if (c.c3Defined) {
    const low: number[] = [];
    for (let i = 1; i <= N - 1; i++) if (4 * C3 * gamma ** (i - 1) < 1) low.push(i);
    if (low.length > 0) {
      notes.push(
        `4C3γ^(i−1) < 1 for i = ${low.join(', ')}: the proof of Lemma 4 ((82)-(83)) needs 4C3γ^(i−1) ≥ 1 and obtains it by taking L0 ≥ 1/8; check again with bounds.L0 = max(L0, 1/8).`,
      );
    }
  }
  if (N === 2) notes.push('N = 2: λ̄ is a maximum over 2 ≤ i ≤ N−1, an empty range; it is taken as 0.');
  if (!p.loss.quadratic) {
    notes.push(
      `loss '${p.loss.name}' is not the paper's ½‖V_N − Y‖²: (42)-(47) are evaluated as written (C3 of (41) from ‖Y‖), but they are ` +
        `proven only for the squared loss. Lemma 6's (50) becomes Λ_N = ∇ℓ(V_N) and still holds; Lemma 2's descent (28), whose ` +
        `V_N term uses (50) with ∇ℓ 1-Lipschitz and ℓ quadratic, Lemma 4's bound on V_N and Theorems 1 and 3 are unproven for it.`,
    );
  }
  if (p.bias) {
    notes.push('biases absorbed: ‖X‖_F is ‖[X; 1ᵀ]‖_F and γ includes the bias columns; the hidden rows of ones are outside the paper\'s proofs.');
  }
  const failing = checks.filter((h) => !h.holds).map((h) => h.id);
  return { constants: c, parameters: { betas: [...params.betas], lambda: params.lambda }, bias: p.bias, hypotheses: checks, allHold: failing.length === 0, failing, notes };
}

/** The ids of (42)-(45), which {@link suggestParameters} meets by its choice of β and λ. */
export function isParameterHypothesis(check: HypothesisCheck): boolean {
  return ['(42)', '(43)', '(44)', '(45)'].includes(check.equation);
}
