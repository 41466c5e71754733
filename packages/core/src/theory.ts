import type { Activation, ActivationBounds } from './activation.ts';
import type { Loss } from './loss.ts';
import { drawWeights } from './init.ts';
import { type AdmmConfig, type HostMatrix, type TrainingData, InvalidProblemError, resolveProblem } from './problem.ts';

/**
 * The hypotheses of Theorem 3 (Appendix A of Zeng, Lin & Yao): the constants (36)-(41), λ̄ and λ̂, and a checker
 * for (42)-(47) at a given configuration; {@link suggestParameters} computes the smallest β_1…β_N and λ that meet
 * (42)-(45).
 *
 * Biases. With biases on (footnote 1), the analysis is applied to the absorbed form: the input is X̃ = [X; 1ᵀ]
 * (so ‖X‖_F in λ̂ is ‖X̃‖_F = (‖X‖_F² + n)^{1/2}) and every W̃_i includes its bias column (so γ of (37) and the
 * norms of W^0 include the biases; a weight given without its bias column gets a zero one, as in the solver). The
 * widths d_i in (38), (39), (41), λ̄, λ̂ stay the widths of the variables V_i (d_i × n). The rows of ones appended
 * to the hidden V_i are data, not variables, and the paper's proofs do not cover them: its bound
 * ‖V_j‖_F ≤ L0 (n d_j)^{1/2} of (48) becomes ‖Ṽ_j‖_F ≤ (L0² n d_j + n)^{1/2} for the matrix that W_{j+1} multiplies. The
 * checker evaluates the hypotheses as printed for the absorbed quantities; it does not claim that Theorem 3 then
 * holds verbatim. Without biases the setting is exactly the paper's.
 *
 * Everything here runs on the host in f64 with plain loops (no backend).
 */

/** What the hypotheses depend on besides β and λ: data, widths, activation bounds, W^0 and the bias flag. */
export interface TheorySetting {
  /** X (d_0 × n), one sample per column. */
  readonly x: HostMatrix;
  /** Y (d_N × n). */
  readonly y: HostMatrix;
  /** d_0, d_1, …, d_N. */
  readonly layers: readonly number[];
  /** σ (for V^0 of (7)) and its bounds L0, L1, L2 of Assumption 1. */
  readonly activation: Pick<Activation, 'sigma' | 'bounds'>;
  /** W_1^0 … W_N^0 (d_i × d_{i−1}, or d_i × (d_{i−1} + 1) with the bias column). */
  readonly weights: readonly HostMatrix[];
  /** Absorb biases (see the module comment). */
  readonly bias: boolean;
  /**
   * A different starting point than (7) for (47) (e.g. a checkpoint): V_i^0 and Λ_i^0 indexed by layer i = 1…N
   * (index 0 ignored), as in HostIterate. By default V^0 follows (7) from W^0 and Λ^0 = 0.
   */
  readonly initial?: { readonly V: readonly HostMatrix[]; readonly Lambda: readonly HostMatrix[] };
  /** ℓ of the run (default: the paper's squared loss). Only its name and whether it is the paper's are used. */
  readonly loss?: Pick<Loss, 'name' | 'quadratic'>;
}

/** β_1…β_N and λ. */
export interface TheoryParameters {
  readonly betas: readonly number[];
  readonly lambda: number;
}

export type TheoryInput = TheorySetting & TheoryParameters;

/**
 * The parameter-independent part of a setting, computed once (V^0 of (7) costs a forward pass): pass it instead
 * of the setting to {@link checkHypotheses} to check many (β, λ) cheaply.
 */
export interface PreparedTheorySetting {
  readonly kind: 'prepared-theory-setting';
  /** The run's loss: its name and whether it is the paper's ½‖V_N − Y‖². */
  readonly loss: Pick<Loss, 'name' | 'quadratic'>;
  /** N. */
  readonly depth: number;
  /** n. */
  readonly samples: number;
  readonly layers: readonly number[];
  readonly bounds: ActivationBounds;
  readonly bias: boolean;
  /** ‖X̃‖_F (‖X‖_F without biases). */
  readonly normX: number;
  readonly normY: number;
  /** ‖W̃_i^0‖_F, index i = 1…N (index 0 is NaN). */
  readonly weightNorms: readonly number[];
  /** ‖V_i^0‖_F and ‖Λ_i^0‖_F, index i = 1…N (index 0 is NaN). */
  readonly initialVNorms: readonly number[];
  readonly initialLambdaNorms: readonly number[];
}

