import { availableParallelism } from 'node:os';
import { type Activation, type AdamStepOptions, NotPositiveDefiniteError, type Precision } from '@nladmm/core';
import { TypedArrayBackend, type TypedArrayMatrix, type TypedArrayScalar, checkedPrecision } from '@nladmm/cpu-backend';
import { type BlasLibrary, CBLAS, type PrecisionRoutines, loadBlas } from './library.ts';
import { LoopPool } from './loopPool.ts';

export interface BlasBackendOptions {
  /** Storage and arithmetic precision (default f64): f32 runs the library's s… routines on Float32Array storage. */
  readonly precision?: Precision;
  /**
   * Threads of the library's routines and of the elementwise loops (default: `NLADMM_THREADS`, else the machine's
   * cores).
   */
  readonly threads?: number;
  /** The CBLAS + LAPACK shared library (default: `NLADMM_BLAS`, else Debian's OpenBLAS). */
  readonly library?: string;
}

/** The thread count of `threads`, else of `NLADMM_THREADS`, else the cores; a bad value is a RangeError. */
export function resolveThreads(threads: number | undefined, env: string | undefined = process.env.NLADMM_THREADS): number {
  if (threads !== undefined) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`blas backend: threads must be an integer ≥ 1, got ${threads}`);
    return threads;
  }
  if (env !== undefined && env !== '') {
    const value = Number(env);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`blas backend: NLADMM_THREADS must be an integer ≥ 1, got '${env}'`);
    return value;
  }
  return availableParallelism();
}

const trans = (t: boolean): number => (t ? CBLAS.Trans : CBLAS.NoTrans);

/**
 * The native CPU backend: dense products, Cholesky and the triangular solves in the system's BLAS and LAPACK,
 * called through koffi on the typed arrays themselves (no copies); the elementwise steps are the JavaScript
 * reference's loops (TypedArrayBackend), spread over the cores by worker threads on shared memory (LoopPool).
 * f64 and f32 each compute in their own precision. For a fixed thread count the results are the same bits run to run.
 */
export class BlasBackend extends TypedArrayBackend {
  readonly name = 'blas';
  readonly library: BlasLibrary;
  readonly threads: number;
  readonly #routines: PrecisionRoutines;
  readonly #pool: LoopPool;
  /** potrf's by-reference arguments: n, lda, info. */
  readonly #potrfArgs = [new Int32Array(1), new Int32Array(1), new Int32Array(1)] as const;

  constructor(options: BlasBackendOptions = {}) {
    super(checkedPrecision('blas', options.precision));
    this.threads = resolveThreads(options.threads);
    this.library = loadBlas(options.library);
    this.#routines = this.precision === 'f64' ? this.library.f64 : this.library.f32;
    this.#pool = new LoopPool(this.threads);
  }

  describe(): string {
    return `blas (${this.precision}, ${this.library.vendor}, ${this.threads} thread${this.threads === 1 ? '' : 's'}: ${this.library.path})`;
  }

  /**
   * How many threads run the elementwise steps of `act` (on operands of at least 2^15 elements): the backend's
   * thread count, or 1 for an activation whose σ, σ′ cannot run in a worker thread (they use state outside
   * themselves), whose steps then run on the calling thread.
   */
  elementwiseThreads(act: Activation): number {
    return this.#pool.threadsFor(act);
  }

  // ---- memory: shared with the loop workers ----

  protected override newStorage(length: number): Float64Array | Float32Array {
    return LoopPool.storage(length, this.precision === 'f32');
  }

  protected override _free(m: TypedArrayMatrix): void {
    this.#pool.forget(m.data);
    super._free(m);
  }

  // ---- dense linear algebra ----

  protected _gemm(alpha: number, A: TypedArrayMatrix, transA: boolean, B: TypedArrayMatrix, transB: boolean, beta: number, C: TypedArrayMatrix, { m, n, k }: { m: number; n: number; k: number }): void {
    if (m === 0 || n === 0) return;
    if (k === 0) {
      this.scale(C, beta);
      return;
    }
    this.#useThreads();
    this.#routines.gemm(CBLAS.RowMajor, trans(transA), trans(transB), m, n, k, alpha, A.data, A.ld, B.data, B.ld, beta, C.data, C.ld);
  }

  protected _gram(alpha: number, A: TypedArrayMatrix, transA: boolean, beta: number, C: TypedArrayMatrix, { n, k }: { n: number; k: number }): void {
    if (n === 0) return;
    if (k === 0) {
      this.scale(C, beta);
      return;
    }
    this.#useThreads();
    // Row-major A Aᵀ is syrk's NoTrans. Only the lower triangle is computed; mirroring it makes C exactly symmetric.
    this.#routines.syrk(CBLAS.RowMajor, CBLAS.Lower, trans(transA), n, k, alpha, A.data, A.ld, beta, C.data, C.ld);
    this.mirrorLower(C);
  }

  // ---- symmetric positive definite systems ----

