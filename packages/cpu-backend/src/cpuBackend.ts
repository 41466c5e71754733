import {
  type Activation,
  type AdamStepOptions,
  type Backend,
  type DeviceScalar,
  type Matrix,
  type Precision,
  assertDimension,
  assertSameShape,
  assertSolveShapes,
  assertSquare,
  assertUploadLength,
  assertViewFits,
  gemmShape,
  gramShape,
  ownMatrix,
  ownScalar,
} from '@nladmm/core';
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
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly precision: Precision;
  #allocations = new Set<Allocation>();
  #scalars = new Set<CpuScalar>();
  #workspace: GemmWorkspace | undefined;
  #disposed = false;

  constructor(options: CpuBackendOptions = {}) {
    const precision = options.precision ?? 'f64';
    if (precision !== 'f64' && precision !== 'f32') throw new RangeError(`cpu backend: unknown precision '${precision}'`);
    this.precision = precision;
  }

  describe(): string {
    return `cpu (${this.precision}, JavaScript)`;
  }

  // ---- memory ----

  alloc(rows: number, cols: number): Matrix {
    this.#assertAlive('alloc');
    assertDimension('alloc', 'rows', rows);
    assertDimension('alloc', 'cols', cols);
    const allocation = new Allocation(this.#newStorage(rows * cols), this);
    this.#allocations.add(allocation);
    return new CpuMatrix(rows, cols, cols, allocation, false);
  }

  upload(dst: Matrix, data: ArrayLike<number>): void {
    const d = this.#use('upload', dst);
    assertUploadLength(d, data.length);
    const out = d.data;
    for (let r = 0; r < d.rows; r++) {
      const row = r * d.ld;
      const src = r * d.cols;
      for (let c = 0; c < d.cols; c++) out[row + c] = data[src + c];
    }
  }

  async download(src: Matrix): Promise<Float64Array> {
    const s = this.#use('download', src);
    const packed = new Float64Array(s.rows * s.cols);
    const data = s.data;
    for (let r = 0; r < s.rows; r++) {
      const row = r * s.ld;
      for (let c = 0; c < s.cols; c++) packed[r * s.cols + c] = data[row + c];
    }
    return packed;
  }

  free(m: Matrix): void {
    const matrix = this.#use('free', m);
    if (matrix.isView) throw new Error('free: cannot free a view; free the matrix it was made from');
    matrix.allocation.release();
    this.#allocations.delete(matrix.allocation);
  }

  view(m: Matrix, rows: number, cols: number): Matrix {
    const parent = this.#use('view', m);
    assertViewFits(parent, rows, cols);
    return new CpuMatrix(rows, cols, parent.ld, parent.allocation, true);
  }

  copy(src: Matrix, dst: Matrix): void {
    const s = this.#use('copy', src);
    const d = this.#use('copy', dst);
    assertSameShape('copy', 'dst', d, s);
    const from = s.data;
    const to = d.data;
    for (let r = 0; r < s.rows; r++) {
      const fromRow = r * s.ld;
      const toRow = r * d.ld;
      for (let c = 0; c < s.cols; c++) to[toRow + c] = from[fromRow + c];
    }
  }

  fill(dst: Matrix, value: number): void {
    const d = this.#use('fill', dst);
    for (let r = 0; r < d.rows; r++) d.data.fill(value, r * d.ld, r * d.ld + d.cols);
  }

  // ---- device scalars ----

  scalar(value = 0): DeviceScalar {
    this.#assertAlive('scalar');
    const s = new CpuScalar(this.#round(value), this);
    this.#scalars.add(s);
    return s;
  }

  async readScalar(s: DeviceScalar): Promise<number> {
    return this.#useScalar('readScalar', s).value;
  }

  async readScalars(list: readonly DeviceScalar[]): Promise<number[]> {
    return list.map((s) => this.#useScalar('readScalars', s).value);
  }

  freeScalar(s: DeviceScalar): void {
    const scalar = this.#useScalar('freeScalar', s);
    scalar.released = true;
    this.#scalars.delete(scalar);
  }

  scalarAffine(out: DeviceScalar, s: DeviceScalar, a: number, b: number): void {
    const value = this.#useScalar('scalarAffine', s).value;
    this.#useScalar('scalarAffine', out).value = this.#round(a * value + b);
  }

  // ---- dense linear algebra ----

  gemm(alpha: number, a: Matrix, transA: boolean, b: Matrix, transB: boolean, beta: number, c: Matrix): void {
    const A = this.#use('gemm', a);
    const B = this.#use('gemm', b);
    const C = this.#use('gemm', c);
    const { m, n, k } = gemmShape(A, transA, B, transB, C, C.allocation === A.allocation || C.allocation === B.allocation);
    multiplyInto(this.#gemmWorkspace(), m, n, k, alpha, A.strided, transA, B.strided, transB, beta, C.strided, false);
  }

  gram(alpha: number, a: Matrix, transA: boolean, beta: number, c: Matrix): void {
    const A = this.#use('gram', a);
    const C = this.#use('gram', c);
    const { n, k } = gramShape(A, transA, C, C.allocation === A.allocation);
    multiplyInto(this.#gemmWorkspace(), n, n, k, alpha, A.strided, transA, A.strided, !transA, beta, C.strided, true);
    const data = C.data;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) data[i * C.ld + j] = data[j * C.ld + i];
    }
  }

  shiftedScale(s: Matrix, c: DeviceScalar, shift: number, out: Matrix): void {
    const S = this.#use('shiftedScale', s);
    const O = this.#use('shiftedScale', out);
    assertSquare('shiftedScale', 'S', S);
    assertSameShape('shiftedScale', 'out', O, S);
    const scale = this.#useScalar('shiftedScale', c).value;
    const from = S.data;
    const to = O.data;
    for (let r = 0; r < S.rows; r++) {
      const fromRow = r * S.ld;
      const toRow = r * O.ld;
      for (let q = 0; q < S.cols; q++) to[toRow + q] = scale * from[fromRow + q] + (q === r ? shift : 0);
    }
  }

  adamStep(g: Matrix, m: Matrix, v: Matrix, w: Matrix, options: AdamStepOptions): void {
    const G = this.#use('adamStep', g);
    const M = this.#use('adamStep', m);
    const V = this.#use('adamStep', v);
    const W = this.#use('adamStep', w);
    for (const [what, x] of [['M', M], ['V', V], ['W', W]] as const) assertSameShape('adamStep', what, x, G);
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

  axpby(alpha: number, x: Matrix, beta: number, y: Matrix): void {
    const X = this.#use('axpby', x);
    const Y = this.#use('axpby', y);
    assertSameShape('axpby', 'Y', Y, X);
    const xs = X.data;
    const ys = Y.data;
    for (let r = 0; r < X.rows; r++) {
      const xRow = r * X.ld;
      const yRow = r * Y.ld;
      for (let q = 0; q < X.cols; q++) ys[yRow + q] = alpha * xs[xRow + q] + beta * ys[yRow + q];
    }
  }

  // ---- symmetric positive definite systems ----

  cholesky(m: Matrix): void {
    const M = this.#use('cholesky', m);
    assertSquare('cholesky', 'matrix', M);
    this.#inFloat64(M, true, (a) => choleskyInPlace(this.#gemmWorkspace(), a, M.rows));
  }

  solveLeft(l: Matrix, b: Matrix): void {
    const [L, B] = this.#solveOperands('solveLeft', l, b, b.rows, 'rows');
    this.#inFloat64(L, false, (factor) =>
      this.#inFloat64(B, true, (rhs) => solveCholeskyInPlace(this.#gemmWorkspace(), factor, L.rows, rhs, B.cols)),
    );
  }

  solveRight(l: Matrix, b: Matrix): void {
    const [L, B] = this.#solveOperands('solveRight', l, b, b.cols, 'cols');
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
  async prepareActivation(): Promise<void> {}

  activate(act: Activation, z: Matrix, out: Matrix): void {
    const Z = this.#use('activate', z);
    const O = this.#use('activate', out);
    assertSameShape('activate', 'out', O, Z);
    const from = Z.data;
    const to = O.data;
    for (let r = 0; r < Z.rows; r++) {
      const fromRow = r * Z.ld;
      const toRow = r * O.ld;
      for (let q = 0; q < Z.cols; q++) to[toRow + q] = act.sigma(from[fromRow + q]);
    }
  }

  multiplierStep(act: Activation, s: Matrix, v: Matrix, lambda: Matrix, beta: number, withDerivative: boolean, out: Matrix): void {
    const S = this.#use('multiplierStep', s);
    const V = this.#use('multiplierStep', v);
    const Lambda = this.#use('multiplierStep', lambda);
    const O = this.#use('multiplierStep', out);
    assertSameShape('multiplierStep', 'V', V, S);
    assertSameShape('multiplierStep', 'Λ', Lambda, S);
    assertSameShape('multiplierStep', 'out', O, S);
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

  sumSquares(out: DeviceScalar, a: Matrix): void {
    const A = this.#use('sumSquares', a);
    const target = this.#useScalar('sumSquares', out);
    const data = A.data;
    let sum = 0;
    for (let r = 0; r < A.rows; r++) {
      for (let q = 0; q < A.cols; q++) sum += data[r * A.ld + q] * data[r * A.ld + q];
    }
    target.value = this.#round(sum);
  }

  maxAbs(out: DeviceScalar, a: Matrix, b?: Matrix, scaleB = 1): void {
    const A = this.#use('maxAbs', a);
    const B = b === undefined ? undefined : this.#use('maxAbs', b);
    if (B) assertSameShape('maxAbs', 'B', B, A);
    const target = this.#useScalar('maxAbs', out);
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

  dot(out: DeviceScalar, a: Matrix, b: Matrix): void {
    const A = this.#use('dot', a);
    const B = this.#use('dot', b);
    assertSameShape('dot', 'B', B, A);
    const target = this.#useScalar('dot', out);
    const aData = A.data;
    const bData = B.data;
    let sum = 0;
    for (let r = 0; r < A.rows; r++) {
      for (let q = 0; q < A.cols; q++) sum += aData[r * A.ld + q] * bData[r * B.ld + q];
    }
    target.value = this.#round(sum);
  }

  // ---- lifecycle ----

  async sync(): Promise<void> {}

  dispose(): void {
    for (const allocation of this.#allocations) allocation.release();
    for (const scalar of this.#scalars) scalar.released = true;
    this.#allocations.clear();
    this.#scalars.clear();
    this.#workspace = undefined;
    this.#disposed = true;
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

  #assertAlive(op: string): void {
    if (this.#disposed) throw new Error(`${op}: the cpu backend was disposed`);
  }

  #use(op: string, m: Matrix): CpuMatrix {
    return ownMatrix(op, m, CpuMatrix, this, 'cpu');
  }

  #useScalar(op: string, s: DeviceScalar): CpuScalar {
    return ownScalar(op, s, CpuScalar, this, 'cpu');
  }

  #solveOperands(op: string, l: Matrix, b: Matrix, bDim: number, bDimName: string): [CpuMatrix, CpuMatrix] {
    const L = this.#use(op, l);
    const B = this.#use(op, b);
    assertSolveShapes(op, L, B, bDim, bDimName, L.allocation === B.allocation);
    return [L, B];
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