/** The constants of Appendix A. NaN where undefined (C3 and what uses it when β_N ≤ 3). */
export interface TheoryConstants {
  readonly L0: number;
  readonly L1: number;
  readonly L2: number;
  /** (36) L3 = 2 (L1² + L2 L0 + L2). */
  readonly L3: number;
  /** (37) γ = max_i ‖W_i^0‖_F. */
  readonly gamma: number;
  /** (38) d_min = min_{1≤i≤N−1} d_i. */
  readonly dMin: number;
  /** (39) f_min = √6 (√(3 L1) + 2 (L0 L3)^{1/2} (n d_min)^{1/4}). */
  readonly fMin: number;
  /** (40) α3 = (f_min / L1)². (46) is equivalent to α3 ≥ 24N + 1, the form (86) the proof uses. */
  readonly alpha3: number;
  /** (41) C3 = max{C3 data term, C3 target term}; NaN when β_N ≤ 3. */
  readonly C3: number;
  /** max_{0≤j≤N−2} 2 L0 (n d_{j+1})^{1/2} / γ^j, the first part of (41). */
  readonly c3DataTerm: number;
  /** ‖Y‖_F / ((β_N − 3) γ^{N−1}), the second part of (41); NaN when β_N ≤ 3. */
  readonly c3TargetTerm: number;
  /** Whether C3 is defined (β_N > 3). */
  readonly c3Defined: boolean;
  /** λ̄ (max over 2 ≤ i ≤ N−1 of the two printed terms); 0 when N = 2 (no such i). */
  readonly lambdaBar: number;
  /** λ̂. */
  readonly lambdaHat: number;
  /** ‖X̃‖_F and ‖Y‖_F used above. */
  readonly normX: number;
  readonly normY: number;
  readonly n: number;
  readonly N: number;
}

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

const BETA_N_MIN = 3.5;

/** Above this a suggested β or λ is called astronomically large. */
export const ASTRONOMICAL = 1e6;

function frobenius(m: HostMatrix): number {
  let s = 0;
  for (let k = 0; k < m.data.length; k++) s += m.data[k] * m.data[k];
  return Math.sqrt(s);
}

/** W̃ with its bias column (a zero one appended when given without it and biases are on). */
function withBiasColumn(w: HostMatrix, rows: number, fanIn: number, bias: boolean, i: number): HostMatrix {
  const cols = fanIn + (bias ? 1 : 0);
  if (w.rows !== rows || (w.cols !== cols && !(bias && w.cols === fanIn))) {
    throw new InvalidProblemError(`W${i} is ${w.rows}×${w.cols} but layer ${i} needs ${rows}×${fanIn}${bias ? ` (or ${rows}×${cols} with its bias column)` : ''}`);
  }
  if (w.cols === cols) return w;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < fanIn; c++) data[r * cols + c] = w.data[r * fanIn + c];
  return { rows, cols, data };
}

/**
 * V_i^0 of (7) on the host in f64: V_i^0 = σ(W̃_i^0 Ṽ_{i−1}^0) for i < N, V_N^0 = W̃_N^0 Ṽ_{N−1}^0, Ṽ_0 = X̃. Returns
 * V_1^0 … V_N^0 at indices 1…N (index 0 holds X).
 */
