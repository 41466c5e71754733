import { type Activation, type AdamStepOptions, CheckedBackend, type DeviceScalar, type Matrix, type Precision } from '@nladmm/core';
import { choleskyInPlace, solveCholeskyInPlace } from './cholesky.ts';
import { GemmWorkspace, type Storage, type Strided, multiplyInto } from './gemm.ts';

export interface CpuBackendOptions {
  /** Storage precision (default f64). In f32 mode every stored value is rounded to f32; kernels compute in f64. */
  readonly precision?: Precision;
}

const RELEASED = new Float64Array(0);

/** The storage of one {@link CpuBackend.alloc}, shared by the matrix and its views. */
class Allocation {
  released = false;
  constructor(
    public data: Storage,
    readonly owner: CpuBackend,
  ) {}

  release(): void {
    this.released = true;
    this.data = RELEASED;
  }
}

class CpuMatrix implements Matrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly ld: number,
    readonly allocation: Allocation,
    readonly isView: boolean,
  ) {}

  get data(): Storage {
    return this.allocation.data;
  }

  get strided(): Strided {
    return { data: this.allocation.data, offset: 0, ld: this.ld };
  }
}

class CpuScalar implements DeviceScalar {
  readonly deviceScalar = true as const;
  released = false;
  constructor(
    public value: number,
    readonly owner: CpuBackend,
  ) {}
}

/**
 * The reference backend: plain JavaScript on one core. Dense products go through a packed, cache-blocked
 * kernel with a 4 × 4 register block; Cholesky and the triangular solves are blocked around that kernel.
 */
export class CpuBackend extends CheckedBackend<CpuMatrix, CpuScalar> {
  readonly name = 'cpu';
  readonly precision: Precision;
  #allocations = new Set<Allocation>();
  #scalars = new Set<CpuScalar>();
  #workspace: GemmWorkspace | undefined;

  constructor(options: CpuBackendOptions = {}) {
    super(CpuMatrix, CpuScalar);
    const precision = options.precision ?? 'f64';
    if (precision !== 'f64' && precision !== 'f32') throw new RangeError(`cpu backend: unknown precision '${precision}'`);
    this.precision = precision;
  }

  describe(): string {
    return `cpu (${this.precision}, JavaScript)`;
  }

  // ---- memory ----

