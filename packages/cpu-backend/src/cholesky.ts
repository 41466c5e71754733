import { NotPositiveDefiniteError } from '@nladmm/core';
import { type GemmWorkspace, type Strided, multiplyInto } from './gemm.ts';

/** Column-block width of the blocked factorisation and solves; the trailing updates go through the gemm kernel. */
const NB = 64;
/** Column chunk of the triangular solves on diagonal blocks, so that a block's rows stay in cache. */
const CHUNK = 512;

function at(s: Strided<Float64Array>, row: number, col: number): Strided<Float64Array> {
  return { data: s.data, offset: s.offset + row * s.ld + col, ld: s.ld };
}

/**
 * In-place right-looking blocked Cholesky of the n × n block `a` (only its lower triangle is read): A = L Lᵀ
 * with L left in the lower triangle and zeros in the strict upper one. Throws {@link NotPositiveDefiniteError}
 * at the first pivot that is not > 0 (NaN included).
 */
export function choleskyInPlace(ws: GemmWorkspace, a: Strided<Float64Array>, n: number): void {
  for (let k0 = 0; k0 < n; k0 += NB) {
    const kb = Math.min(NB, n - k0);
    factorPanel(a, n, k0, kb);
    const rest = n - k0 - kb;
    if (rest > 0) {
      const l21 = at(a, k0 + kb, k0);
      multiplyInto(ws, rest, rest, kb, -1, l21, false, l21, true, 1, at(a, k0 + kb, k0 + kb), true);
    }
  }
  const { data, offset, ld } = a;
  for (let i = 0; i < n; i++) data.fill(0, offset + i * ld + i + 1, offset + i * ld + n);
}

/** Factors columns k0..k0+kb of rows k0..n (already updated by the earlier panels), left-looking within the panel. */
function factorPanel(a: Strided<Float64Array>, n: number, k0: number, kb: number): void {
  const { data, offset, ld } = a;
  for (let j = k0; j < k0 + kb; j++) {
    const rowJ = offset + j * ld;
    let pivot = data[rowJ + j];
    for (let p = k0; p < j; p++) pivot -= data[rowJ + p] * data[rowJ + p];
    if (!(pivot > 0)) throw new NotPositiveDefiniteError(j, pivot, n);
    const ljj = Math.sqrt(pivot);
    data[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = offset + i * ld;
      let s = data[rowI + j];
      for (let p = k0; p < j; p++) s -= data[rowI + p] * data[rowJ + p];
      data[rowI + j] = s / ljj;
    }
  }
}

/** B ← (L Lᵀ)⁻¹ B in place for the n × n factor `l` and an n × r block `b`. */
export function solveCholeskyInPlace(ws: GemmWorkspace, l: Strided<Float64Array>, n: number, b: Strided<Float64Array>, r: number): void {
  // L Y = B, block row by block row; each solved block is eliminated from the rows below by a gemm.
  for (let j0 = 0; j0 < n; j0 += NB) {
    const jb = Math.min(NB, n - j0);
    forwardOnDiagonalBlock(l, j0, jb, b, r);
    const below = n - j0 - jb;
    if (below > 0) multiplyInto(ws, below, r, jb, -1, at(l, j0 + jb, j0), false, at(b, j0, 0), false, 1, at(b, j0 + jb, 0), false);
  }
  // Lᵀ X = Y, from the last block row up.
  for (let j0 = Math.floor((n - 1) / NB) * NB; j0 >= 0; j0 -= NB) {
    const jb = Math.min(NB, n - j0);
    backwardOnDiagonalBlock(l, j0, jb, b, r);
    if (j0 > 0) multiplyInto(ws, j0, r, jb, -1, at(l, j0, 0), true, at(b, j0, 0), false, 1, b, false);
  }
}

/** Rows j0..j0+jb of B ← L[J, J]⁻¹ rows j0..j0+jb of B (J the block's index range), as axpys of whole rows. */
function forwardOnDiagonalBlock(l: Strided<Float64Array>, j0: number, jb: number, b: Strided<Float64Array>, r: number): void {
  const L = l.data;
  const B = b.data;
  for (let c0 = 0; c0 < r; c0 += CHUNK) {
    const c1 = Math.min(r, c0 + CHUNK);
    for (let i = j0; i < j0 + jb; i++) {
      const lRow = l.offset + i * l.ld;
      const bRow = b.offset + i * b.ld;
      for (let p = j0; p < i; p++) {
        const lip = L[lRow + p];
        const srcRow = b.offset + p * b.ld;
        for (let c = c0; c < c1; c++) B[bRow + c] -= lip * B[srcRow + c];
      }
      const lii = L[lRow + i];
      for (let c = c0; c < c1; c++) B[bRow + c] /= lii;
    }
  }
}

/** Rows j0..j0+jb of B ← L[J, J]⁻ᵀ rows j0..j0+jb of B, as axpys of whole rows. */
function backwardOnDiagonalBlock(l: Strided<Float64Array>, j0: number, jb: number, b: Strided<Float64Array>, r: number): void {
  const L = l.data;
  const B = b.data;
  for (let c0 = 0; c0 < r; c0 += CHUNK) {
    const c1 = Math.min(r, c0 + CHUNK);
    for (let i = j0 + jb - 1; i >= j0; i--) {
      const bRow = b.offset + i * b.ld;
      for (let p = i + 1; p < j0 + jb; p++) {
        const lpi = L[l.offset + p * l.ld + i];
        const srcRow = b.offset + p * b.ld;
        for (let c = c0; c < c1; c++) B[bRow + c] -= lpi * B[srcRow + c];
      }
      const lii = L[l.offset + i * l.ld + i];
      for (let c = c0; c < c1; c++) B[bRow + c] /= lii;
    }
  }
}
