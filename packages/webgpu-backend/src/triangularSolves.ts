/**
 * The solves with a Cholesky factor L of order n: solveLeft B ← (L Lᵀ)⁻¹ B and solveRight B ← B (L Lᵀ)⁻¹, as a
 * forward and a backward triangular solve, by one of three algorithms:
 *
 *   blocked substitution  D = blockdiag(L_JJ) inverted by one kernel, then one GEMM per block row (few right-hand
 *                         sides; {@link blockedPass});
 *   explicit inverse      L⁻¹ built once (n³/3 flops), then two products by it (many right-hand sides, at least
 *                         inverseSolveMinRhs, default 4·n; {@link inversePass});
 *   block columns         solveRight when B's columns (the order of L) are split into chunks ({@link solveRightSplit}).
 *
 * solveRight is solveLeft on Bᵀ, (B (L Lᵀ)⁻¹)ᵀ = (L Lᵀ)⁻¹ Bᵀ, and the first two algorithms are written once, in
 * solveLeft's orientation, over an {@link Rhs}: the right-hand sides as the n × r matrix R = B (solveLeft) or
 * R = Bᵀ (solveRight, B's rows read as R's columns). {@link orientedProduct} issues each product C ← α op(F) R + β C
 * as it is, or for transposed right-hand sides as the same product transposed, Cᵀ ← α Rᵀ op(F)ᵀ + β Cᵀ: the same
 * GEMMs in the same order as separate left and right code would issue.
 */
import { type LinearAlgebraHost, invertDiagonalBlocks } from './cholesky.ts';
import type { KernelProduct } from './gemm.ts';
import type { TrackedBuffer } from './shaders.ts';
import { type Block, type Operand, bufferBlock, intervals, subBlock } from './storage.ts';

/** Right-hand-side columns (solveLeft) or rows (solveRight) handled per pass of a triangular solve. */
const RHS_CHUNK = 1 << 18;
/** Rows (solveLeft) or columns (solveRight) of a panel of the triangular products by L⁻¹ (the GEMM's big tile). */
const INV_PANEL = 128;
/** Largest workspace of the explicit-inverse solves' intermediate product. */
const INV_WORKSPACE_BYTES = 256 << 20;

/**
 * n × r right-hand sides R in solveLeft's orientation, in one buffer: R = B row-major (row i of R at offset + i·ld)
 * or, `transposed`, R = Bᵀ with B row-major (row i of R is column i of B, at offset + i; its elements ld apart).
 */
interface Rhs {
  readonly buffer: TrackedBuffer;
  readonly offset: number;
  readonly ld: number;
  readonly transposed: boolean;
}

/** Elements between rows i and i + 1 of R. */
function rowStep(R: Rhs): number {
  return R.transposed ? 1 : R.ld;
}

/** The operand of R from row i on (of Rᵀ from column i on, when transposed). */
function rhsRow(R: Rhs, i: number): Operand {
  return { buffer: R.buffer, offset: R.offset + i * rowStep(R), ld: R.ld };
}

/** A product of the solves in solveLeft's orientation: C (M × N) ← α op(F) R + β C, F a factor-side operand. */
interface SolveProduct {
  M: number;
  N: number;
  K: number;
  f: Operand;
  transF: boolean;
  r: Operand;
  c: Operand;
  alpha: number;
  beta: number;
}

/**
 * The GEMM for a solve product: C ← α op(F) R + β C as it is, or, when the right-hand sides are transposed (R and C
 * stored as Rᵀ and Cᵀ), Cᵀ ← α Rᵀ op(F)ᵀ + β Cᵀ (an N × M output, F the second operand).
 */
function orientedProduct(transposed: boolean, p: SolveProduct): KernelProduct {
  if (!transposed) return { M: p.M, N: p.N, K: p.K, a: p.f, transA: p.transF, b: p.r, transB: false, c: p.c, alpha: p.alpha, beta: p.beta };
  return { M: p.N, N: p.M, K: p.K, a: p.r, transA: false, b: p.f, transB: !p.transF, c: p.c, alpha: p.alpha, beta: p.beta };
}

/** The batch strides (A, B, C, D) of {@link orientedProduct}'s GEMM for strides of F, R and C. */
function orientedStrides(transposed: boolean, f: number, r: number, c: number): [number, number, number, number] {
  return transposed ? [r, f, c, 0] : [f, r, c, 0];
}

/** The tile config of {@link orientedProduct}'s GEMM for a config of the product as written: BM × BN mirrored. */
function orientedConfig(transposed: boolean, config: string): string {
  return transposed ? config.replace(/^(\d+)x(\d+)/, '$2x$1').replace(/-t(\d+)x(\d+)/, '-t$2x$1') : config;
}

