import type { Activation } from './activation.ts';
import type { Loss } from './loss.ts';

/** Numeric precision of a backend's storage and arithmetic. */
export type Precision = 'f32' | 'f64';

/**
 * A dense row-major matrix owned by a backend. Element (r, c) lives at `r * ld + c` of its storage.
 * A view (see {@link Backend.view}) is a leading block of another matrix: it shares the storage and the
 * leading dimension `ld`, and is never freed on its own.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Leading dimension: the distance between the starts of two consecutive rows (≥ cols). */
  readonly ld: number;
}

/**
 * A number that lives where the backend computes (one float in a GPU buffer, say). Algorithm 1's step
 * sizes (20)/(21) are computed from max-norms into device scalars so that no readback is needed inside an
 * iteration; they are read on the host only with {@link Backend.readScalar} or {@link Backend.readScalars}.
 */
export interface DeviceScalar {
  readonly deviceScalar: true;
}

/**
 * The verbs Algorithm 1 needs from a compute backend. Nothing ADMM-specific lives here: dense linear algebra,
 * Cholesky solves, the activation's elementwise steps and reductions. All methods except the `Promise`
 * returning ones enqueue work and return at once; a backend may run them eagerly (CPU) or batch them (GPU).
 * Errors a backend can only detect on the device (a non-positive Cholesky pivot) may surface at the next
 * {@link Backend.sync}, download or readScalar instead of at the call. Reads (download, readScalar, readScalars)
 * return the values as of the call: work enqueued after it does not change what they resolve to, so several reads
 * can be started and awaited together (one wait for the device instead of one per read).
 */
export interface Backend {
  /** Short name, e.g. `cpu` or `webgpu`. */
  readonly name: string;
  readonly precision: Precision;
  /** A one-line description of the device (adapter, precision). */
  describe(): string;

  // ---- memory ----
  /** A new zero-filled rows × cols matrix (ld = cols). */
  alloc(rows: number, cols: number): Matrix;
  /** Copies `data` (row-major, rows × cols, length exactly rows·cols) into `dst` (a matrix or a view). */
  upload(dst: Matrix, data: ArrayLike<number>): void;
  /** The matrix as a packed row-major Float64Array of rows × cols. */
  download(src: Matrix): Promise<Float64Array>;
  /** Releases a matrix made by {@link alloc}. Freeing a view is an error. */
  free(m: Matrix): void;
  /** The leading rows × cols block of `m`, sharing its storage. */
  view(m: Matrix, rows: number, cols: number): Matrix;
  /** dst ← src (same shape). */
  copy(src: Matrix, dst: Matrix): void;
  /** dst ← value everywhere. */
  fill(dst: Matrix, value: number): void;

  // ---- device scalars ----
  /** A new device scalar holding `value`. */
  scalar(value?: number): DeviceScalar;
  readScalar(s: DeviceScalar): Promise<number>;
  /**
   * The values of several device scalars (in the order given) in one readback: a GPU backend waits for its queue
   * once instead of once per scalar.
   */
  readScalars(list: readonly DeviceScalar[]): Promise<number[]>;
  freeScalar(s: DeviceScalar): void;
  /** out ← a · s + b, on the device (used for the step rules of (20)-(22)). */
  scalarAffine(out: DeviceScalar, s: DeviceScalar, a: number, b: number): void;

  // ---- dense linear algebra ----
  /**
   * C ← α op(A) op(B) + β C, with op(X) = Xᵀ when the matching flag is set. With β = 0, C is only written.
   * C must not share storage with A or B (the same holds for gram's C and a solve's B and L).
   */
  gemm(alpha: number, a: Matrix, transA: boolean, b: Matrix, transB: boolean, beta: number, c: Matrix): void;
  /** C ← α A Aᵀ + β C (or α AᵀA + β C when `transA`); C (symmetric when β ≠ 0) is fully written, exactly symmetric. */
  gram(alpha: number, a: Matrix, transA: boolean, beta: number, c: Matrix): void;
  /** out ← c · S + shift · I for square S, with c a device scalar (the system matrices of (18), (19)). */
  shiftedScale(s: Matrix, c: DeviceScalar, shift: number, out: Matrix): void;
  /** Y ← α X + β Y (same shape; Y is read even when β = 0). */
  axpby(alpha: number, x: Matrix, beta: number, y: Matrix): void;

  /**
   * One Adam step on W (the backprop baseline's optimizer), elementwise with gradient G and moments M, V (all the
   * same shape, updated in place): M ← β1 M + (1 − β1) G, V ← β2 V + (1 − β2) G², then
   * W ← W − lr · (M / (1 − β1^t)) / (√(V / (1 − β2^t)) + ε), for step t ≥ 1.
   */
  adamStep(g: Matrix, m: Matrix, v: Matrix, w: Matrix, options: AdamStepOptions): void;

