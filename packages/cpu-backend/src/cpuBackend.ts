import type { Precision } from '@nladmm/core';
import { choleskyInPlace, solveCholeskyInPlace } from './cholesky.ts';
import { GemmWorkspace, type Strided, multiplyInto } from './gemm.ts';
import { TypedArrayBackend, type TypedArrayMatrix, checkedPrecision } from './typedArrayBackend.ts';

export interface CpuBackendOptions {
  /** Storage precision (default f64). In f32 mode every stored value is rounded to f32; kernels compute in f64. */
  readonly precision?: Precision;
}

/**
 * The reference backend: plain JavaScript on one core. Dense products go through a packed, cache-blocked
 * kernel with a 4 × 4 register block; Cholesky and the triangular solves are blocked around that kernel.
 */
export class CpuBackend extends TypedArrayBackend {
  readonly name = 'cpu';
  #workspace: GemmWorkspace | undefined;

  constructor(options: CpuBackendOptions = {}) {
    super(checkedPrecision('cpu', options.precision));
  }

  describe(): string {
    return `cpu (${this.precision}, JavaScript)`;
  }

  // ---- dense linear algebra ----

  protected _gemm(alpha: number, A: TypedArrayMatrix, transA: boolean, B: TypedArrayMatrix, transB: boolean, beta: number, C: TypedArrayMatrix, shape: { m: number; n: number; k: number }): void {
    multiplyInto(this.#gemmWorkspace(), shape.m, shape.n, shape.k, alpha, A.strided, transA, B.strided, transB, beta, C.strided, false);
  }

  protected _gram(alpha: number, A: TypedArrayMatrix, transA: boolean, beta: number, C: TypedArrayMatrix, { n, k }: { n: number; k: number }): void {
    multiplyInto(this.#gemmWorkspace(), n, n, k, alpha, A.strided, transA, A.strided, !transA, beta, C.strided, true);
    this.mirrorLower(C);
  }

  // ---- symmetric positive definite systems ----

  protected _cholesky(M: TypedArrayMatrix): void {
    this.#inFloat64(M, true, (a) => choleskyInPlace(this.#gemmWorkspace(), a, M.rows));
  }

  protected _solveLeft(L: TypedArrayMatrix, B: TypedArrayMatrix): void {
    this.#inFloat64(L, false, (factor) =>
      this.#inFloat64(B, true, (rhs) => solveCholeskyInPlace(this.#gemmWorkspace(), factor, L.rows, rhs, B.cols)),
    );
  }

  protected _solveRight(L: TypedArrayMatrix, B: TypedArrayMatrix): void {
    // B (L Lᵀ)⁻¹ = ((L Lᵀ)⁻¹ Bᵀ)ᵀ: solve on the transpose, whose right-hand sides are columns.
    const n = L.rows;
    const r = B.rows;
    const transposed = new Float64Array(n * r);
    const data = B.data;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < n; j++) transposed[j * r + i] = data[i * B.ld + j];
    }
    this.#inFloat64(L, false, (factor) =>
      solveCholeskyInPlace(this.#gemmWorkspace(), factor, n, { data: transposed, offset: 0, ld: r }, r),
    );
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < n; j++) data[i * B.ld + j] = transposed[j * r + i];
    }
  }

  protected override _dispose(): void {
    super._dispose();
    this.#workspace = undefined;
  }

  // ---- internals ----

  #gemmWorkspace(): GemmWorkspace {
    this.#workspace ??= new GemmWorkspace();
    return this.#workspace;
  }

  /**
   * Runs `fn` on f64 elements of `m`: its own storage in f64 mode; in f32 mode a packed f64 copy, rounded back
   * into `m` afterwards when `writeBack` (not if `fn` throws).
   */
  #inFloat64(m: TypedArrayMatrix, writeBack: boolean, fn: (s: Strided<Float64Array>) => void): void {
    const data = m.data;
    if (data instanceof Float64Array) {
      fn({ data, offset: 0, ld: m.ld });
      return;
    }
    const copy = new Float64Array(m.rows * m.cols);
    for (let r = 0; r < m.rows; r++) {
      for (let q = 0; q < m.cols; q++) copy[r * m.cols + q] = data[r * m.ld + q];
    }
    fn({ data: copy, offset: 0, ld: m.cols });
    if (!writeBack) return;
    for (let r = 0; r < m.rows; r++) {
      for (let q = 0; q < m.cols; q++) data[r * m.ld + q] = copy[r * m.cols + q];
    }
  }
}
