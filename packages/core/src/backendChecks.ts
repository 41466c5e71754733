/**
 * The argument checks of the {@link Backend} operations, shared by every implementation so that they all refuse
 * bad input before any work, with the same message naming the operation and the operands.
 */
import { type DeviceScalar, type Matrix, assertShape } from './backend.ts';

/** `rows×cols` of a matrix, for messages. */
export function matrixShape(m: Matrix): string {
  return `${m.rows}×${m.cols}`;
}

export function assertDimension(op: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${op}: ${what} must be an integer ≥ 0, got ${value}`);
}

export function assertSameShape(op: string, what: string, m: Matrix, like: Matrix): void {
  assertShape(`${op}: ${what}`, m, like.rows, like.cols);
}

export function assertSquare(op: string, what: string, m: Matrix): void {
  if (m.rows !== m.cols) throw new RangeError(`${op}: ${what} must be square, got ${matrixShape(m)}`);
}

/** What a backend keeps of the matrices and device scalars it made: who made them and whether they were freed. */
export interface Owned {
  readonly owner: unknown;
  readonly released: boolean;
}

/** `m` as the backend's own matrix type, refusing one another backend made or one that was freed. */
export function ownMatrix<T extends Matrix & { readonly allocation: Owned }>(
  op: string,
  m: Matrix,
  type: abstract new (...args: never[]) => T,
  owner: unknown,
  backend: string,
): T {
  if (!(m instanceof type) || m.allocation.owner !== owner) throw new TypeError(`${op}: the matrix was not made by this ${backend} backend`);
  if (m.allocation.released) throw new Error(`${op}: the ${matrixShape(m)} matrix was freed (or its backend disposed)`);
  return m;
}

/** `s` as the backend's own scalar type, refusing one another backend made or one that was freed. */
export function ownScalar<T extends DeviceScalar & Owned>(op: string, s: DeviceScalar, type: abstract new (...args: never[]) => T, owner: unknown, backend: string): T {
  if (!(s instanceof type) || s.owner !== owner) throw new TypeError(`${op}: the scalar was not made by this ${backend} backend`);
  if (s.released) throw new Error(`${op}: the scalar was freed (or its backend disposed)`);
  return s;
}

export function assertUploadLength(dst: Matrix, length: number): void {
  if (length !== dst.rows * dst.cols) throw new RangeError(`upload: a ${matrixShape(dst)} matrix needs ${dst.rows * dst.cols} values, got ${length}`);
}

export function assertViewFits(parent: Matrix, rows: number, cols: number): void {
  assertDimension('view', 'rows', rows);
  assertDimension('view', 'cols', cols);
  if (rows > parent.rows || cols > parent.cols) throw new RangeError(`view: a ${rows}×${cols} block does not fit in a ${matrixShape(parent)} matrix`);
}

/** The m × n × k of C ← α op(A) op(B) + β C, after checking that the shapes agree and that C is not A or B. */
export function gemmShape(A: Matrix, transA: boolean, B: Matrix, transB: boolean, C: Matrix, sharesStorage: boolean): { m: number; n: number; k: number } {
  const [m, k] = transA ? [A.cols, A.rows] : [A.rows, A.cols];
  const [kB, n] = transB ? [B.cols, B.rows] : [B.rows, B.cols];
  if (k !== kB) {
    throw new RangeError(
      `gemm: op(A) is ${m}×${k} (A ${matrixShape(A)}${transA ? ', transposed' : ''}) but op(B) is ${kB}×${n} (B ${matrixShape(B)}${transB ? ', transposed' : ''}): inner dimensions differ`,
    );
  }
  assertShape('gemm: C', C, m, n);
  if (sharesStorage) throw new Error('gemm: C must not share storage with A or B');
  return { m, n, k };
}

/** The order n and inner dimension k of C ← α A Aᵀ + β C (or Aᵀ A), after checking C. */
export function gramShape(A: Matrix, transA: boolean, C: Matrix, sharesStorage: boolean): { n: number; k: number } {
  const [n, k] = transA ? [A.cols, A.rows] : [A.rows, A.cols];
  assertShape(`gram: C (for ${transA ? 'AᵀA' : 'AAᵀ'} with A ${matrixShape(A)})`, C, n, n);
  if (sharesStorage) throw new Error('gram: C must not share storage with A');
  return { n, k };
}

/** The operands of solveLeft (`bDim` = B's rows) and solveRight (B's columns) against the factor L. */
export function assertSolveShapes(op: string, L: Matrix, B: Matrix, bDim: number, bDimName: string, sharesStorage: boolean): void {
  assertSquare(op, 'the factor L', L);
  if (bDim !== L.rows) throw new RangeError(`${op}: B (${matrixShape(B)}) must have ${L.rows} ${bDimName} to match L (${matrixShape(L)})`);
  if (sharesStorage) throw new Error(`${op}: B must not share storage with L`);
}