  // ---- symmetric positive definite systems ----
  /**
   * In-place Cholesky factorisation M = L Lᵀ of a symmetric positive definite matrix; L is left in the lower
   * triangle (the strict upper triangle is unspecified afterwards). A non-positive pivot is an error
   * ({@link NotPositiveDefiniteError}), never a NaN.
   */
  cholesky(m: Matrix): void;
  /** B ← B (L Lᵀ)⁻¹ for a factor made by {@link cholesky} (right-hand sides are the rows of B). */
  solveRight(l: Matrix, b: Matrix): void;
  /** B ← (L Lᵀ)⁻¹ B for a factor made by {@link cholesky} (right-hand sides are the columns of B). */
  solveLeft(l: Matrix, b: Matrix): void;

  // ---- the activation's elementwise steps ----
  /**
   * Makes the backend ready to run an activation's elementwise steps (the WebGPU backend compiles its WGSL
   * snippets here). Rejects, naming the activation and quoting the compiler, when they cannot be used.
   */
  prepareActivation(act: Activation): Promise<void>;
  /** out ← σ(Z) elementwise (out may be Z). */
  activate(act: Activation, z: Matrix, out: Matrix): void;
  /**
   * out ← Λ + β (σ(S) − V), times σ′(S) elementwise when `withDerivative`. Without the derivative this is the
   * multiplier update (13) and the right-hand side term of (19); with it, the gradient of the linearised
   * penalty in (16)/(17): β (σ(S) − B) ⊙ σ′(S) with B = V − Λ/β. `out` may be Λ, V or S.
   */
  multiplierStep(act: Activation, s: Matrix, v: Matrix, lambda: Matrix, beta: number, withDerivative: boolean, out: Matrix): void;

  // ---- the loss's column steps (d_N × n matrices, one sample per column) ----
  /**
   * Makes the backend ready to run a loss's column steps on columns of `width` rows (the WebGPU backend compiles
   * its WGSL bodies here). Rejects, naming the loss and quoting the compiler, when they cannot be used.
   */
  prepareLoss(loss: Loss, width: number): Promise<void>;
  /** out ← ℓ(V; Y) = Σ_c ℓ(v_c; y_c). */
  lossValue(loss: Loss, v: Matrix, y: Matrix, out: DeviceScalar): void;
  /** out ← ∇ℓ(V; Y), column by column (`out` may be V). */
  lossGradient(loss: Loss, v: Matrix, y: Matrix, out: Matrix): void;
  /**
   * The V_N step with a loss plugin: every column v_c ← argmin_v ℓ(v; y_c) + β/2 ‖v − t_c‖², by the Newton iteration
   * of core's lossProx.ts started from v_c's current value, to {@link PROX_TOLERANCE} of the backend's precision.
   * `v` must not share storage with `t` or `y`.
   */
  lossProx(loss: Loss, t: Matrix, y: Matrix, beta: number, v: Matrix): void;

  // ---- reductions into device scalars ----
  /** out ← Σ A². */
  sumSquares(out: DeviceScalar, a: Matrix): void;
  /**
   * out ← max |A + b · B| (B omitted: max |A|; b defaults to 1): the max-norms of (20), (21) with B = Λ,
   * b = −1/β. A NaN anywhere gives NaN.
   */
  maxAbs(out: DeviceScalar, a: Matrix, b?: Matrix, scaleB?: number): void;
  /** out ← ⟨A, B⟩ = Σ A ⊙ B. */
  dot(out: DeviceScalar, a: Matrix, b: Matrix): void;

  // ---- lifecycle ----
  /** Waits for all queued work; rethrows errors detected on the device. */
  sync(): Promise<void>;
  /** Releases everything the backend holds. */
  dispose(): void;
}

/**
 * A Cholesky factorisation met a pivot ≤ 0 (or NaN): the matrix is not (numerically) positive definite.
 * `pivotIndex` counts from 0; the matrix's contents are unspecified afterwards.
 */
export class NotPositiveDefiniteError extends Error {
  constructor(
    readonly pivotIndex: number,
    readonly pivot: number,
    readonly size: number,
    context?: string,
  ) {
    super(`Cholesky: matrix of order ${size} is not positive definite (pivot ${pivotIndex} is ${pivot})${context ? ` ${context}` : ''}`);
    this.name = 'NotPositiveDefiniteError';
  }
}

/** Checks that a backend call received matrices of compatible shapes; throws a message naming them. */
export function assertShape(what: string, m: Matrix, rows: number, cols: number): void {
  if (m.rows !== rows || m.cols !== cols) {
    throw new RangeError(`${what}: expected a ${rows}×${cols} matrix, got ${m.rows}×${m.cols}`);
  }
}

/** The hyper-parameters of {@link Backend.adamStep}. */
export interface AdamStepOptions {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** The step count t ≥ 1 (for the bias corrections). */
  readonly step: number;
}
