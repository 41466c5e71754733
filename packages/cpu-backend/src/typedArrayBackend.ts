import { type Activation, type AdamStepOptions, CheckedBackend, type DeviceScalar, type Loss, type Matrix, type Precision } from '@nladmm/core';
import * as loops from './elementwise.ts';
import * as columns from './lossColumns.ts';
import type { Storage, Strided } from './gemm.ts';

const RELEASED = new Float64Array(0);

/** The storage of one {@link TypedArrayBackend.alloc}, shared by the matrix and its views. */
export class Allocation {
  released = false;
  constructor(
    public data: Storage,
    readonly owner: TypedArrayBackend,
  ) {}

  release(): void {
    this.released = true;
    this.data = RELEASED;
  }
}

/** A matrix in host memory: a Float64Array or Float32Array, row-major with leading dimension `ld`. */
export class TypedArrayMatrix implements Matrix, loops.DenseBlock {
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

export class TypedArrayScalar implements DeviceScalar {
  readonly deviceScalar = true as const;
  released = false;
  constructor(
    public value: number,
    readonly owner: TypedArrayBackend,
  ) {}
}

/** Checks a backend's precision option (default f64), naming the backend. */
export function checkedPrecision(backend: string, precision: Precision | undefined): Precision {
  const value = precision ?? 'f64';
  if (value !== 'f64' && value !== 'f32') throw new RangeError(`${backend} backend: unknown precision '${value}'`);
  return value;
}

/**
 * What the backends on host memory (typed arrays) share: typed-array storage (Float64Array for f64, Float32Array for f32), scalars
 * as plain numbers (rounded to the precision), and the elementwise steps and reductions as loops (elementwise.ts).
 * A subclass supplies the dense linear algebra: gemm, gram, Cholesky and the solves.
 */
export abstract class TypedArrayBackend extends CheckedBackend<TypedArrayMatrix, TypedArrayScalar> {
  readonly precision: Precision;
  #allocations = new Set<Allocation>();
  #scalars = new Set<TypedArrayScalar>();

  protected constructor(precision: Precision) {
    super(TypedArrayMatrix, TypedArrayScalar);
    this.precision = precision;
  }

  // ---- memory ----

  protected _alloc(rows: number, cols: number): TypedArrayMatrix {
    const allocation = new Allocation(this.newStorage(rows * cols), this);
    this.#allocations.add(allocation);
    return new TypedArrayMatrix(rows, cols, cols, allocation, false);
  }

  protected _upload(d: TypedArrayMatrix, data: ArrayLike<number>): void {
    loops.copyIn(d, data);
  }

  protected async _download(s: TypedArrayMatrix): Promise<Float64Array> {
    return loops.copyOut(s);
  }

  protected _free(matrix: TypedArrayMatrix): void {
    matrix.allocation.release();
    this.#allocations.delete(matrix.allocation);
  }

  protected _view(parent: TypedArrayMatrix, rows: number, cols: number): TypedArrayMatrix {
    return new TypedArrayMatrix(rows, cols, parent.ld, parent.allocation, true);
  }

  protected _copy(s: TypedArrayMatrix, d: TypedArrayMatrix): void {
    loops.copy(s, d);
  }

  protected _fill(d: TypedArrayMatrix, value: number): void {
    loops.fill(d, value);
  }

  // ---- device scalars ----

  protected _scalar(value: number): TypedArrayScalar {
    const s = new TypedArrayScalar(this.round(value), this);
    this.#scalars.add(s);
    return s;
  }

  protected async _readScalars(list: readonly TypedArrayScalar[]): Promise<number[]> {
    return list.map((s) => s.value);
  }

  protected _freeScalar(scalar: TypedArrayScalar): void {
    scalar.released = true;
    this.#scalars.delete(scalar);
  }

  protected _scalarAffine(out: TypedArrayScalar, s: TypedArrayScalar, a: number, b: number): void {
    out.value = this.round(a * s.value + b);
  }