export function initialActivations(setting: Pick<TheorySetting, 'x' | 'layers' | 'activation' | 'weights' | 'bias'>): HostMatrix[] {
  const { x, layers, activation, bias } = setting;
  const N = layers.length - 1;
  const n = x.cols;
  const out: HostMatrix[] = [x];
  let prev: ArrayLike<number> = x.data;
  for (let i = 1; i <= N; i++) {
    const fanIn = layers[i - 1];
    const rows = layers[i];
    const w = withBiasColumn(setting.weights[i - 1], rows, fanIn, bias, i);
    const cols = w.cols;
    const z = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      const zRow = r * n;
      for (let c = 0; c < fanIn; c++) {
        const wv = w.data[r * cols + c];
        if (wv === 0) continue;
        const aRow = c * n;
        for (let s = 0; s < n; s++) z[zRow + s] += wv * prev[aRow + s];
      }
      if (bias) {
        const b = w.data[r * cols + fanIn];
        for (let s = 0; s < n; s++) z[zRow + s] += b;
      }
    }
    if (i < N) for (let k = 0; k < z.length; k++) z[k] = activation.sigma(z[k]);
    out.push({ rows, cols: n, data: z });
    prev = z;
  }
  return out;
}

function checkSetting(setting: TheorySetting): void {
  const { layers, x, y, weights, activation } = setting;
  if (!Array.isArray(layers) || layers.length < 3) throw new InvalidProblemError(`layers must list d_0…d_N with N ≥ 2, got [${layers?.join(', ') ?? ''}]`);
  for (const d of layers) if (!Number.isInteger(d) || d < 1) throw new InvalidProblemError(`layer widths must be positive integers, got ${d}`);
  const N = layers.length - 1;
  if (x.rows !== layers[0]) throw new InvalidProblemError(`X has ${x.rows} rows but d_0 is ${layers[0]}`);
  if (y.rows !== layers[N]) throw new InvalidProblemError(`Y has ${y.rows} rows but d_N is ${layers[N]}`);
  if (x.cols !== y.cols || x.cols < 1) throw new InvalidProblemError(`X has ${x.cols} samples and Y has ${y.cols}: they must agree and be ≥ 1`);
  if (weights.length !== N) throw new InvalidProblemError(`${weights.length} initial weights given but N = ${N}`);
  const { L0, L1, L2 } = activation.bounds;
  for (const [name, v] of [['L0', L0], ['L1', L1], ['L2', L2]] as const) {
    if (!(Number.isFinite(v) && v > 0)) {
      throw new InvalidProblemError(`Theorem 3 needs finite positive activation bounds (Assumption 1); ${name} = ${v}`);
    }
  }
}

/** Computes the parameter-independent quantities of a setting (norms, V^0 and Λ^0 norms). */
export function prepareTheorySetting(setting: TheorySetting | PreparedTheorySetting): PreparedTheorySetting {
  if ('kind' in setting && setting.kind === 'prepared-theory-setting') return setting;
  const s = setting as TheorySetting;
  checkSetting(s);
  const { layers, bias, x, y } = s;
  const N = layers.length - 1;
  const n = x.cols;
  const weightNorms = [NaN];
  for (let i = 1; i <= N; i++) weightNorms.push(frobenius(withBiasColumn(s.weights[i - 1], layers[i], layers[i - 1], bias, i)));
  const normXRaw = frobenius(x);
  const normX = bias ? Math.sqrt(normXRaw * normXRaw + n) : normXRaw;
  let initialVNorms: number[];
  let initialLambdaNorms: number[];
  if (s.initial) {
    const { V, Lambda } = s.initial;
    initialVNorms = [NaN];
    initialLambdaNorms = [NaN];
    for (let i = 1; i <= N; i++) {
      if (!V[i] || !Lambda[i]) throw new InvalidProblemError(`initial iterate lacks V${i} or Λ${i}`);
      initialVNorms.push(frobenius(V[i]));
      initialLambdaNorms.push(frobenius(Lambda[i]));
    }
  } else {
    const v0 = initialActivations(s);
    initialVNorms = v0.map((m, i) => (i === 0 ? NaN : frobenius(m)));
    initialLambdaNorms = v0.map((_, i) => (i === 0 ? NaN : 0));
  }
  const gamma = Math.max(...weightNorms.slice(1));
  if (!(gamma > 0 && Number.isFinite(gamma))) throw new InvalidProblemError(`γ = max ‖W_i^0‖_F is ${gamma}: the constants (41) divide by powers of γ`);
  return {
    kind: 'prepared-theory-setting',
    depth: N,
    samples: n,
    layers: [...layers],
    bounds: { ...s.activation.bounds },
    bias,
    loss: { name: s.loss?.name ?? 'squared', quadratic: s.loss?.quadratic ?? true },
    normX,
    normY: frobenius(y),
    weightNorms,
    initialVNorms,
    initialLambdaNorms,
  };
}