/** B ← (L Lᵀ)⁻¹ B for the order-n factor at `l` (B's columns may be split into chunks: each solved on its own). */
export function solveLeft(host: LinearAlgebraHost, l: Operand, n: number, b: Block): void {
  solve(host, l, n, b, false);
}

/**
 * B ← B (L Lᵀ)⁻¹ for the order-n factor at `l`. `split`: B's columns are split into chunks (its storage is, even if
 * this block lies in one of them), which the block-column algorithm handles.
 */
export function solveRight(host: LinearAlgebraHost, l: Operand, n: number, b: Block, split: boolean): void {
  if (n === 0 || b.rows === 0) return;
  if (split) {
    solveRightSplit(host, l, n, b);
    return;
  }
  solve(host, l, n, b, true);
}

/**
 * solveLeft on R = B, or on R = Bᵀ (`transposed`: solveRight, B in one buffer). R's columns are independent
 * right-hand sides: each column chunk of B, and each pass of at most RHS_CHUNK (or the explicit inverse's chunk)
 * of them, on its own; the factor-side workspaces are built once per call.
 */
function solve(host: LinearAlgebraHost, l: Operand, n: number, b: Block, transposed: boolean): void {
  const count = transposed ? b.rows : b.cols;
  if (n === 0 || count === 0) return;
  const byInverse = count >= (host.inverseSolveMinRhs ?? 4 * n);
  const pass = byInverse ? inversePass(host, l, n) : blockedPass(host, l, n);
  const step = byInverse ? inverseChunk(host, n) : RHS_CHUNK;
  for (const [c0, c1] of transposed ? intervals(b.rows) : intervals(b.cols, b.cuts)) {
    for (let r0 = c0; r0 < c1; r0 += step) {
      const r = Math.min(step, c1 - r0);
      const at = transposed ? b.at(r0, 0) : b.at(0, r0);
      pass({ buffer: at.buffer, offset: at.offset, ld: at.ld, transposed }, r);
    }
  }
}

/**
 * The workspaces of the blocked solves with a factor L of order n: X_J = L_JJ⁻¹ for every diagonal block (one
 * batched kernel), Lf = D⁻¹L (block row J scaled by X_J) and Lb = L D⁻¹ (block column J scaled by X_J), with
 * D = blockdiag(L_JJ), each by one batched GEMM. Only the blocks strictly below the diagonal of Lf and Lb are used.
 */
function solveWorkspaces(host: LinearAlgebraHost, l: Operand, n: number): { inv: TrackedBuffer; lf: TrackedBuffer; lb: TrackedBuffer } {
  const { gemm } = host;
  const NB = host.blockSize;
  const blocks = Math.ceil(n / NB);
  const full = Math.floor(n / NB);
  const inv = invertDiagonalBlocks(host, l, n);
  const lf = host.workspace('solve-lf', Math.max(1, n * n) * 4);
  const lb = host.workspace('solve-lb', Math.max(1, n * n) * 4);
  const invAt = (j: number): Operand => ({ buffer: inv, offset: j * NB * NB, ld: NB });
  // Lf[J, :] = X_J L[J, :] for the full block rows J ≥ 1 in one dispatch, the last partial one (columns < J) apart.
  if (full > 1) {
    gemm.batched(
      { M: NB, N: n, K: NB, a: invAt(1), transA: false, b: { buffer: l.buffer, offset: l.offset + NB * l.ld, ld: l.ld }, transB: false, c: { buffer: lf, offset: NB * n, ld: n }, alpha: 1, beta: 0 },
      full - 1,
      [NB * NB, NB * l.ld, NB * n, 0],
    );
  }
  if (full < blocks && full > 0) {
    const j0 = full * NB;
    const nb = n - j0;
    gemm.product({ M: nb, N: j0, K: nb, a: invAt(full), transA: false, b: { buffer: l.buffer, offset: l.offset + j0 * l.ld, ld: l.ld }, transB: false, c: { buffer: lf, offset: j0 * n, ld: n }, alpha: 1, beta: 0 });
  }
  // Lb[:, J] = L[:, J] X_J for every block column but the last (all full), in one dispatch.
  if (blocks > 1) {
    gemm.batched(
      { M: n, N: NB, K: NB, a: l, transA: false, b: invAt(0), transB: false, c: { buffer: lb, offset: 0, ld: n }, alpha: 1, beta: 0 },
      blocks - 1,
      [NB, NB * NB, NB, 0],
    );
  }
  return { inv, lf, lb };
}

