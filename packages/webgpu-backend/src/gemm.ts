/**
 * Host side of the GEMM kernels (shaders/gemm.wgsl, shaders/gemm_reduce.wgsl): the choice of tile configuration
 * (gemmTiles.ts), split-K, batching, products over column-split storage, and their uniforms and dispatches.
 */
import { TILE_CONFIGS, type TileConfig, gemmSnippets, tileConfig } from './gemmTiles.ts';
import type { DispatchSpec, GpuRuntime } from './runtime.ts';
import type { Resource, TrackedBuffer } from './shaders.ts';
import { type Block, type Operand, intervals } from './storage.ts';

export interface GemmTuning {
  /** Workgroups the device runs at once (about 2 per SM); split-K aims to give each of them work. */
  residentWorkgroups: number;
  /** Force one tile config by name or spec (benchmarks; see {@link tileConfig}); otherwise chosen per product. */
  forceConfig?: string;
  /** Disable split-K (benchmarks). */
  noSplitK?: boolean;
  /** Largest split-K partial workspace in bytes. */
  maxPartialBytes: number;
}

/** Symmetric modes: 0 full; 1 lower triangle only; 2 lower triangle computed and mirrored (exactly symmetric). */
export type SymMode = 0 | 1 | 2;

/** One product on single-buffer operands, possibly batched over z. */
export interface KernelProduct {
  M: number;
  N: number;
  K: number;
  a: Operand;
  transA: boolean;
  b: Operand;
  transB: boolean;
  c: Operand;
  /** The β term's matrix (defaults to C). */
  d?: Operand;
  alpha: number;
  beta: number;
  sym?: SymMode;
  /** Global row/column of the block's (0, 0) and the whole matrix's origin in C (sym modes). */
  rowBase?: number;
  colBase?: number;
  mirrorOffset?: number;
}

const MAX_SLICES = 64;

/**
 * Into how many slices to cut an inner dimension of length K for an output of `tiles` workgroup tiles, given the
 * share of the device's resident workgroups this product may fill (products over column chunks divide it).
 */
function splitK(K: number, tiles: number, share: number, tuning: GemmTuning): number {
  if (tuning.noSplitK || K < 512) return 1;
  const wanted = Math.floor((tuning.residentWorkgroups * share) / Math.max(1, tiles));
  const byLength = Math.floor(K / 256);
  return Math.max(1, Math.min(wanted, byLength, MAX_SLICES));
}

function roundUp(x: number, step: number): number {
  return Math.ceil(x / step) * step;
}

export class GemmEngine {
  constructor(
    private readonly runtime: GpuRuntime,
    private readonly workspace: (name: string, bytes: number) => TrackedBuffer,
    readonly tuning: GemmTuning,
  ) {}

