import type { Activation } from './activation.ts';
import { type Loss, squaredLoss } from './loss.ts';
import { type StepRule, paperStepRule } from './stepRule.ts';
import type { InitScheme } from './init.ts';

/** A dense row-major matrix on the host. Data sets put one sample per column: X is d_0 × n, Y is d_N × n. */
export interface HostMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array | Float32Array;
}

export function hostMatrix(rows: number, cols: number, data?: ArrayLike<number>): HostMatrix {
  const values = new Float64Array(rows * cols);
  if (data) {
    if (data.length !== rows * cols) throw new RangeError(`matrix data has ${data.length} values, expected ${rows}×${cols} = ${rows * cols}`);
    values.set(data);
  }
  return { rows, cols, data: values };
}

/** The training problem (5): inputs X = V_0 (d_0 × n) and targets Y (d_N × n), one sample per column. */
export interface TrainingData {
  readonly x: HostMatrix;
  readonly y: HostMatrix;
  /** An optional held-out set, evaluated by the metrics (loss and accuracy only). */
  readonly xTest?: HostMatrix;
  readonly yTest?: HostMatrix;
}

/** How the initial weights W^0 are chosen: drawn by a scheme, or given (e.g. read from a file). */
export type WeightInit =
  | { readonly scheme: InitScheme; readonly seed: number; readonly scale?: number; readonly mode?: 'fan_in' | 'fan_out' }
  | { readonly weights: readonly HostMatrix[] };

/** Everything that defines a run of Algorithm 1 besides the data. */
export interface AdmmConfig {
  /** Widths d_0, d_1, …, d_N (input width first, output width last); N = layers.length − 1 ≥ 2. */
  readonly layers: readonly number[];
  /** σ of the hidden layers 1…N−1 (the output layer is linear, as in (5)). */
  readonly activation: Activation;
  /** β_i > 0: one value for every layer, or N values (β_1…β_N). */
  readonly beta: number | readonly number[];
  /** λ > 0 of (5). */
  readonly lambda: number;
  /** Absorb a bias column into every W_i (footnote 1). Default true. */
  readonly bias?: boolean;
  /** h of (20)-(22) (default: {@link paperStepRule}, the paper's). */
  readonly stepRule?: StepRule;
  readonly init: WeightInit;
  /** ℓ(V_N; Y) in place of (5)'s ½‖V_N − Y‖² (default: {@link squaredLoss}, the paper's). */
  readonly loss?: Loss;
  /** β continuation (default: none, β constant as in the paper). */
  readonly betaSchedule?: BetaSchedule;
}

/**
 * β continuation: every β_i is multiplied by `factor` every `every` iterations, up to `cap`:
 * β_i^k = min(cap, β_i^0 · factor^⌊(k − 1)/every⌋) for iteration k ≥ 1. β then varies with k, which leaves the setting
 * of Lemma 2 and Theorem 1 (a fixed β); it is a function of k alone, so a resumed run repeats it exactly.
 */
export interface BetaSchedule {
  /** The factor (> 0). */
  readonly factor: number;
  /** Iterations between two multiplications (a positive integer). */
  readonly every: number;
  /** The largest β (≥ every β_i^0). */
  readonly cap: number;
}

/** β_1…β_N of iteration k ≥ 1 under a schedule (or the constant β when there is none). */
export function betasAt(betas: readonly number[], schedule: BetaSchedule | undefined, k: number): number[] {
  if (!schedule) return [...betas];
  const steps = Math.floor((Math.max(k, 1) - 1) / schedule.every);
  return betas.map((b) => Math.min(schedule.cap, b * schedule.factor ** steps));
}

/** The configuration with defaults applied and every value checked. */
export interface ResolvedConfig extends AdmmConfig {
  readonly bias: boolean;
  readonly loss: Loss;
  readonly stepRule: StepRule;
  /** β_1…β_N. */
  readonly betas: readonly number[];
  /** N. */
  readonly depth: number;
}

/** An input problem that cannot be trained: the message names it. Raised before any work is done. */
export class InvalidProblemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidProblemError';
  }
}

function invalid(message: string): never {
  throw new InvalidProblemError(message);
}

function checkFinite(what: string, m: HostMatrix): void {
  for (let k = 0; k < m.data.length; k++) {
    const value = m.data[k];
    if (!Number.isFinite(value)) {
      const row = Math.floor(k / m.cols);
      invalid(`${what} contains ${value} at row ${row}, column ${k - row * m.cols}`);
    }
  }
}

function checkMatrix(what: string, m: HostMatrix | undefined): asserts m is HostMatrix {
  if (!m) invalid(`${what} is missing`);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0) {
    invalid(`${what} has an invalid shape ${m.rows}×${m.cols}`);
  }
  if (m.data.length !== m.rows * m.cols) invalid(`${what} is ${m.rows}×${m.cols} but holds ${m.data.length} values`);
}