/**
 * R_J ← X_J R_J (or X_Jᵀ R_J) for every block row J of the n × r right-hand sides, in place: one batched product
 * over the full blocks and one for a partial last block. In place is safe because the tile config covers a whole
 * block row (BM = 64; BN = 64 for transposed right-hand sides, the mirrored config): each workgroup reads its stripe
 * of R_J completely before it writes it.
 */
function scaleDiagonalBlocks(host: LinearAlgebraHost, inv: TrackedBuffer, n: number, r: number, R: Rhs, transpose: boolean): void {
  const NB = host.blockSize;
  const full = Math.floor(n / NB);
  const t = R.transposed;
  const config = orientedConfig(t, '64x128');
  if (full > 0) {
    const p: SolveProduct = { M: NB, N: r, K: NB, f: { buffer: inv, offset: 0, ld: NB }, transF: transpose, r: rhsRow(R, 0), c: rhsRow(R, 0), alpha: 1, beta: 0 };
    host.gemm.batched(orientedProduct(t, p), full, orientedStrides(t, NB * NB, NB * rowStep(R), NB * rowStep(R)), config);
  }
  if (full * NB < n) {
    const nb = n - full * NB;
    const last = rhsRow(R, full * NB);
    const p: SolveProduct = { M: nb, N: r, K: nb, f: { buffer: inv, offset: full * NB * NB, ld: NB }, transF: transpose, r: last, c: last, alpha: 1, beta: 0 };
    host.gemm.batched(orientedProduct(t, p), 1, [0, 0, 0, 0], config);
  }
}

/** The blocked substitution on one pass of right-hand sides (its workspaces built here, once per solve). */
function blockedPass(host: LinearAlgebraHost, l: Operand, n: number): (R: Rhs, r: number) => void {
  const NB = host.blockSize;
  const blocks = Math.ceil(n / NB);
  const { inv, lf, lb } = solveWorkspaces(host, l, n);
  return (R, r) => {
    const t = R.transposed;
    const row = (i: number): Operand => rhsRow(R, i);
    // L Y = R as Y = D⁻¹R − (D⁻¹L) Y below the diagonal blocks: scale the block rows, then one GEMM per block row.
    scaleDiagonalBlocks(host, inv, n, r, R, false);
    for (let j = 1; j < blocks; j++) {
      const j0 = j * NB;
      const nb = Math.min(NB, n - j0);
      host.gemm.product(orientedProduct(t, { M: nb, N: r, K: j0, f: { buffer: lf, offset: j0 * n, ld: n }, transF: false, r: row(0), c: row(j0), alpha: -1, beta: 1 }));
    }
    // Lᵀ X = Y as X = D⁻ᵀY − (L D⁻¹)ᵀ X above them, from the last block row up.
    scaleDiagonalBlocks(host, inv, n, r, R, true);
    for (let j = blocks - 2; j >= 0; j--) {
      const j0 = j * NB;
      const j1 = j0 + NB;
      host.gemm.product(orientedProduct(t, { M: NB, N: r, K: n - j1, f: { buffer: lb, offset: j1 * n + j0, ld: n }, transF: true, r: row(j1), c: row(j0), alpha: -1, beta: 1 }));
    }
  };
}

/**
 * L⁻¹ (n × n, lower triangular, zeros above the diagonal) in a workspace: the blocked forward substitution on the
 * identity, i.e. the diagonal blocks X_J = L_JJ⁻¹ and then, block row by block row,
 * L⁻¹[J, :J] = −(X_J L[J, :J]) L⁻¹[:J, :J] — n³/3 flops in `blocks − 1` products.
 */
function inverseFactor(host: LinearAlgebraHost, l: Operand, n: number): TrackedBuffer {
  const NB = host.blockSize;
  const blocks = Math.ceil(n / NB);
  const { inv, lf } = solveWorkspaces(host, l, n);
  const linv = host.workspace('solve-linv', n * n * 4);
  host.runtime.clear(linv, 0, n * n * 4);
  for (let j = 0; j < blocks; j++) {
    const j0 = j * NB;
    const nb = Math.min(NB, n - j0);
    host.elementwise.copyOperands(nb, nb, { buffer: linv, offset: j0 * n + j0, ld: n }, { buffer: inv, offset: j * NB * NB, ld: NB });
  }
  for (let j = 1; j < blocks; j++) {
    const j0 = j * NB;
    const nb = Math.min(NB, n - j0);
    host.gemm.product({ M: nb, N: j0, K: j0, a: { buffer: lf, offset: j0 * n, ld: n }, transA: false, b: { buffer: linv, offset: 0, ld: n }, transB: false, c: { buffer: linv, offset: j0 * n, ld: n }, alpha: -1, beta: 1 });
  }
  return linv;
}