  #tileConfig(name: string): TileConfig {
    const limits = this.runtime.device.limits;
    return tileConfig(name, { maxInvocations: limits.maxComputeInvocationsPerWorkgroup, maxWorkgroupBytes: limits.maxComputeWorkgroupStorageSize });
  }

  /** The tile config for an M × N output with inner dimension K (lower triangle only when `sym`). */
  chooseConfig(M: number, N: number, K: number, sym: boolean): TileConfig {
    if (this.tuning.forceConfig) return this.#tileConfig(this.tuning.forceConfig);
    let best = TILE_CONFIGS[0];
    let bestCost = Infinity;
    for (const cfg of TILE_CONFIGS) {
      const tm = Math.ceil(M / cfg.BM);
      const tn = Math.ceil(N / cfg.BN);
      const tiles = sym ? (Math.min(tm, tn) * (Math.min(tm, tn) + 1)) / 2 + Math.abs(tm - tn) * Math.min(tm, tn) : tm * tn;
      const slices = splitK(K, tiles, 1, this.tuning);
      const kChunk = Math.ceil(K / slices);
      const waves = Math.ceil((tiles * slices) / this.tuning.residentWorkgroups);
      // Time ∝ waves × work of one workgroup / its rate; ties go to the larger tile (listed first).
      const cost = (waves * cfg.BM * cfg.BN * Math.max(kChunk, 16)) / cfg.efficiency;
      if (cost < bestCost * 0.999) {
        best = cfg;
        bestCost = cost;
      }
    }
    return best;
  }

  /**
   * C ← α op(A) op(B) + β D over blocks that may span column chunks (D defaults to C). Output intervals are cut at
   * the chunk boundaries of C, D and the operand dimension that runs along them; the inner dimension at those of
   * A and B, and summed across its pieces (split-K partials, then one reduction).
   */
  multiply(alpha: number, A: Block, transA: boolean, B: Block, transB: boolean, beta: number, C: Block, options: { d?: Block; sym?: SymMode } = {}): void {
    const M = C.rows;
    const N = C.cols;
    const K = transA ? A.rows : A.cols;
    const D = options.d ?? C;
    const sym = options.sym ?? 0;
    const mCuts = transA ? A.cuts : [];
    const nCuts = [...(transB ? [] : B.cuts), ...C.cuts, ...D.cuts];
    const kCuts = [...(transA ? [] : A.cuts), ...(transB ? B.cuts : [])];
    const origin = C.at(0, 0);
    if (sym === 2 && C.cuts.length > 0) throw new RangeError('webgpu backend: a Gram matrix must not be split into column chunks (raise maxBindingBytes)');
    const opA = (m: number, k: number): Operand => (transA ? A.at(k, m) : A.at(m, k));
    const opB = (k: number, n: number): Operand => (transB ? B.at(n, k) : B.at(k, n));
    const regions: [number, number, number, number][] = [];
    for (const [m0, m1] of intervals(M, mCuts)) {
      for (const [n0, n1] of intervals(N, nCuts)) {
        if (sym === 0 || m1 - 1 >= n0) regions.push([m0, m1, n0, n1]);
      }
    }
    // Each region may fill the device in proportion to its share of the output (in 64 × 64 tiles).
    const tiles64 = ([m0, m1, n0, n1]: [number, number, number, number]) => Math.ceil((m1 - m0) / 64) * Math.ceil((n1 - n0) / 64);
    const totalTiles = regions.reduce((s, r) => s + tiles64(r), 0);
    const kIntervals = intervals(K, kCuts);
    for (const region of regions) {
      const [m0, m1, n0, n1] = region;
      const pieces = kIntervals.map(([k0, k1]) => ({ k0, k1, a: opA(m0, k0), b: opB(k0, n0) }));
      const base = {
        M: m1 - m0,
        N: n1 - n0,
        transA,
        transB,
        c: C.at(m0, n0),
        d: D.at(m0, n0),
        alpha,
        beta,
        sym,
        rowBase: m0,
        colBase: n0,
        mirrorOffset: origin.offset,
      };
      if (pieces.length === 0) {
        // K = 0: C ← β D.
        this.directProduct({ ...base, K: 0, a: opA(m0, 0), b: opB(0, n0) }, this.chooseConfig(base.M, base.N, 0, sym !== 0));
      } else {
        this.productOverPieces(base, pieces, tiles64(region) / totalTiles);
      }
    }
  }

  /** One output block whose inner dimension is cut into pieces held by different buffers. */
  private productOverPieces(
    base: Omit<KernelProduct, 'K' | 'a' | 'b'>,
    pieces: { k0: number; k1: number; a: Operand; b: Operand }[],
    share: number,
  ): void {
    const { M, N } = base;
    const sym = base.sym ?? 0;
    const K = pieces[pieces.length - 1].k1;
    const cfg = this.chooseConfig(M, N, K, sym !== 0);
    const tiles = Math.ceil(M / cfg.BM) * Math.ceil(N / cfg.BN);
    const plan = pieces.map((p) => {
      const length = p.k1 - p.k0;
      let slices = splitK(length, tiles, share / pieces.length, this.tuning);
      const chunk = roundUp(Math.ceil(length / slices), cfg.BK);
      slices = Math.ceil(length / chunk);
      return { ...p, length, slices, chunk };
    });
    let total = plan.reduce((s, p) => s + p.slices, 0);
    const sliceBytes = M * N * 4;
    const maxSlices = Math.max(1, Math.floor(Math.min(this.tuning.maxPartialBytes, this.runtime.maxStorageBinding) / sliceBytes));
    if (total > maxSlices) {
      // Too many partials for the workspace: fewer slices per piece (at least one each).
      for (const p of plan) {
        p.slices = 1;
        p.chunk = roundUp(p.length, cfg.BK);
      }
      total = plan.length;
    }
    if (total === 1) {
      const p = plan[0];
      this.directProduct({ ...base, K: p.length, a: p.a, b: p.b }, cfg);
      return;
    }
    if (total > maxSlices) {
      // Still too many pieces: accumulate them one after another into C.
      plan.forEach((p, k) => this.directProduct({ ...base, K: p.length, a: p.a, b: p.b, beta: k === 0 ? base.beta : 1, d: k === 0 ? base.d : base.c }, cfg));
      return;
    }
    const partials = this.workspace('gemm-partials', total * sliceBytes);
    let slice = 0;
    for (const p of plan) {
      this.kernel({
        M,
        N,
        K: p.length,
        a: p.a,
        transA: base.transA,
        b: p.b,
        transB: base.transB,
        c: { buffer: partials, offset: slice * M * N, ld: N },
        alpha: 1,
        beta: 0,
        sym: sym === 0 ? 0 : 1,
        rowBase: base.rowBase,
        colBase: base.colBase,
        mirrorOffset: 0,
      }, cfg, { partial: true, kStep: p.chunk, kLen: p.chunk, batch: p.slices, strides: [0, 0, M * N, 0] });
      slice += p.slices;
    }
    this.reduce(base, partials, total);
  }

  /** A product whose operands each sit in one buffer (split-K within it when that fills the device better). */
  product(p: KernelProduct): void {
    if (p.M === 0 || p.N === 0) return;
    if (p.K > 0) {
      this.productOverPieces(
        { M: p.M, N: p.N, transA: p.transA, transB: p.transB, c: p.c, d: p.d, alpha: p.alpha, beta: p.beta, sym: p.sym, rowBase: p.rowBase, colBase: p.colBase, mirrorOffset: p.mirrorOffset },
        [{ k0: 0, k1: p.K, a: p.a, b: p.b }],
        1,
      );
      return;
    }
    this.directProduct(p, this.chooseConfig(p.M, p.N, 0, (p.sym ?? 0) !== 0));
  }

  /** A product computed directly by one dispatch (no split-K): used by {@link productOverPieces} and batches. */
  private directProduct(p: KernelProduct, cfg: TileConfig): void {
    this.kernel(p, cfg, { partial: false, kStep: 0, kLen: p.K, batch: 1, strides: [0, 0, 0, 0] });
  }

  /**
   * `count` same-shaped products in one dispatch (z = workgroup_id.z), operand z of A, B, C, D at offset + z·stride
   * (strides in elements, in that order). With `config`, that tile config (the in-place products of the solves
   * rely on a tile covering the whole block: BM ≥ M or BN ≥ N).
   */
  batched(p: KernelProduct, count: number, strides: readonly [number, number, number, number], config?: string): void {
    if (count === 0 || p.M === 0 || p.N === 0) return;
    const cfg = config ? this.#tileConfig(config) : this.chooseConfig(p.M, p.N, 0, (p.sym ?? 0) !== 0);
    this.kernel(p, cfg, { partial: false, kStep: 0, kLen: p.K, batch: count, strides });
  }

  private kernel(
    p: KernelProduct,
    cfg: TileConfig,
    mode: { partial: boolean; kStep: number; kLen: number; batch: number; strides: readonly [number, number, number, number] },
  ): void {
    const { M, N, K } = p;
    const [sA, sB, sC, sD] = mode.strides;
    const kStep = mode.partial ? mode.kStep : 0;
    const kLen = mode.partial ? mode.kLen : K;
    const kAligned = K % 4 === 0 && kLen % 4 === 0 && kStep % 4 === 0;
    // vec4 loads along each operand's contiguous dimension when every vec4 lies whole inside it. An operand in C's
    // buffer (the solves read one part of the right-hand sides while writing another) shares C's read_write binding,
    // and so its f32 element type.
    const aligned = (o: Operand, stride: number) => o.offset % 4 === 0 && o.ld % 4 === 0 && stride % 4 === 0;
    const vecA = p.a.buffer !== p.c.buffer && aligned(p.a, sA) && (p.transA ? M % 4 === 0 : kAligned);
    const vecB = p.b.buffer !== p.c.buffer && aligned(p.b, sB) && (p.transB ? kAligned : N % 4 === 0);
    const betaZero = mode.partial || p.beta === 0;
    const d = p.d ?? p.c;
    const sym = p.sym ?? 0;
    // vec4 stores of C (and loads of D) along its rows when every vec4 of a row lies whole inside it; not in the
    // symmetric modes (element-wise triangle and mirror) nor when A or B is read from C's buffer (as f32).
    const vecC = sym === 0 && N % 4 === 0 && p.a.buffer !== p.c.buffer && p.b.buffer !== p.c.buffer && aligned(p.c, sC) && (betaZero || aligned(d, sD));
    const resources: Resource[] = [
      { placeholder: 'A', buffer: p.a.buffer, access: 'read', type: vecA ? 'vec4' : 'f32' },
      { placeholder: 'B', buffer: p.b.buffer, access: 'read', type: vecB ? 'vec4' : 'f32' },
      { placeholder: 'C', buffer: p.c.buffer, access: 'read_write', type: vecC ? 'vec4' : 'f32' },
      { placeholder: 'D', buffer: betaZero ? p.c.buffer : d.buffer, access: 'read', type: vecC ? 'vec4' : 'f32' },
    ];
    const spec: DispatchSpec = {
      shader: 'gemm',
      values: {
        BM: cfg.BM,
        BN: cfg.BN,
        BK: cfg.BK,
        STAGES: cfg.stages ?? 1,
        TM: cfg.TM,
        TN: cfg.TN,
        TRANS_A: p.transA,
        TRANS_B: p.transB,
        VEC_A: vecA,
        VEC_B: vecB,
        VEC_C: vecC,
        ...gemmSnippets(cfg),
      },
      resources,
      loaders: ['A', 'B', 'D'],
      stores: ['C'],
      params: {
        M,
        N,
        K,
        kStep,
        kLen,
        offA: p.a.offset,
        ldA: p.a.ld,
        strideA: sA,
        offB: p.b.offset,
        ldB: p.b.ld,
        strideB: sB,
        offC: p.c.offset,
        ldC: p.c.ld,
        strideC: sC,
        offD: betaZero ? 0 : d.offset,
        ldD: betaZero ? 0 : d.ld,
        strideD: sD,
        rowBase: p.rowBase ?? 0,
        colBase: p.colBase ?? 0,
        offMirror: p.mirrorOffset ?? 0,
        alpha: p.alpha,
        beta: p.beta,
        flags: (betaZero ? 1 : 0) | (mode.partial ? 2 : 0) | (sym << 2),
      },
      groups: [Math.ceil(N / cfg.BN), Math.ceil(M / cfg.BM), mode.batch],
      label: `gemm ${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} ${M}×${N}×${K} ${cfg.name}${mode.partial ? ` split-K ×${mode.batch}` : mode.batch > 1 ? ` batch ×${mode.batch}` : ''}${sym ? ' sym' : ''}`,
    };
    this.runtime.dispatch(spec);
  }

  /** C ← α Σ partial slices + β D (slices in groups of at most 64; later groups add onto C). */
  private reduce(base: Omit<KernelProduct, 'K' | 'a' | 'b'>, partials: TrackedBuffer, total: number): void {
    const { M, N } = base;
    const d = base.d ?? base.c;
    for (let first = 0; first < total; first += MAX_SLICES) {
      const slices = Math.min(MAX_SLICES, total - first);
      const beta = first === 0 ? base.beta : 1;
      const dd = first === 0 ? d : base.c;
      const betaZero = beta === 0;
      this.runtime.dispatch({
        shader: 'gemm_reduce',
        values: { BETA_ZERO: betaZero, SYM: base.sym ?? 0 },
        resources: [
          { placeholder: 'P', buffer: partials, access: 'read', type: 'f32' },
          { placeholder: 'C', buffer: base.c.buffer, access: 'read_write', type: 'f32' },
          { placeholder: 'D', buffer: betaZero ? base.c.buffer : dd.buffer, access: 'read', type: 'f32' },
        ],
        params: {
          M,
          N,
          slices,
          offP: first * M * N,
          offC: base.c.offset,
          ldC: base.c.ld,
          offD: betaZero ? 0 : dd.offset,
          ldD: betaZero ? 0 : dd.ld,
          rowBase: base.rowBase ?? 0,
          colBase: base.colBase ?? 0,
          offMirror: base.mirrorOffset ?? 0,
          alpha: base.alpha,
          beta,
        },
        groups: [Math.min(Math.ceil(N / 64), 1024), Math.min(Math.ceil(M / 4), 64), 1],
        label: `gemm split-K reduce ${M}×${N} of ${slices}`,
      });
    }
  }
}