/** Checks the data and configuration of a run; returns the resolved configuration or throws InvalidProblemError. */
export function resolveProblem(data: TrainingData, config: AdmmConfig): ResolvedConfig {
  const { layers } = config;
  if (!Array.isArray(layers) || layers.length < 3) {
    invalid(`layers must list d_0…d_N with N ≥ 2 (at least one hidden layer), got [${layers?.join(', ') ?? ''}]`);
  }
  layers.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1) invalid(`layer width d_${i} must be a positive integer, got ${d}`);
  });
  const depth = layers.length - 1;
  checkMatrix('X', data.x);
  checkMatrix('Y', data.y);
  if (data.x.cols === 0) invalid('X has zero samples (columns)');
  if (data.x.cols !== data.y.cols) invalid(`X has ${data.x.cols} samples but Y has ${data.y.cols}`);
  if (data.x.rows !== layers[0]) invalid(`X has ${data.x.rows} rows (features) but layers[0] = d_0 is ${layers[0]}`);
  if (data.y.rows !== layers[depth]) invalid(`Y has ${data.y.rows} rows but the output width d_${depth} is ${layers[depth]}`);
  checkFinite('X', data.x);
  checkFinite('Y', data.y);
  if ((data.xTest === undefined) !== (data.yTest === undefined)) invalid('a test set needs both xTest and yTest');
  if (data.xTest && data.yTest) {
    checkMatrix('xTest', data.xTest);
    checkMatrix('yTest', data.yTest);
    if (data.xTest.rows !== layers[0]) invalid(`xTest has ${data.xTest.rows} rows but d_0 is ${layers[0]}`);
    if (data.yTest.rows !== layers[depth]) invalid(`yTest has ${data.yTest.rows} rows but d_${depth} is ${layers[depth]}`);
    if (data.xTest.cols !== data.yTest.cols) invalid(`xTest has ${data.xTest.cols} samples but yTest has ${data.yTest.cols}`);
    checkFinite('xTest', data.xTest);
    checkFinite('yTest', data.yTest);
  }
  const betas = typeof config.beta === 'number' ? new Array<number>(depth).fill(config.beta) : [...config.beta];
  if (betas.length !== depth) invalid(`beta lists ${betas.length} values but the network has N = ${depth} layers`);
  betas.forEach((b, i) => {
    if (!(typeof b === 'number' && Number.isFinite(b) && b > 0)) invalid(`beta_${i + 1} must be a finite number > 0, got ${b}`);
  });
  const { lambda } = config;
  if (!(typeof lambda === 'number' && Number.isFinite(lambda) && lambda > 0)) {
    invalid(`lambda must be a finite number > 0 (it makes every system matrix positive definite), got ${lambda}`);
  }
  const bias = config.bias ?? true;
  const loss = config.loss ?? squaredLoss;
  for (const [what, m] of [['Y', data.y], ['yTest', data.yTest]] as const) {
    if (!m || !loss.checkTarget) continue;
    const column = new Float64Array(m.rows);
    for (let c = 0; c < m.cols; c++) {
      for (let r = 0; r < m.rows; r++) column[r] = m.data[r * m.cols + c];
      const why = loss.checkTarget(column);
      if (why !== undefined) invalid(`${what} column ${c} cannot be used with the ${loss.name} loss: ${why}`);
    }
  }
  const schedule = config.betaSchedule;
  if (schedule) {
    if (!(typeof schedule.factor === 'number' && Number.isFinite(schedule.factor) && schedule.factor > 0)) {
      invalid(`the beta schedule's factor must be a finite number > 0, got ${schedule.factor}`);
    }
    if (!(Number.isInteger(schedule.every) && schedule.every >= 1)) invalid(`the beta schedule's period must be a positive integer, got ${schedule.every}`);
    const start = Math.max(...betas);
    if (!(typeof schedule.cap === 'number' && Number.isFinite(schedule.cap) && schedule.cap >= start)) {
      invalid(`the beta schedule's cap must be a finite number ≥ the largest starting beta ${start}, got ${schedule.cap}`);
    }
  }
  if ('weights' in config.init) {
    const { weights } = config.init;
    if (weights.length !== depth) invalid(`initial weights list ${weights.length} matrices but the network has N = ${depth} layers`);
    weights.forEach((w, k) => {
      const i = k + 1;
      checkMatrix(`W${i}`, w);
      const fanIn = layers[i - 1];
      const okCols = bias ? w.cols === fanIn + 1 || w.cols === fanIn : w.cols === fanIn;
      if (w.rows !== layers[i] || !okCols) {
        invalid(`W${i} is ${w.rows}×${w.cols} but layer ${i} needs ${layers[i]}×${fanIn}${bias ? ` (or ${layers[i]}×${fanIn + 1} with its bias column)` : ''}`);
      }
      checkFinite(`W${i}`, w);
    });
  }
  // Fail early when the step rule cannot serve this activation (e.g. the paper's rule with unbounded σ″).
  const stepRule = config.stepRule ?? paperStepRule;
  if (typeof stepRule?.coefficients !== 'function') invalid(`stepRule must be a step rule (e.g. paperStepRule or authorsStepRule), got ${typeof stepRule}`);
  stepRule.coefficients(config.activation.bounds);
  return { ...config, bias, betas, depth, loss, stepRule };
}