/** C3 of (41) and its two parts for a given β_N. */
function c3Of(p: PreparedTheorySetting, gamma: number, betaN: number): { C3: number; data: number; target: number; defined: boolean } {
  const { L0 } = p.bounds;
  const N = p.depth;
  const n = p.samples;
  let data = -Infinity;
  for (let j = 0; j <= N - 2; j++) data = Math.max(data, (2 * L0 * Math.sqrt(n * p.layers[j + 1])) / gamma ** j);
  if (!(betaN > 3)) return { C3: NaN, data, target: NaN, defined: false };
  const target = p.normY / ((betaN - 3) * gamma ** (N - 1));
  return { C3: Math.max(data, target), data, target, defined: true };
}

/** The two terms of the maximum in (44) for layer i (1 ≤ i ≤ N−2), given C3. */
function ratioTerms44(p: PreparedTheorySetting, L3: number, gamma: number, C3: number, i: number): [number, number] {
  const { L1, L2 } = p.bounds;
  const N = p.depth;
  const g2 = gamma * gamma;
  const first = 6 * Math.sqrt(N) * (2 * L1 * L1 + (4 * L3 + L2) * C3 * gamma ** i) * g2;
  const root = Math.sqrt(3 * L1) + Math.sqrt(2 * L3 * C3 * gamma ** i);
  const second = 6 * root * root * g2;
  return [first, second];
}

/** The two printed terms of λ̄ for layer i (2 ≤ i ≤ N−1). */
function lambdaBarTerms(p: PreparedTheorySetting, L3: number, gamma: number, C3: number, betas: readonly number[], i: number): [number, number] {
  const { L0, L1, L2 } = p.bounds;
  const n = p.samples;
  const beta = betas[i - 1];
  const inner = 4 * C3 * gamma ** (i - 1) + L0 * Math.sqrt(n * p.layers[i]);
  const first = 3 * L1 * C3 * beta * gamma ** (i - 3) * inner * (1 + Math.sqrt((6 * L3 * C3 * C3 * gamma ** (2 * i - 2)) / (L1 * inner)));
  const f = 1 + (3 / L1) * L2 * L3 * gamma ** (i - 1);
  const second = (1 / 6) * f * f * C3 * C3 * gamma ** (2 * (i - 2)) * beta;
  return [first, second];
}

/** λ̂. */
function lambdaHatOf(p: PreparedTheorySetting, L3: number, gamma: number, C3: number, beta1: number): number {
  const { L0, L1 } = p.bounds;
  const inner = 4 * C3 + L0 * Math.sqrt(p.samples * p.layers[1]);
  return L1 * beta1 * p.normX * inner / gamma * (1 + Math.sqrt((2 * L3 * C3 * p.normX * gamma) / (L1 * inner)));
}