  protected _alloc(rows: number, cols: number): CpuMatrix {
    const allocation = new Allocation(this.#newStorage(rows * cols), this);
    this.#allocations.add(allocation);
    return new CpuMatrix(rows, cols, cols, allocation, false);
  }

  protected _upload(d: CpuMatrix, data: ArrayLike<number>): void {
    const out = d.data;
    for (let r = 0; r < d.rows; r++) {
      const row = r * d.ld;
      const src = r * d.cols;
      for (let c = 0; c < d.cols; c++) out[row + c] = data[src + c];
    }
  }

  protected async _download(s: CpuMatrix): Promise<Float64Array> {
    const packed = new Float64Array(s.rows * s.cols);
    const data = s.data;
    for (let r = 0; r < s.rows; r++) {
      const row = r * s.ld;
      for (let c = 0; c < s.cols; c++) packed[r * s.cols + c] = data[row + c];
    }
    return packed;
  }

  protected _free(matrix: CpuMatrix): void {
    matrix.allocation.release();
    this.#allocations.delete(matrix.allocation);
  }

  protected _view(parent: CpuMatrix, rows: number, cols: number): CpuMatrix {
    return new CpuMatrix(rows, cols, parent.ld, parent.allocation, true);
  }

  protected _copy(s: CpuMatrix, d: CpuMatrix): void {
    const from = s.data;
    const to = d.data;
    for (let r = 0; r < s.rows; r++) {
      const fromRow = r * s.ld;
      const toRow = r * d.ld;
      for (let c = 0; c < s.cols; c++) to[toRow + c] = from[fromRow + c];
    }
  }

  protected _fill(d: CpuMatrix, value: number): void {
    for (let r = 0; r < d.rows; r++) d.data.fill(value, r * d.ld, r * d.ld + d.cols);
  }

  // ---- device scalars ----

  protected _scalar(value: number): CpuScalar {
    const s = new CpuScalar(this.#round(value), this);
    this.#scalars.add(s);
    return s;
  }

  protected async _readScalars(list: readonly CpuScalar[]): Promise<number[]> {
    return list.map((s) => s.value);
  }

  protected _freeScalar(scalar: CpuScalar): void {
    scalar.released = true;
    this.#scalars.delete(scalar);
  }

  protected _scalarAffine(out: CpuScalar, s: CpuScalar, a: number, b: number): void {
    out.value = this.#round(a * s.value + b);
  }

  // ---- dense linear algebra ----

  protected _gemm(alpha: number, A: CpuMatrix, transA: boolean, B: CpuMatrix, transB: boolean, beta: number, C: CpuMatrix, shape: { m: number; n: number; k: number }): void {
    multiplyInto(this.#gemmWorkspace(), shape.m, shape.n, shape.k, alpha, A.strided, transA, B.strided, transB, beta, C.strided, false);
  }

  protected _gram(alpha: number, A: CpuMatrix, transA: boolean, beta: number, C: CpuMatrix, { n, k }: { n: number; k: number }): void {
    multiplyInto(this.#gemmWorkspace(), n, n, k, alpha, A.strided, transA, A.strided, !transA, beta, C.strided, true);
    const data = C.data;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) data[i * C.ld + j] = data[j * C.ld + i];
    }
  }

  protected _shiftedScale(S: CpuMatrix, c: CpuScalar, shift: number, O: CpuMatrix): void {
    const scale = c.value;
    const from = S.data;
    const to = O.data;
    for (let r = 0; r < S.rows; r++) {
      const fromRow = r * S.ld;
      const toRow = r * O.ld;
      for (let q = 0; q < S.cols; q++) to[toRow + q] = scale * from[fromRow + q] + (q === r ? shift : 0);
    }
  }

  protected _adamStep(G: CpuMatrix, M: CpuMatrix, V: CpuMatrix, W: CpuMatrix, options: AdamStepOptions): void {
    const { learningRate, beta1, beta2, epsilon, step } = options;
    const firstCorrection = 1 - beta1 ** step;
    const secondCorrection = 1 - beta2 ** step;
    for (let r = 0; r < G.rows; r++) {
      for (let q = 0; q < G.cols; q++) {
        const grad = G.data[r * G.ld + q];
        const mi = r * M.ld + q;
        const vi = r * V.ld + q;
        M.data[mi] = beta1 * M.data[mi] + (1 - beta1) * grad;
        V.data[vi] = beta2 * V.data[vi] + (1 - beta2) * grad * grad;
        W.data[r * W.ld + q] -= (learningRate * (M.data[mi] / firstCorrection)) / (Math.sqrt(V.data[vi] / secondCorrection) + epsilon);
      }
    }
  }

  protected _axpby(alpha: number, X: CpuMatrix, beta: number, Y: CpuMatrix): void {
    const xs = X.data;
    const ys = Y.data;
    for (let r = 0; r < X.rows; r++) {
      const xRow = r * X.ld;
      const yRow = r * Y.ld;
      for (let q = 0; q < X.cols; q++) ys[yRow + q] = alpha * xs[xRow + q] + beta * ys[yRow + q];
    }
  }

  // ---- symmetric positive definite systems ----

  protected _cholesky(M: CpuMatrix): void {
    this.#inFloat64(M, true, (a) => choleskyInPlace(this.#gemmWorkspace(), a, M.rows));
  }

  protected _solveLeft(L: CpuMatrix, B: CpuMatrix): void {
    this.#inFloat64(L, false, (factor) =>
      this.#inFloat64(B, true, (rhs) => solveCholeskyInPlace(this.#gemmWorkspace(), factor, L.rows, rhs, B.cols)),
    );
  }

  protected _solveRight(L: CpuMatrix, B: CpuMatrix): void {
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

  // ---- the activation's elementwise steps ----

  /** Nothing to compile: the CPU runs the activation's scalar functions directly. */
  protected async _prepareActivation(): Promise<void> {}

  protected _activate(act: Activation, Z: CpuMatrix, O: CpuMatrix): void {
    const from = Z.data;
    const to = O.data;
    for (let r = 0; r < Z.rows; r++) {
      const fromRow = r * Z.ld;
      const toRow = r * O.ld;
      for (let q = 0; q < Z.cols; q++) to[toRow + q] = act.sigma(from[fromRow + q]);
    }
  }

  protected _multiplierStep(act: Activation, S: CpuMatrix, V: CpuMatrix, Lambda: CpuMatrix, beta: number, withDerivative: boolean, O: CpuMatrix): void {
    const [sData, vData, lambdaData, outData] = [S.data, V.data, Lambda.data, O.data];
    for (let r = 0; r < S.rows; r++) {
      for (let q = 0; q < S.cols; q++) {
        const sValue = sData[r * S.ld + q];
        const step = lambdaData[r * Lambda.ld + q] + beta * (act.sigma(sValue) - vData[r * V.ld + q]);
        outData[r * O.ld + q] = withDerivative ? step * act.dsigma(sValue) : step;
      }
    }
  }

  // ---- reductions into device scalars ----

  protected _sumSquares(target: CpuScalar, A: CpuMatrix): void {
    const data = A.data;
    let sum = 0;
    for (let r = 0; r < A.rows; r++) {
      for (let q = 0; q < A.cols; q++) sum += data[r * A.ld + q] * data[r * A.ld + q];
    }
    target.value = this.#round(sum);
  }

  protected _maxAbs(target: CpuScalar, A: CpuMatrix, B: CpuMatrix | undefined, scaleB: number): void {
    const aData = A.data;
    const bData = B?.data;
    const bLd = B?.ld ?? 0;
    let max = 0;
    for (let r = 0; r < A.rows; r++) {
      for (let q = 0; q < A.cols; q++) {
        const element = aData[r * A.ld + q];
        const value = Math.abs(bData ? element + scaleB * bData[r * bLd + q] : element);
        // `>` is false for NaN, so NaN is caught explicitly and ends the scan.
        if (value > max) max = value;
        else if (Number.isNaN(value)) {
          target.value = NaN;
          return;
        }
      }
    }
    target.value = this.#round(max);
  }

  protected _dot(target: CpuScalar, A: CpuMatrix, B: CpuMatrix): void {
    const aData = A.data;
    const bData = B.data;
    let sum = 0;
    for (let r = 0; r < A.rows; r++) {
      for (let q = 0; q < A.cols; q++) sum += aData[r * A.ld + q] * bData[r * B.ld + q];
    }
    target.value = this.#round(sum);
  }

  // ---- lifecycle ----

  protected async _sync(): Promise<void> {}

  protected _dispose(): void {
    for (const allocation of this.#allocations) allocation.release();
    for (const scalar of this.#scalars) scalar.released = true;
    this.#allocations.clear();
    this.#scalars.clear();
    this.#workspace = undefined;
  }

  // ---- internals ----

  #newStorage(length: number): Storage {
    return this.precision === 'f64' ? new Float64Array(length) : new Float32Array(length);
  }

  #round(value: number): number {
    return this.precision === 'f64' ? value : Math.fround(value);
  }

  #gemmWorkspace(): GemmWorkspace {
    this.#workspace ??= new GemmWorkspace();
    return this.#workspace;
  }

  /**
   * Runs `fn` on f64 elements of `m`: its own storage in f64 mode; in f32 mode a packed f64 copy, rounded back
   * into `m` afterwards when `writeBack` (not if `fn` throws).
   */
  #inFloat64(m: CpuMatrix, writeBack: boolean, fn: (s: Strided<Float64Array>) => void): void {
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
