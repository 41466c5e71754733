/**
 * The blocked Cholesky factorisation on the device, and the diagonal-block kernel it shares with the triangular
 * solves (shaders/cholesky_block.wgsl: factor one NB × NB block in workgroup memory, or invert many factored ones).
 * Routines beside the backend, as the GEMM and the elementwise kernels are: they get what they use of it through
 * {@link LinearAlgebraHost}.
 */
import { NotPositiveDefiniteError } from '@nladmm/core';
import type { ElementwiseKernels } from './elementwiseKernels.ts';
import type { GemmEngine } from './gemm.ts';
import type { KernelHost } from './kernelHost.ts';
import type { TrackedBuffer } from './shaders.ts';
import type { Operand } from './storage.ts';

/** What the Cholesky factorisation and the triangular solves need of the backend. */
export interface LinearAlgebraHost extends Pick<KernelHost, 'runtime' | 'workspace'> {
  readonly gemm: GemmEngine;
  /** For the copies between a factor's blocks and the workspaces. */
  readonly elementwise: ElementwiseKernels;
  /** Block size NB of the factorisation and the solves (64, or 32 when workgroup memory is small). */
  readonly blockSize: number;
  /** The status words a failed pivot is recorded in (read back at the next sync). */
  readonly status: TrackedBuffer;
  /** Fewest right-hand sides for which a solve multiplies by an explicit L⁻¹ (default 4·n). */
  readonly inverseSolveMinRhs: number | undefined;
}

/** Bytes of the status words: (failed, global pivot index, pivot bits, order) of the first failed pivot. */
export const STATUS_BYTES = 16;

/** The error the status words read back record, if a pivot failed. */
export function factorFailure(words: ArrayBuffer): NotPositiveDefiniteError | undefined {
  const status = new Uint32Array(words);
  if (status[0] === 0) return undefined;
  const pivot = new Float32Array(new Uint32Array([status[2]]).buffer)[0];
  return new NotPositiveDefiniteError(status[1], pivot, status[3]);
}

/** The Cholesky diagonal-block kernel: factor (one block at k0) or invert `count` factored blocks. */
function diagonalBlockKernel(host: LinearAlgebraHost, factor: boolean, a: Operand, n: number, k0: number, inverse: TrackedBuffer, count: number): void {
  host.runtime.dispatch({
    shader: 'cholesky_block',
    values: { NB: host.blockSize, FACTOR: factor },
    resources: [
      { placeholder: 'A', buffer: a.buffer, access: 'read_write', type: 'f32' },
      { placeholder: 'INV', buffer: inverse, access: 'read_write', type: 'f32' },
      { placeholder: 'STATUS', buffer: host.status, access: 'read_write', type: 'u32' },
    ],
    params: { n, k0, offA: a.offset, ldA: a.ld, offInv: 0 },
    groups: [count, 1, 1],
    label: factor ? `cholesky factor block (order ${n})` : `cholesky invert ${count} blocks (order ${n})`,
  });
}

/** L_JJ⁻¹ for every diagonal block of a factor, NB × NB each, in a workspace. */
export function invertDiagonalBlocks(host: LinearAlgebraHost, l: Operand, n: number): TrackedBuffer {
  const NB = host.blockSize;
  const blocks = Math.ceil(n / NB);
  const inverses = host.workspace('solve-inverses', blocks * NB * NB * 4);
  diagonalBlockKernel(host, false, l, n, 0, inverses, blocks);
  return inverses;
}

/**
 * A ← L with A = L Lᵀ, in place on the lower triangle of the order-n matrix at `a`, block column by block column
 * (right-looking): factor the diagonal block L_kk (and L_kk⁻¹) in one workgroup, then the panel and the trailing
 * update by GEMMs. A pivot that is not > 0 is recorded in the status words (the host reports it at the next sync).
 */
export function cholesky(host: LinearAlgebraHost, a: Operand, n: number): void {
  if (n === 0) return;
  const NB = host.blockSize;
  const inverse = host.workspace('cholesky-inverse', NB * NB * 4);
  const panel = n > NB ? host.workspace('cholesky-panel', (n - NB) * NB * 4) : undefined;
  for (let k0 = 0; k0 < n; k0 += NB) {
    const nb = Math.min(NB, n - k0);
    diagonalBlockKernel(host, true, a, n, k0, inverse, 1);
    const rest = n - k0 - nb;
    if (rest === 0) break;
    // Panel: P = A21 L_kk⁻ᵀ (into a workspace), copied back to A21; trailing update A22 −= P Pᵀ (lower triangle).
    const a21: Operand = { buffer: a.buffer, offset: a.offset + (k0 + nb) * a.ld + k0, ld: a.ld };
    const a22: Operand = { buffer: a.buffer, offset: a.offset + (k0 + nb) * a.ld + k0 + nb, ld: a.ld };
    const p: Operand = { buffer: panel!, offset: 0, ld: nb };
    host.gemm.product({ M: rest, N: nb, K: nb, a: a21, transA: false, b: { buffer: inverse, offset: 0, ld: NB }, transB: true, c: p, alpha: 1, beta: 0 });
    host.elementwise.copyOperands(rest, nb, a21, p);
    host.gemm.product({ M: rest, N: rest, K: nb, a: p, transA: false, b: p, transB: true, c: a22, alpha: -1, beta: 1, sym: 1 });
  }
}