/** Right-hand sides per pass of the explicit-inverse solves (the intermediate n × rc product fits a workspace). */
function inverseChunk(host: LinearAlgebraHost, n: number): number {
  const bytes = Math.min(host.runtime.maxStorageBinding, INV_WORKSPACE_BYTES);
  return Math.max(1, Math.min(RHS_CHUNK, Math.floor(bytes / (4 * n))));
}

/**
 * The explicit-inverse solve on one pass of right-hand sides (L⁻¹ built here, once per solve): X = L⁻ᵀ (L⁻¹ R) as
 * two products by L⁻¹, each cut into row panels of INV_PANEL so that the zero triangle is (mostly) skipped:
 * T[P] = L⁻¹[P, :p1] R[:p1], then X[P] = L⁻¹[p0:, P]ᵀ T[p0:]. T (n × r) is stored like R: transposed with it.
 */
function inversePass(host: LinearAlgebraHost, l: Operand, n: number): (R: Rhs, r: number) => void {
  const linv = inverseFactor(host, l, n);
  return (R, r) => {
    const t = R.transposed;
    const T: Rhs = { buffer: host.workspace('solve-inv-t', n * r * 4), offset: 0, ld: t ? n : r, transposed: t };
    for (let p0 = 0; p0 < n; p0 += INV_PANEL) {
      const p1 = Math.min(n, p0 + INV_PANEL);
      host.gemm.product(orientedProduct(t, { M: p1 - p0, N: r, K: p1, f: { buffer: linv, offset: p0 * n, ld: n }, transF: false, r: rhsRow(R, 0), c: rhsRow(T, p0), alpha: 1, beta: 0 }));
    }
    for (let p0 = 0; p0 < n; p0 += INV_PANEL) {
      const p1 = Math.min(n, p0 + INV_PANEL);
      host.gemm.product(orientedProduct(t, { M: p1 - p0, N: r, K: n - p0, f: { buffer: linv, offset: p0 * n + p0, ld: n }, transF: true, r: rhsRow(T, p0), c: rhsRow(R, p0), alpha: 1, beta: 0 }));
    }
  };
}

/**
 * solveRight when B's columns (the order of L) are split into chunks: block column by block column with a
 * workspace T, on blocks that may span chunks (the products cut them as needed).
 */
function solveRightSplit(host: LinearAlgebraHost, l: Operand, n: number, whole: Block): void {
  const { gemm } = host;
  const NB = host.blockSize;
  const blocks = Math.ceil(n / NB);
  const lBlock = bufferBlock(l.buffer, l.offset, l.ld, n, n);
  const inverses = invertDiagonalBlocks(host, l, n);
  for (let r0 = 0; r0 < whole.rows; r0 += RHS_CHUNK) {
    const r = Math.min(RHS_CHUNK, whole.rows - r0);
    const t = host.workspace('solve-t', NB * r * 4);
    const cols = (c0: number, width: number): Block => subBlock(whole, r0, c0, r, width);
    const lAt = (row: number, col: number, rows: number, width: number): Block => subBlock(lBlock, row, col, rows, width);
    const tBlock = (nb: number): Block => bufferBlock(t, 0, NB, r, nb);
    const inv = (j: number, nb: number): Block => bufferBlock(inverses, j * NB * NB, NB, nb, nb);
    // Y Lᵀ = B: T = B[:, J] − Y[:, :J] L[J, :J]ᵀ; Y[:, J] = T L_JJ⁻ᵀ.
    for (let j = 0; j < blocks; j++) {
      const j0 = j * NB;
      const nb = Math.min(NB, n - j0);
      if (j === 0) host.elementwise.copy(tBlock(nb), cols(j0, nb));
      else gemm.multiply(-1, cols(0, j0), false, lAt(j0, 0, nb, j0), true, 1, tBlock(nb), { d: cols(j0, nb) });
      gemm.multiply(1, tBlock(nb), false, inv(j, nb), true, 0, cols(j0, nb));
    }
    // X L = Y: T = Y[:, J] − X[:, J+:] L[J+:, J]; X[:, J] = T L_JJ⁻¹.
    for (let j = blocks - 1; j >= 0; j--) {
      const j0 = j * NB;
      const nb = Math.min(NB, n - j0);
      const j1 = j0 + nb;
      if (j1 === n) host.elementwise.copy(tBlock(nb), cols(j0, nb));
      else gemm.multiply(-1, cols(j1, n - j1), false, lAt(j1, j0, n - j1, nb), false, 1, tBlock(nb), { d: cols(j0, nb) });
      gemm.multiply(1, tBlock(nb), false, inv(j, nb), false, 0, cols(j0, nb));
    }
  }
}
