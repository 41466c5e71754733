/**
 * The one implementation of the {@link Backend} argument checks. Every public method of a backend checks its
 * operands here (ownership, freed matrices, shapes, aliasing, upload lengths, views) and then calls an unchecked
 * hook (`gemm` → `_gemm`, the way tinygrad's Allocator has `alloc` → `_alloc`) that a backend implements with its
 * own matrix and scalar types. So every backend refuses the same bad input, before any work, with the same message.
 */
import type { Activation } from './activation.ts';
import type { Loss } from './loss.ts';
import type { AdamStepOptions, Backend, DeviceScalar, Matrix, Precision } from './backend.ts';
import {
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
} from './backendChecks.ts';

/** The storage of one allocation: who made it and whether it was freed. Views share their parent's. */
export interface OwnedAllocation {
  readonly owner: unknown;
  readonly released: boolean;
}

/** A backend's own matrix type: a {@link Matrix} that knows its allocation and whether it is a view. */
export interface OwnedMatrix extends Matrix {
  readonly allocation: OwnedAllocation;
  readonly isView: boolean;
}

/** A backend's own device-scalar type. */
export interface OwnedScalar extends DeviceScalar {
  readonly owner: unknown;
  readonly released: boolean;
}

/** A class (possibly abstract) whose instances are `T`: the matrix and scalar classes a {@link CheckedBackend} accepts. */
export type Constructor<T> = abstract new (...args: never[]) => T;

/**
 * Base class of the backends: the public {@link Backend} methods with their checks, over protected hooks that
 * receive the backend's own, already checked, operands. `M` and `S` are the backend's matrix and scalar classes.
 */
export abstract class CheckedBackend<M extends OwnedMatrix, S extends OwnedScalar> implements Backend {
  abstract readonly name: string;
  abstract readonly precision: Precision;
  #disposed = false;

  /** `matrixType`, `scalarType`: the classes whose instances (with this backend as owner) this backend accepts. */
  protected constructor(
    private readonly matrixType: Constructor<M>,
    private readonly scalarType: Constructor<S>,
  ) {}

  abstract describe(): string;

  // ---- memory ----

  alloc(rows: number, cols: number): Matrix {
    this.assertAlive('alloc');
    assertDimension('alloc', 'rows', rows);
    assertDimension('alloc', 'cols', cols);
    return this._alloc(rows, cols);
  }

  upload(dst: Matrix, data: ArrayLike<number>): void {
    const d = this.own('upload', dst);
    assertUploadLength(d, data.length);
    this._upload(d, data);
  }

