/// <reference types="@webgpu/types" preserve="true" />
/**
 * Matrices of the WebGPU backend and the pieces of storage the kernels see.
 *
 * A matrix of R × C f32 values lives in one storage buffer, row-major with ld = C, unless R·C·4 bytes exceed the
 * backend's maxBindingBytes: then it is split by columns (samples) into chunks of `chunkCols` columns, each chunk a
 * packed R × chunkCols row-major buffer of its own. A view shares its parent's chunks. Every kernel works on a
 * {@link Operand} (buffer, element offset, leading dimension) inside one chunk; the ops cut their column ranges at
 * the chunk boundaries of all their operands ({@link Block.cuts}).
 */
import type { Matrix } from '@nladmm/core';
import type { TrackedBuffer } from './shaders.ts';

export interface Chunk {
  readonly buffer: TrackedBuffer;
  /** First column of the matrix held by this chunk. */
  readonly col0: number;
  readonly cols: number;
}

/** The storage of one alloc, shared by the matrix and its views. */
export class Allocation {
  released = false;
  constructor(
    readonly owner: object,
    readonly rows: number,
    readonly cols: number,
    /** Columns per chunk (= cols when not split). */
    readonly chunkCols: number,
    public chunks: Chunk[],
  ) {}

  get split(): boolean {
    return this.chunks.length > 1;
  }
}

export class GpuMatrix implements Matrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly ld: number,
    readonly allocation: Allocation,
    readonly isView: boolean,
  ) {}
}

/**
 * Columns per chunk of a rows × cols matrix in buffers of at most maxBindingBytes: cols when it fits one, else as
 * many as fit (a multiple of 4 from 8 on, for the GEMM's vec4 accesses).
 */
export function chunkColumns(rows: number, cols: number, maxBindingBytes: number): number {
  if (rows * cols * 4 <= maxBindingBytes) return cols;
  let chunkCols = Math.floor(maxBindingBytes / (4 * rows));
  if (chunkCols >= 8) chunkCols -= chunkCols % 4;
  if (chunkCols < 1) throw new RangeError(`alloc: one column of a ${rows}×${cols} matrix (${rows * 4} bytes) exceeds maxBindingBytes = ${maxBindingBytes}`);
  return chunkCols;
}

/** Columns [c0, c0 + width) of row-major rows × cols data, packed into a rows × width f32 array. */
export function packColumns(data: ArrayLike<number>, rows: number, cols: number, c0: number, width: number): Float32Array {
  const packed = new Float32Array(rows * width);
  if (c0 === 0 && width === cols) packed.set(data);
  else for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) packed[r * width + c] = data[r * cols + c0 + c];
  return packed;
}

/** Rows × width values (rows `ld` apart) into columns [c0, c0 + width) of the row-major rows × cols array `out`. */
export function unpackColumns(values: Float32Array, ld: number, out: Float64Array, rows: number, cols: number, c0: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    const from = r * ld;
    const to = r * cols + c0;
    for (let c = 0; c < width; c++) out[to + c] = values[from + c];
  }
}

/** Where a kernel finds element (0, 0) of the block it works on: element (r, c) is at offset + r·ld + c. */
export interface Operand {
  readonly buffer: TrackedBuffer;
  readonly offset: number;
  readonly ld: number;
}

/**
 * A rows × cols block of storage: a sub-block of a matrix (possibly spanning chunks) or of a workspace buffer.
 * `at(r, c)` is the operand whose element (0, 0) is the block's (r, c); it is valid for columns up to the next cut.
 */
export interface Block {
  readonly rows: number;
  readonly cols: number;
  /** Column indices in (0, cols) where the storage changes buffer, ascending. */
  readonly cuts: readonly number[];
  at(r: number, c: number): Operand;
  /** The allocation behind the block (undefined for workspaces), to detect aliasing. */
  readonly allocation?: Allocation;
}

/** The rows × cols block at (r0, c0) of a matrix. */
export function matrixBlock(m: GpuMatrix, r0 = 0, c0 = 0, rows = m.rows - r0, cols = m.cols - c0): Block {
  const a = m.allocation;
  const cuts: number[] = [];
  for (let k = Math.floor(c0 / a.chunkCols) + 1; k * a.chunkCols < c0 + cols; k++) cuts.push(k * a.chunkCols - c0);
  return {
    rows,
    cols,
    cuts,
    allocation: a,
    at(r: number, c: number): Operand {
      const column = c0 + c;
      const chunk = a.chunks[Math.min(a.chunks.length - 1, Math.floor(column / a.chunkCols))];
      return { buffer: chunk.buffer, offset: (r0 + r) * chunk.cols + (column - chunk.col0), ld: chunk.cols };
    },
  };
}

/** A rows × cols block of a buffer at `offset` with leading dimension `ld` (never split). */
export function bufferBlock(buffer: TrackedBuffer, offset: number, ld: number, rows: number, cols: number): Block {
  return { rows, cols, cuts: [], at: (r, c) => ({ buffer, offset: offset + r * ld + c, ld }) };
}

/** The sub-block of a block. */
export function subBlock(b: Block, r0: number, c0: number, rows: number, cols: number): Block {
  return {
    rows,
    cols,
    cuts: b.cuts.filter((x) => x > c0 && x < c0 + cols).map((x) => x - c0),
    allocation: b.allocation,
    at: (r, c) => b.at(r0 + r, c0 + c),
  };
}

/** [start, end) intervals of 0…length cut at the union of the given cut lists. */
export function intervals(length: number, ...cutLists: (readonly number[])[]): [number, number][] {
  const points = [...new Set(cutLists.flat().filter((x) => x > 0 && x < length))].sort((x, y) => x - y);
  const out: [number, number][] = [];
  let start = 0;
  for (const p of points) {
    out.push([start, p]);
    start = p;
  }
  if (length > 0) out.push([start, length]);
  return out;
}
