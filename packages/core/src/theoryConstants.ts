/**
 * The constants of Theorem 3 (Appendix A of Zeng, Lin & Yao): the setting a check depends on and its preparation
 * (V^0 of (7), the norms), (36)-(41), λ̄ and λ̂. The hypotheses (42)-(47) are checked in theoryHypotheses.ts, the
 * smallest parameters meeting (42)-(45) are suggested in theorySuggestion.ts, the coefficients of Lemma 1 are in
 * theoryLyapunov.ts; the report text is the CLI's.
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
 *
 * Everything here runs on the host in f64 with plain loops (no backend).
 */
import type { Activation, ActivationBounds } from './activation.ts';
import type { Loss } from './loss.ts';
import { drawWeights } from './init.ts';
import { type AdmmConfig, type HostMatrix, type TrainingData, InvalidProblemError, resolveProblem } from './problem.ts';
import type { Communicator } from './communicator.ts';
import { allReduceNumbers } from './sharding.ts';

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

/** The smallest β_N of (42). */
export const BETA_N_MIN = 3.5;

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

/**
 * {@link prepareTheorySetting} of a sample-sharded run: `setting` holds this rank's samples (X, Y and any initial V, Λ
 * are its columns); n and the squared norms ‖X̃‖², ‖Y‖², ‖V_i^0‖², ‖Λ_i^0‖² are summed over the ranks, so every rank
 * gets the whole data's setting (W^0 is the same on every rank).
 */
export async function prepareShardedTheorySetting(setting: TheorySetting, communicator: Communicator): Promise<PreparedTheorySetting> {
  const local = prepareTheorySetting(setting);
  if (communicator.size === 1) return local;
  const N = local.depth;
  const squares = [local.samples, local.normX ** 2, local.normY ** 2, ...local.initialVNorms.slice(1).map((v) => v * v), ...local.initialLambdaNorms.slice(1).map((v) => v * v)];
  const sums = await allReduceNumbers(communicator, squares);
  return {
    ...local,
    samples: sums[0],
    normX: Math.sqrt(sums[1]),
    normY: Math.sqrt(sums[2]),
    initialVNorms: [NaN, ...sums.slice(3, 3 + N).map(Math.sqrt)],
    initialLambdaNorms: [NaN, ...sums.slice(3 + N).map(Math.sqrt)],
  };
}

/** C3 of (41) and its two parts for a given β_N. */
export function c3Of(p: PreparedTheorySetting, gamma: number, betaN: number): { C3: number; data: number; target: number; defined: boolean } {
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
export function ratioTerms44(p: PreparedTheorySetting, L3: number, gamma: number, C3: number, i: number): [number, number] {
  const { L1, L2 } = p.bounds;
  const N = p.depth;
  const g2 = gamma * gamma;
  const first = 6 * Math.sqrt(N) * (2 * L1 * L1 + (4 * L3 + L2) * C3 * gamma ** i) * g2;
  const root = Math.sqrt(3 * L1) + Math.sqrt(2 * L3 * C3 * gamma ** i);
  const second = 6 * root * root * g2;
  return [first, second];
}

/** The two printed terms of λ̄ for layer i (2 ≤ i ≤ N−1). */
export function lambdaBarTerms(p: PreparedTheorySetting, L3: number, gamma: number, C3: number, betas: readonly number[], i: number): [number, number] {
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
export function lambdaHatOf(p: PreparedTheorySetting, L3: number, gamma: number, C3: number, beta1: number): number {
  const { L0, L1 } = p.bounds;
  const inner = 4 * C3 + L0 * Math.sqrt(p.samples * p.layers[1]);
  return L1 * beta1 * p.normX * inner / gamma * (1 + Math.sqrt((2 * L3 * C3 * p.normX * gamma) / (L1 * inner)));
}

/** The constants (36)-(41), λ̄ and λ̂ for a setting and parameters. */
/** Throws InvalidProblemError unless β has N finite positive values and λ is finite and positive. */
export function checkParameters(N: number, params: TheoryParameters): void {
  if (params.betas.length !== N) throw new InvalidProblemError(`${params.betas.length} values of β given but N = ${N}`);
  for (const b of params.betas) if (!(b > 0 && Number.isFinite(b))) throw new InvalidProblemError(`every β_i must be a finite number > 0, got ${b}`);
  if (!(params.lambda > 0 && Number.isFinite(params.lambda))) throw new InvalidProblemError(`λ must be a finite number > 0, got ${params.lambda}`);
}

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

/** A constant as reports and notes print it (4 significant exponent digits for large or small values). */
export function formatTheoryNumber(v: number): string {
  if (Number.isNaN(v)) return 'undefined';
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}