  download(src: Matrix): Promise<Float64Array> {
    try {
      return this._download(this.own('download', src));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  free(m: Matrix): void {
    const matrix = this.own('free', m);
    if (matrix.isView) throw new Error('free: cannot free a view; free the matrix it was made from');
    this._free(matrix);
  }

  view(m: Matrix, rows: number, cols: number): Matrix {
    const parent = this.own('view', m);
    assertViewFits(parent, rows, cols);
    return this._view(parent, rows, cols);
  }

  copy(src: Matrix, dst: Matrix): void {
    const s = this.own('copy', src);
    const d = this.own('copy', dst);
    assertSameShape('copy', 'dst', d, s);
    this._copy(s, d);
  }

  fill(dst: Matrix, value: number): void {
    this._fill(this.own('fill', dst), value);
  }

  // ---- device scalars ----

  scalar(value = 0): DeviceScalar {
    this.assertAlive('scalar');
    return this._scalar(value);
  }

  async readScalar(s: DeviceScalar): Promise<number> {
    const [value] = await this.readScalars([s]);
    return value;
  }

  readScalars(list: readonly DeviceScalar[]): Promise<number[]> {
    try {
      return this._readScalars(list.map((s) => this.ownScalar('readScalars', s)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  freeScalar(s: DeviceScalar): void {
    this._freeScalar(this.ownScalar('freeScalar', s));
  }

  scalarAffine(out: DeviceScalar, s: DeviceScalar, a: number, b: number): void {
    const source = this.ownScalar('scalarAffine', s);
    this._scalarAffine(this.ownScalar('scalarAffine', out), source, a, b);
  }

  // ---- dense linear algebra ----

  gemm(alpha: number, a: Matrix, transA: boolean, b: Matrix, transB: boolean, beta: number, c: Matrix): void {
    const A = this.own('gemm', a);
    const B = this.own('gemm', b);
    const C = this.own('gemm', c);
    const shape = gemmShape(A, transA, B, transB, C, C.allocation === A.allocation || C.allocation === B.allocation);
    this._gemm(alpha, A, transA, B, transB, beta, C, shape);
  }

  gram(alpha: number, a: Matrix, transA: boolean, beta: number, c: Matrix): void {
    const A = this.own('gram', a);
    const C = this.own('gram', c);
    const shape = gramShape(A, transA, C, C.allocation === A.allocation);
    this._gram(alpha, A, transA, beta, C, shape);
  }

  shiftedScale(s: Matrix, c: DeviceScalar, shift: number, out: Matrix): void {
    const S = this.own('shiftedScale', s);
    const O = this.own('shiftedScale', out);
    assertSquare('shiftedScale', 'S', S);
    assertSameShape('shiftedScale', 'out', O, S);
    this._shiftedScale(S, this.ownScalar('shiftedScale', c), shift, O);
  }

  axpby(alpha: number, x: Matrix, beta: number, y: Matrix): void {
    const X = this.own('axpby', x);
    const Y = this.own('axpby', y);
    assertSameShape('axpby', 'Y', Y, X);
    this._axpby(alpha, X, beta, Y);
  }

  adamStep(g: Matrix, m: Matrix, v: Matrix, w: Matrix, options: AdamStepOptions): void {
    const G = this.own('adamStep', g);
    const M = this.own('adamStep', m);
    const V = this.own('adamStep', v);
    const W = this.own('adamStep', w);
    for (const [what, x] of [['M', M], ['V', V], ['W', W]] as const) assertSameShape('adamStep', what, x, G);
    this._adamStep(G, M, V, W, options);
  }

  // ---- symmetric positive definite systems ----

  cholesky(m: Matrix): void {
    const M = this.own('cholesky', m);
    assertSquare('cholesky', 'matrix', M);
    this._cholesky(M);
  }

  solveLeft(l: Matrix, b: Matrix): void {
    const [L, B] = this.solveOperands('solveLeft', l, b, b.rows, 'rows');
    this._solveLeft(L, B);
  }

  solveRight(l: Matrix, b: Matrix): void {
    const [L, B] = this.solveOperands('solveRight', l, b, b.cols, 'cols');
    this._solveRight(L, B);
  }

  // ---- the activation's elementwise steps ----

  async prepareActivation(act: Activation): Promise<void> {
    this.assertAlive('prepareActivation');
    await this._prepareActivation(act);
  }

  activate(act: Activation, z: Matrix, out: Matrix): void {
    const Z = this.own('activate', z);
    const O = this.own('activate', out);
    assertSameShape('activate', 'out', O, Z);
    this._activate(act, Z, O);
  }

  multiplierStep(act: Activation, s: Matrix, v: Matrix, lambda: Matrix, beta: number, withDerivative: boolean, out: Matrix): void {
    const S = this.own('multiplierStep', s);
    const V = this.own('multiplierStep', v);
    const Lambda = this.own('multiplierStep', lambda);
    const O = this.own('multiplierStep', out);
    assertSameShape('multiplierStep', 'V', V, S);
    assertSameShape('multiplierStep', 'Λ', Lambda, S);
    assertSameShape('multiplierStep', 'out', O, S);
    this._multiplierStep(act, S, V, Lambda, beta, withDerivative, O);
  }

  // ---- the loss's column steps ----

  async prepareLoss(loss: Loss, width: number): Promise<void> {
    this.assertAlive('prepareLoss');
    assertDimension('prepareLoss', 'width', width);
    await this._prepareLoss(loss, width);
  }

  lossValue(loss: Loss, v: Matrix, y: Matrix, out: DeviceScalar): void {
    const V = this.own('lossValue', v);
    const Y = this.own('lossValue', y);
    assertSameShape('lossValue', 'Y', Y, V);
    this._lossValue(loss, V, Y, this.ownScalar('lossValue', out));
  }

  lossGradient(loss: Loss, v: Matrix, y: Matrix, out: Matrix): void {
    const V = this.own('lossGradient', v);
    const Y = this.own('lossGradient', y);
    const O = this.own('lossGradient', out);
    assertSameShape('lossGradient', 'Y', Y, V);
    assertSameShape('lossGradient', 'out', O, V);
    if (O.allocation === Y.allocation) throw new RangeError('lossGradient: out must not share storage with Y');
    this._lossGradient(loss, V, Y, O);
  }

  lossProx(loss: Loss, t: Matrix, y: Matrix, beta: number, v: Matrix): void {
    const T = this.own('lossProx', t);
    const Y = this.own('lossProx', y);
    const V = this.own('lossProx', v);
    assertSameShape('lossProx', 'Y', Y, T);
    assertSameShape('lossProx', 'V', V, T);
    if (V.allocation === T.allocation || V.allocation === Y.allocation) throw new RangeError('lossProx: V must not share storage with T or Y');
    if (!(Number.isFinite(beta) && beta > 0)) throw new RangeError(`lossProx: beta must be a finite number > 0, got ${beta}`);
    this._lossProx(loss, T, Y, beta, V);
  }

  // ---- reductions into device scalars ----

  sumSquares(out: DeviceScalar, a: Matrix): void {
    const A = this.own('sumSquares', a);
    this._sumSquares(this.ownScalar('sumSquares', out), A);
  }

  maxAbs(out: DeviceScalar, a: Matrix, b?: Matrix, scaleB = 1): void {
    const A = this.own('maxAbs', a);
    const B = b === undefined ? undefined : this.own('maxAbs', b);
    if (B) assertSameShape('maxAbs', 'B', B, A);
    this._maxAbs(this.ownScalar('maxAbs', out), A, B, scaleB);
  }

  dot(out: DeviceScalar, a: Matrix, b: Matrix): void {
    const A = this.own('dot', a);
    const B = this.own('dot', b);
    assertSameShape('dot', 'B', B, A);
    this._dot(this.ownScalar('dot', out), A, B);
  }

  // ---- lifecycle ----

  sync(): Promise<void> {
    try {
      this.assertAlive('sync');
      return this._sync();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Releases everything; later calls (except another dispose) fail with "was disposed" or "was freed". */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this._dispose();
  }

  // ---- for the implementations ----

  protected assertAlive(op: string): void {
    if (this.#disposed) throw new Error(`${op}: the ${this.name} backend was disposed`);
  }

  /** `m` as this backend's matrix, refusing one another backend made or one that was freed. */
  protected own(op: string, m: Matrix): M {
    return ownMatrix(op, m, this.matrixType, this, this.name);
  }

  protected ownScalar(op: string, s: DeviceScalar): S {
    return ownScalar(op, s, this.scalarType, this, this.name);
  }

  private solveOperands(op: string, l: Matrix, b: Matrix, bDim: number, bDimName: string): [M, M] {
    const L = this.own(op, l);
    const B = this.own(op, b);
    assertSolveShapes(op, L, B, bDim, bDimName, L.allocation === B.allocation);
    return [L, B];
  }

  // ---- the unchecked hooks: operands are this backend's own, live, and of agreeing shapes ----

  protected abstract _alloc(rows: number, cols: number): M;
  protected abstract _upload(dst: M, data: ArrayLike<number>): void;
  /** Reads the values as of the call (see {@link Backend.download}). */
  protected abstract _download(src: M): Promise<Float64Array>;
  /** `m` is not a view. */
  protected abstract _free(m: M): void;
  protected abstract _view(parent: M, rows: number, cols: number): M;
  protected abstract _copy(src: M, dst: M): void;
  protected abstract _fill(dst: M, value: number): void;
  protected abstract _scalar(value: number): S;
  /** Reads the values as of the call. */
  protected abstract _readScalars(list: readonly S[]): Promise<number[]>;
  protected abstract _freeScalar(s: S): void;
  protected abstract _scalarAffine(out: S, s: S, a: number, b: number): void;
  protected abstract _gemm(alpha: number, a: M, transA: boolean, b: M, transB: boolean, beta: number, c: M, shape: { m: number; n: number; k: number }): void;
  protected abstract _gram(alpha: number, a: M, transA: boolean, beta: number, c: M, shape: { n: number; k: number }): void;
  protected abstract _shiftedScale(s: M, c: S, shift: number, out: M): void;
  protected abstract _axpby(alpha: number, x: M, beta: number, y: M): void;
  protected abstract _adamStep(g: M, m: M, v: M, w: M, options: AdamStepOptions): void;
  /** `m` is square. */
  protected abstract _cholesky(m: M): void;
  protected abstract _solveLeft(l: M, b: M): void;
  protected abstract _solveRight(l: M, b: M): void;
  protected abstract _prepareActivation(act: Activation): Promise<void>;
  protected abstract _activate(act: Activation, z: M, out: M): void;
  protected abstract _multiplierStep(act: Activation, s: M, v: M, lambda: M, beta: number, withDerivative: boolean, out: M): void;
  protected abstract _prepareLoss(loss: Loss, width: number): Promise<void>;
  protected abstract _lossValue(loss: Loss, v: M, y: M, out: S): void;
  protected abstract _lossGradient(loss: Loss, v: M, y: M, out: M): void;
  protected abstract _lossProx(loss: Loss, t: M, y: M, beta: number, v: M): void;
  protected abstract _sumSquares(out: S, a: M): void;
  protected abstract _maxAbs(out: S, a: M, b: M | undefined, scaleB: number): void;
  protected abstract _dot(out: S, a: M, b: M): void;
  protected abstract _sync(): Promise<void>;
  /** Called once, by {@link dispose}. */
  protected abstract _dispose(): void;
}