  protected _cholesky(M: TypedArrayMatrix): void {
    const n = M.rows;
    if (n === 0) return;
    this.#useThreads();
    // A row-major lower triangle is a column-major upper one: potrf with uplo 'U' factors A = UᵀU with U = Lᵀ.
    const [order, lda, info] = this.#potrfArgs;
    order[0] = n;
    lda[0] = M.ld;
    info[0] = 0;
    this.#routines.potrf('U', order, M.data, lda, info);
    const data = M.data;
    if (info[0] < 0) throw new Error(`cholesky: LAPACK potrf refused its argument ${-info[0]}`);
    // potrf stops at the first pivot ≤ 0, leaving it on the diagonal; it lets a NaN pivot through (NaN ≤ 0 is
    // false), which the contract makes an error too.
    const last = info[0] > 0 ? info[0] : n;
    for (let j = 0; j < last; j++) {
      const pivot = data[j * M.ld + j];
      if (!(pivot > 0)) throw new NotPositiveDefiniteError(j, pivot, n);
    }
  }

  protected _solveLeft(L: TypedArrayMatrix, B: TypedArrayMatrix): void {
    const n = L.rows;
    if (n === 0 || B.cols === 0) return;
    this.#useThreads();
    // (L Lᵀ)⁻¹ B: L Y = B, then Lᵀ X = Y.
    const { trsm } = this.#routines;
    trsm(CBLAS.RowMajor, CBLAS.Left, CBLAS.Lower, CBLAS.NoTrans, CBLAS.NonUnit, n, B.cols, 1, L.data, L.ld, B.data, B.ld);
    trsm(CBLAS.RowMajor, CBLAS.Left, CBLAS.Lower, CBLAS.Trans, CBLAS.NonUnit, n, B.cols, 1, L.data, L.ld, B.data, B.ld);
  }

  protected _solveRight(L: TypedArrayMatrix, B: TypedArrayMatrix): void {
    const n = L.rows;
    if (n === 0 || B.rows === 0) return;
    this.#useThreads();
    // B (L Lᵀ)⁻¹: Y Lᵀ = B, then X L = Y.
    const { trsm } = this.#routines;
    trsm(CBLAS.RowMajor, CBLAS.Right, CBLAS.Lower, CBLAS.Trans, CBLAS.NonUnit, B.rows, n, 1, L.data, L.ld, B.data, B.ld);
    trsm(CBLAS.RowMajor, CBLAS.Right, CBLAS.Lower, CBLAS.NoTrans, CBLAS.NonUnit, B.rows, n, 1, L.data, L.ld, B.data, B.ld);
  }

  // ---- the elementwise steps on every core ----

  protected override _axpby(alpha: number, X: TypedArrayMatrix, beta: number, Y: TypedArrayMatrix): void {
    if (this.#pool.parallel(X.rows * X.cols)) this.#pool.axpby(alpha, X, beta, Y);
    else super._axpby(alpha, X, beta, Y);
  }

  protected override _adamStep(G: TypedArrayMatrix, M: TypedArrayMatrix, V: TypedArrayMatrix, W: TypedArrayMatrix, options: AdamStepOptions): void {
    if (this.#pool.parallel(G.rows * G.cols)) this.#pool.adamStep(G, M, V, W, options);
    else super._adamStep(G, M, V, W, options);
  }

  protected override _activate(act: Activation, Z: TypedArrayMatrix, O: TypedArrayMatrix): void {
    if (this.#pool.parallel(Z.rows * Z.cols, act)) this.#pool.activate(act, Z, O);
    else super._activate(act, Z, O);
  }

  protected override _multiplierStep(act: Activation, S: TypedArrayMatrix, V: TypedArrayMatrix, Lambda: TypedArrayMatrix, beta: number, withDerivative: boolean, O: TypedArrayMatrix): void {
    if (this.#pool.parallel(S.rows * S.cols, act)) this.#pool.multiplierStep(act, S, V, Lambda, beta, withDerivative, O);
    else super._multiplierStep(act, S, V, Lambda, beta, withDerivative, O);
  }

  // ---- reductions into device scalars: the library's dot (accumulated in double), max-norms on every core ----

  protected override _maxAbs(out: TypedArrayScalar, A: TypedArrayMatrix, B: TypedArrayMatrix | undefined, scaleB: number): void {
    if (this.#pool.parallel(A.rows * A.cols)) out.value = this.round(this.#pool.maxAbs(A, B, scaleB));
    else super._maxAbs(out, A, B, scaleB);
  }

  protected override _sumSquares(out: TypedArrayScalar, A: TypedArrayMatrix): void {
    out.value = this.round(this.#dot(A, A));
  }

  protected override _dot(out: TypedArrayScalar, A: TypedArrayMatrix, B: TypedArrayMatrix): void {
    out.value = this.round(this.#dot(A, B));
  }

  protected override _dispose(): void {
    super._dispose();
    this.#pool.dispose();
  }

  // ---- internals ----

  /** The library's thread count is process-wide: set this backend's before each call into it. */
  #useThreads(): void {
    this.library.setThreads(this.threads);
  }

  /** ⟨A, B⟩: one call for a packed pair, else one per row (summed in double). */
  #dot(A: TypedArrayMatrix, B: TypedArrayMatrix): number {
    const { rows, cols } = A;
    if (rows === 0 || cols === 0) return 0;
    this.#useThreads();
    const { dot } = this.#routines;
    if (A.ld === cols && B.ld === cols) return dot(rows * cols, A.data, 1, B.data, 1);
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += dot(cols, A.data.subarray(r * A.ld), 1, B.data.subarray(r * B.ld), 1);
    return sum;
  }
}