  // ---- elementwise linear algebra ----

  protected _shiftedScale(S: TypedArrayMatrix, c: TypedArrayScalar, shift: number, O: TypedArrayMatrix): void {
    loops.shiftedScale(S, c.value, shift, O);
  }

  protected _adamStep(G: TypedArrayMatrix, M: TypedArrayMatrix, V: TypedArrayMatrix, W: TypedArrayMatrix, options: AdamStepOptions): void {
    loops.adamStep(G, M, V, W, options);
  }

  protected _axpby(alpha: number, X: TypedArrayMatrix, beta: number, Y: TypedArrayMatrix): void {
    loops.axpby(alpha, X, beta, Y);
  }

  // ---- the activation's elementwise steps ----

  /** Nothing to compile: the loops call the activation's scalar functions directly. */
  protected async _prepareActivation(): Promise<void> {}

  protected _activate(act: Activation, Z: TypedArrayMatrix, O: TypedArrayMatrix): void {
    loops.loopsFor(act).activate(act, Z, O);
  }

  protected _multiplierStep(act: Activation, S: TypedArrayMatrix, V: TypedArrayMatrix, Lambda: TypedArrayMatrix, beta: number, withDerivative: boolean, O: TypedArrayMatrix): void {
    loops.loopsFor(act).multiplierStep(act, S, V, Lambda, beta, withDerivative, O);
  }

  // ---- the loss's column steps ----

  /** Nothing to compile: the column loops call the loss's functions directly. */
  protected async _prepareLoss(): Promise<void> {}

  protected _lossValue(loss: Loss, V: TypedArrayMatrix, Y: TypedArrayMatrix, target: TypedArrayScalar): void {
    target.value = this.round(columns.lossValue(loss, V, Y));
  }

  protected _lossGradient(loss: Loss, V: TypedArrayMatrix, Y: TypedArrayMatrix, O: TypedArrayMatrix): void {
    columns.lossGradient(loss, V, Y, O);
  }

  protected _lossProx(loss: Loss, T: TypedArrayMatrix, Y: TypedArrayMatrix, beta: number, V: TypedArrayMatrix): void {
    columns.lossProx(loss, T, Y, beta, V);
  }

  // ---- reductions into device scalars ----

  protected _sumSquares(target: TypedArrayScalar, A: TypedArrayMatrix): void {
    target.value = this.round(loops.dot(A));
  }

  protected _maxAbs(target: TypedArrayScalar, A: TypedArrayMatrix, B: TypedArrayMatrix | undefined, scaleB: number): void {
    target.value = this.round(loops.maxAbs(A, B, scaleB));
  }

  protected _dot(target: TypedArrayScalar, A: TypedArrayMatrix, B: TypedArrayMatrix): void {
    target.value = this.round(loops.dot(A, B));
  }

  // ---- lifecycle ----

  protected async _sync(): Promise<void> {}

  protected _dispose(): void {
    for (const allocation of this.#allocations) allocation.release();
    for (const scalar of this.#scalars) scalar.released = true;
    this.#allocations.clear();
    this.#scalars.clear();
  }

  /** Zero-filled storage of `length` values in the backend's precision (a subclass may place it elsewhere). */
  protected newStorage(length: number): Storage {
    return this.precision === 'f64' ? new Float64Array(length) : new Float32Array(length);
  }

  /** C ← β C; β = 0 writes zeros whatever C held (a product with an empty inner dimension). */
  protected scale(c: TypedArrayMatrix, beta: number): void {
    loops.scale(c, beta);
  }

  /** The strict upper triangle of square C ← the strict lower one, transposed (gram's exact symmetry). */
  protected mirrorLower(c: TypedArrayMatrix): void {
    loops.mirrorLower(c);
  }

  /** `value` rounded to the backend's precision. */
  protected round(value: number): number {
    return this.precision === 'f64' ? value : Math.fround(value);
  }
}