/** The constants (36)-(41), λ̄ and λ̂ for a setting and parameters. */
export function theoryConstants(setting: TheorySetting | PreparedTheorySetting, params: TheoryParameters): TheoryConstants {
  const p = prepareTheorySetting(setting);
  const { L0, L1, L2 } = p.bounds;
  const N = p.depth;
  const n = p.samples;
  checkParameters(N, params);
  const L3 = 2 * (L1 * L1 + L2 * L0 + L2);
  const gamma = Math.max(...p.weightNorms.slice(1));
  const dMin = Math.min(...p.layers.slice(1, N));
  const fMin = Math.sqrt(6) * (Math.sqrt(3 * L1) + 2 * Math.sqrt(L0 * L3) * (n * dMin) ** 0.25);
  const alpha3 = (fMin / L1) ** 2;
  const c3 = c3Of(p, gamma, params.betas[N - 1]);
  let lambdaBar = N >= 3 ? -Infinity : 0;
  for (let i = 2; i <= N - 1; i++) lambdaBar = Math.max(lambdaBar, ...lambdaBarTerms(p, L3, gamma, c3.C3, params.betas, i));
  const lambdaHat = lambdaHatOf(p, L3, gamma, c3.C3, params.betas[0]);
  return {
    L0,
    L1,
    L2,
    L3,
    gamma,
    dMin,
    fMin,
    alpha3,
    C3: c3.C3,
    c3DataTerm: c3.data,
    c3TargetTerm: c3.target,
    c3Defined: c3.defined,
    lambdaBar,
    lambdaHat,
    normX: p.normX,
    normY: p.normY,
    n,
    N,
  };
}

function checkParameters(N: number, params: TheoryParameters): void {
  if (params.betas.length !== N) throw new InvalidProblemError(`${params.betas.length} values of β given but N = ${N}`);
  for (const b of params.betas) if (!(b > 0 && Number.isFinite(b))) throw new InvalidProblemError(`every β_i must be a finite number > 0, got ${b}`);
  if (!(params.lambda > 0 && Number.isFinite(params.lambda))) throw new InvalidProblemError(`λ must be a finite number > 0, got ${params.lambda}`);
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

/**
 * The theory setting of a run: data, widths, activation, bias flag and the initial weights the solver would use
 * (drawn by the configured scheme and seed, or the given ones). β and λ are those of the configuration.
 */
export function theoryInputFromConfig(data: TrainingData, config: AdmmConfig): TheoryInput {
  const resolved = resolveProblem(data, config);
  const init = resolved.init;
  const weights = 'weights' in init
    ? init.weights
    : drawWeights(resolved.layers, { scheme: init.scheme, seed: init.seed, scale: init.scale, mode: init.mode, bias: resolved.bias });
  return {
    x: data.x,
    y: data.y,
    layers: resolved.layers,
    activation: resolved.activation,
    weights,
    bias: resolved.bias,
    loss: resolved.loss,
    betas: resolved.betas,
    lambda: resolved.lambda,
  };
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return 'undefined';
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

/** A human-readable report: the constants, then one line per hypothesis (id, holds/fails, lhs, rhs, margin), then notes. */
export function formatTheoryReport(report: TheoryReport): string {
  const c = report.constants;
  const lines: string[] = [];
  lines.push(
    `constants: L0=${fmt(c.L0)} L1=${fmt(c.L1)} L2=${fmt(c.L2)} L3=${fmt(c.L3)} γ=${fmt(c.gamma)} d_min=${c.dMin} f_min=${fmt(c.fMin)} α3=${fmt(c.alpha3)} ` +
      `C3=${fmt(c.C3)} λ̄=${fmt(c.lambdaBar)} λ̂=${fmt(c.lambdaHat)} (n=${c.n}, N=${c.N}, ‖X‖=${fmt(c.normX)}, ‖Y‖=${fmt(c.normY)}${report.bias ? ', biases absorbed' : ''})`,
  );
  lines.push(`parameters: β=[${report.parameters.betas.map(fmt).join(', ')}] λ=${fmt(report.parameters.lambda)}`);
  const width = Math.max(...report.hypotheses.map((h) => h.id.length));
  for (const h of report.hypotheses) {
    const status = !h.defined ? 'undefined' : h.holds ? 'holds' : 'FAILS';
    const margin = h.marginKind === 'ratio' ? `lhs/rhs=${fmt(h.margin)}` : `lhs−rhs=${fmt(h.margin)}`;
    lines.push(`${h.id.padEnd(width)}  ${status.padEnd(9)}  ${h.lhsLabel}=${fmt(h.lhs)} ${h.relation === '>=' ? '≥' : '≤'} ${fmt(h.rhs)}  ${margin}`);
  }
  lines.push(report.allHold ? 'all of (42)-(47) hold' : `failing: ${report.failing.join(', ')}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
