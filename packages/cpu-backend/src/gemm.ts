/** Element storage of a CPU matrix: f64, or f32 when the backend runs in single precision. */
export type Storage = Float64Array | Float32Array;

/** A strided block of storage: element (r, c) is at `offset + r * ld + c`. */
export interface Strided<T extends Storage = Storage> {
  readonly data: T;
  readonly offset: number;
  readonly ld: number;
}

/** Register block of the micro-kernel: MR rows of op(A) times NR columns of op(B). */
const MR = 4;
const NR = 4;
/** Cache blocks: a packed MC × KC block of op(A) stays in L2, a KC × NR strip of op(B) in L1. */
const KC = 256;
const MC = 64;
const NC = 1024;

/** Packing buffers of {@link multiplyInto}, reused across calls. */
export class GemmWorkspace {
  readonly packedA = new Float64Array(MC * KC);
  readonly packedB = new Float64Array(KC * NC);
  readonly tile = new Float64Array(MR * NR);
}

/**
 * C ← α op(A) op(B) + β C for an m × n block C and inner dimension k, with op(X) = Xᵀ when the flag is set.
 * β = 0 never reads C. With `lowerOnly`, only the micro-tiles that touch the lower triangle (row ≥ column)
 * are computed; tiles wholly above the diagonal are left as they were. Arithmetic is f64 throughout; C's
 * regions must not overlap A's or B's.
 */
export function multiplyInto(
  ws: GemmWorkspace,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Strided,
  transA: boolean,
  b: Strided,
  transB: boolean,
  beta: number,
  c: Strided,
  lowerOnly: boolean,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    scaleBlock(beta, c, m, n);
    return;
  }
  const { packedA, packedB, tile } = ws;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      // β applies once, when the first slice of the inner dimension lands in C.
      const betaNow = p0 === 0 ? beta : 1;
      packB(packedB, b, transB, p0, kc, j0, nc);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        if (lowerOnly && i0 + mc - 1 < j0) continue;
        packA(packedA, a, transA, i0, mc, p0, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            if (lowerOnly && j0 + jr > i0 + ir + mr - 1) continue;
            microKernel(kc, packedA, ir * kc, packedB, jr * kc, tile);
            storeTile(tile, mr, nr, alpha, betaNow, c, i0 + ir, j0 + jr);
          }
        }
      }
    }
  }
}

/** C ← β C on an m × n block (β = 0 writes zeros without reading). */
function scaleBlock(beta: number, c: Strided, m: number, n: number): void {
  const { data, offset, ld } = c;
  for (let r = 0; r < m; r++) {
    const row = offset + r * ld;
    if (beta === 0) data.fill(0, row, row + n);
    else for (let q = 0; q < n; q++) data[row + q] *= beta;
  }
}

/**
 * Packs rows i0..i0+mc of op(A), inner indices p0..p0+kc, into MR-row strips: strip s holds
 * op(A)[i0 + s·MR + r, p0 + p] at s·MR·kc + p·MR + r, zero-padded to a multiple of MR rows.
 */
function packA(dst: Float64Array, a: Strided, transA: boolean, i0: number, mc: number, p0: number, kc: number): void {
  const { data, offset, ld } = a;
  const paddedRows = Math.ceil(mc / MR) * MR;
  if (!transA) {
    for (let i = 0; i < paddedRows; i++) {
      const base = (i - (i % MR)) * kc + (i % MR);
      if (i < mc) {
        const src = offset + (i0 + i) * ld + p0;
        for (let p = 0; p < kc; p++) dst[base + p * MR] = data[src + p];
      } else {
        for (let p = 0; p < kc; p++) dst[base + p * MR] = 0;
      }
    }
  } else {
    // op(A)[i, p] = A[p, i]: row p0 + p of A is contiguous over i.
    for (let p = 0; p < kc; p++) {
      const src = offset + (p0 + p) * ld + i0;
      for (let i = 0; i < paddedRows; i++) {
        dst[(i - (i % MR)) * kc + p * MR + (i % MR)] = i < mc ? data[src + i] : 0;
      }
    }
  }
}

/**
 * Packs columns j0..j0+nc of op(B), inner indices p0..p0+kc, into NR-column strips: strip s holds
 * op(B)[p0 + p, j0 + s·NR + q] at s·NR·kc + p·NR + q, zero-padded to a multiple of NR columns.
 */
function packB(dst: Float64Array, b: Strided, transB: boolean, p0: number, kc: number, j0: number, nc: number): void {
  const { data, offset, ld } = b;
  const paddedCols = Math.ceil(nc / NR) * NR;
  if (!transB) {
    for (let p = 0; p < kc; p++) {
      const src = offset + (p0 + p) * ld + j0;
      for (let j = 0; j < paddedCols; j++) {
        dst[(j - (j % NR)) * kc + p * NR + (j % NR)] = j < nc ? data[src + j] : 0;
      }
    }
  } else {
    // op(B)[p, j] = B[j, p]: row j0 + j of B is contiguous over p.
    for (let j = 0; j < paddedCols; j++) {
      const base = (j - (j % NR)) * kc + (j % NR);
      if (j < nc) {
        const src = offset + (j0 + j) * ld + p0;
        for (let p = 0; p < kc; p++) dst[base + p * NR] = data[src + p];
      } else {
        for (let p = 0; p < kc; p++) dst[base + p * NR] = 0;
      }
    }
  }
}

/** tile ← (MR-row strip of packed A) · (NR-column strip of packed B) over kc inner indices. */
function microKernel(kc: number, pa: Float64Array, aAt: number, pb: Float64Array, bAt: number, tile: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[aAt], a1 = pa[aAt + 1], a2 = pa[aAt + 2], a3 = pa[aAt + 3];
    const b0 = pb[bAt], b1 = pb[bAt + 1], b2 = pb[bAt + 2], b3 = pb[bAt + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    aAt += MR;
    bAt += NR;
  }
  tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
  tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
  tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
  tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
}

/** C[i.., j..] ← α tile + β C on the leading mr × nr part of the tile (β = 0 does not read C). */
function storeTile(tile: Float64Array, mr: number, nr: number, alpha: number, beta: number, c: Strided, i: number, j: number): void {
  const { data, offset, ld } = c;
  for (let r = 0; r < mr; r++) {
    const row = offset + (i + r) * ld + j;
    for (let q = 0; q < nr; q++) {
      const product = alpha * tile[r * NR + q];
      data[row + q] = beta === 0 ? product : beta * data[row + q] + product;
    }
  }
}
