/// <reference types="@webgpu/types" />
import {
  type Activation,
  type AdamStepOptions,
  CheckedBackend,
  type DeviceScalar,
  type Loss,
  NotPositiveDefiniteError,
  type Precision,
  matrixShape as shape,
} from '@nladmm/core';
import { GemmEngine, type GemmTuning, TILE_CONFIGS } from './gemm.ts';
import { LossKernels } from './lossKernels.ts';
import { type DispatchSpec, GpuRuntime, type ProfileEntry, type RuntimeStats, ShaderCompileError, f32 } from './runtime.ts';
import type { Resource, TrackedBuffer } from './shaders.ts';
import { Allocation, type Block, type Chunk, GpuMatrix, type Operand, bufferBlock, intervals, matrixBlock, subBlock } from './storage.ts';

/** What the adapter says about itself (GPUAdapterInfo's fields, all optional). */
export interface AdapterDescription {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  /** Whether the adapter is a CPU implementation (SwiftShader, lavapipe). */
  readonly isSoftware?: boolean;
}

export interface WebGpuBackendOptions {
  readonly device: GPUDevice;
  /** Shown by describe(); defaults to device.adapterInfo when the implementation has it. */
  readonly adapterInfo?: AdapterDescription;
  /**
   * Largest storage buffer a matrix may occupy before it is split by columns (default: the device's
   * maxStorageBufferBindingSize). Tests force a small value to exercise the split path.
   */
  readonly maxBindingBytes?: number;
  /** GEMM tuning overrides (benchmarks). */
  readonly gemm?: Partial<GemmTuning>;
  /**
   * Block size of the Cholesky factorisation and the triangular solves: 64 (default where workgroup memory holds
   * two 64 × 65 f32 blocks) or 32.
   */
  readonly blockSize?: 32 | 64;
  /**
   * Fewest right-hand sides (solveLeft: columns of B; solveRight: rows) for which a solve multiplies by an explicit
   * L⁻¹ (built once per call, n³/3 flops) instead of running the blocked substitution (default 4·n). 0 forces the
   * inverse path, Infinity the substitution (tests compare the two).
   */
  readonly inverseSolveMinRhs?: number;
}

/** Right-hand-side columns (solveLeft) or rows (solveRight) handled per pass of a triangular solve. */
const RHS_CHUNK = 1 << 18;
/** Rows (solveLeft) or columns (solveRight) of a panel of the triangular products by L⁻¹ (the GEMM's big tile). */
const INV_PANEL = 128;
/** Largest workspace of the explicit-inverse solves' intermediate product. */
const INV_WORKSPACE_BYTES = 256 << 20;
const SCALAR_SLOTS = 4096;
const STATUS_BYTES = 16;

class GpuScalar implements DeviceScalar {
  readonly deviceScalar = true as const;
  released = false;
  constructor(
    readonly slot: number,
    readonly owner: WebGpuBackend,
  ) {}
}

/** Identifies an activation's WGSL (two activations with the same snippets share pipelines). */
function activationValues(act: Activation | undefined): { SIGMA: string; DSIGMA: string } {
  return act ? { SIGMA: act.wgsl.sigma, DSIGMA: act.wgsl.dsigma } : { SIGMA: 'return x;', DSIGMA: 'return 1.0;' };
}

type ElementwiseOp = 'fill' | 'copy' | 'axpby' | 'square_axpby' | 'adam_apply' | 'shifted' | 'activate' | 'multiplier' | 'multiplier_d';
type ReduceOp = 'sumsq' | 'dot' | 'maxabs';

/**
 * The WebGPU backend (f32). Work is encoded into one command encoder and submitted at sync points or every few
 * hundred dispatches; device scalars live in one storage buffer and are read by the kernels that need them, so an
 * iteration of Algorithm 1 needs no readback. See ../../../shaders/*.wgsl for the kernels.
 */
export class WebGpuBackend extends CheckedBackend<GpuMatrix, GpuScalar> {
  readonly name = 'webgpu';
  readonly precision: Precision = 'f32';
  readonly maxBindingBytes: number;
  /** Block size of the Cholesky factorisation and the triangular solves (64, or 32 when workgroup memory is small). */
  readonly blockSize: number;
  readonly #inverseSolveMinRhs: number | undefined;
  readonly #runtime: GpuRuntime;
  readonly #gemm: GemmEngine;
  readonly #losses: LossKernels;
  readonly #info: AdapterDescription;
  readonly #allocations = new Set<Allocation>();
  readonly #scalars = new Set<GpuScalar>();
  #scalarBuffer: TrackedBuffer;
  #scalarCapacity = SCALAR_SLOTS;
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;
  readonly #status: TrackedBuffer;
  /** Whether a Cholesky ran since the status word was last read. */
  #statusDirty = false;
  readonly #workspaces = new Map<string, TrackedBuffer>();
  readonly #prepared = new Set<string>();

  private constructor(options: WebGpuBackendOptions) {
    super(GpuMatrix, GpuScalar);
    const device = options.device;
    this.#runtime = new GpuRuntime(device);
    const limit = device.limits.maxStorageBufferBindingSize;
    const requested = options.maxBindingBytes ?? limit;
    if (!(requested >= 16)) throw new RangeError(`webgpu backend: maxBindingBytes must be ≥ 16, got ${requested}`);
    this.maxBindingBytes = Math.min(requested, limit, device.limits.maxBufferSize);
    const fits = (nb: number) => device.limits.maxComputeWorkgroupStorageSize >= 2 * nb * (nb + 1) * 4 + nb * 4;
    if (options.blockSize !== undefined && (![32, 64].includes(options.blockSize) || !fits(options.blockSize))) {
      throw new RangeError(`webgpu backend: blockSize ${options.blockSize} is not 32 or 64, or does not fit the device's workgroup memory`);
    }
    this.blockSize = options.blockSize ?? (fits(64) ? 64 : 32);
    if (options.inverseSolveMinRhs !== undefined && !(options.inverseSolveMinRhs >= 0)) {
      throw new RangeError(`webgpu backend: inverseSolveMinRhs must be ≥ 0, got ${options.inverseSolveMinRhs}`);
    }
    this.#inverseSolveMinRhs = options.inverseSolveMinRhs;
    const info = options.adapterInfo ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    this.#info = info
      ? {
          vendor: info.vendor,
          architecture: info.architecture,
          device: info.device,
          description: info.description,
          isSoftware:
            (info as AdapterDescription).isSoftware ??
            /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`),
        }
      : {};
    // A software adapter (SwiftShader on a few cores) runs a few workgroups at once: split-K aims at that.
    this.#gemm = new GemmEngine(this.#runtime, (name, bytes) => this.#workspace(name, bytes), {
      residentWorkgroups: this.#info.isSoftware ? 8 : 264,
      maxPartialBytes: 256 << 20,
      ...options.gemm,
    });
    this.#scalarBuffer = this.#runtime.acquire(SCALAR_SLOTS * 4, 'nladmm scalars').buffer;
    this.#losses = new LossKernels({ runtime: this.#runtime, workspace: (name, bytes) => this.#workspace(name, bytes), scalarBuffer: () => this.#scalarBuffer });
    this.#status = this.#runtime.acquire(STATUS_BYTES, 'nladmm status').buffer;
  }

  /** A backend on a device the caller owns (and destroys after {@link dispose}). */
  static async create(options: WebGpuBackendOptions): Promise<WebGpuBackend> {
    const backend = new WebGpuBackend(options);
    await backend.#runtime.idle();
    return backend;
  }

  describe(): string {
    const { vendor, architecture, description, device } = this.#info;
    const adapter = [vendor, architecture, device, description].filter((s) => s && s.length > 0).join(' / ') || 'unknown adapter';
    return `webgpu (${this.precision}) on ${adapter}${this.#info.isSoftware ? ' [software]' : ''}`;
  }

  /** Counters of the device runtime (pipelines created, dispatches, submits, …). */
  get stats(): Readonly<RuntimeStats> {
    return this.#runtime.stats;
  }

  /** The adapter as given or found. */
  get adapter(): AdapterDescription {
    return this.#info;
  }

  /** The GPU device in use. */
  get device(): GPUDevice {
    return this.#runtime.device;
  }

  /** Names of the GEMM tile configurations (for benchmarks: see WebGpuBackendOptions.gemm.forceConfig). */
  static get gemmConfigs(): string[] {
    return TILE_CONFIGS.map((c) => c.name);
  }

  /**
   * Times the work `run` encodes (benchmarks): wall time from the first encoded command to the end of the GPU work,
   * and GPU time between timestamp queries around it when the device has the 'timestamp-query' feature.
   */
  async time(run: () => void | Promise<void>): Promise<{ wallMs: number; gpuMs?: number }> {
    await this.sync();
    const device = this.#runtime.device;
    const querySet = device.features.has('timestamp-query') ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
    try {
      const start = performance.now();
      if (querySet) this.#runtime.timestamp(querySet, 0);
      await run();
      if (querySet) this.#runtime.timestamp(querySet, 1);
      await this.sync();
      const wallMs = performance.now() - start;
      if (!querySet) return { wallMs };
      const [t0, t1] = await this.#runtime.readTimestamps(querySet, 2);
      return { wallMs, gpuMs: t1 > t0 ? Number(t1 - t0) / 1e6 : undefined };
    } finally {
      querySet?.destroy();
    }
  }

  /**
   * GPU time of every dispatch the work `run` encodes (at most `capacity` of them; benchmarks and tuning), each
   * in a compute pass of its own between timestamps. Needs the 'timestamp-query' feature. The results of `run`
   * are the same as without profiling.
   */
  async profile(run: () => void | Promise<void>, capacity = 2048): Promise<ProfileEntry[]> {
    this.assertAlive('profile');
    await this.sync();
    this.#runtime.startProfile(capacity);
    let entries: ProfileEntry[];
    try {
      await run();
    } finally {
      entries = await this.#runtime.stopProfile();
    }
    // Reports what the work raised on the device (a failed Cholesky, a validation error), as sync does.
    await this.sync();
    return entries;
  }

  // ---- memory ----

  protected _alloc(rows: number, cols: number): GpuMatrix {
    const bytes = rows * cols * 4;
    let chunkCols = cols;
    if (bytes > this.maxBindingBytes) {
      chunkCols = Math.floor(this.maxBindingBytes / (4 * rows));
      if (chunkCols >= 8) chunkCols -= chunkCols % 4;
      if (chunkCols < 1) {
        throw new RangeError(`alloc: one column of a ${rows}×${cols} matrix (${rows * 4} bytes) exceeds maxBindingBytes = ${this.maxBindingBytes}`);
      }
    }
    const chunks: Chunk[] = [];
    for (let col0 = 0; col0 < Math.max(cols, 1); col0 += Math.max(chunkCols, 1)) {
      const width = Math.min(chunkCols, cols - col0);
      const { buffer, fresh } = this.#runtime.acquire(Math.max(rows * width * 4, 4), 'nladmm matrix');
      if (!fresh) this.#runtime.clear(buffer);
      chunks.push({ buffer, col0, cols: width });
      if (cols === 0) break;
    }
    const allocation = new Allocation(this, rows, cols, Math.max(chunkCols, 1), chunks);
    this.#allocations.add(allocation);
    return new GpuMatrix(rows, cols, cols, allocation, false);
  }

  protected _upload(d: GpuMatrix, data: ArrayLike<number>): void {
    if (d.rows === 0 || d.cols === 0) return;
    const block = matrixBlock(d);
    for (const [c0, c1] of intervals(d.cols, block.cuts)) {
      const width = c1 - c0;
      const packed = new Float32Array(d.rows * width);
      if (c0 === 0 && width === d.cols) packed.set(data as ArrayLike<number>);
      else for (let r = 0; r < d.rows; r++) for (let c = 0; c < width; c++) packed[r * width + c] = data[r * d.cols + c0 + c];
      const target = block.at(0, c0);
      if (target.ld === width || d.rows === 1) {
        this.#runtime.write(target.buffer, target.offset * 4, packed);
      } else {
        // A view with ld > cols: upload packed, then a strided copy on the device.
        const { buffer: staging } = this.#runtime.acquire(packed.byteLength, 'nladmm upload');
        this.#runtime.write(staging, 0, packed);
        this.#elementwiseKernel('copy', undefined, d.rows, width, 0, [target, { buffer: staging, offset: 0, ld: width }], {});
        this.#runtime.release(staging);
      }
    }
  }

  protected async _download(s: GpuMatrix): Promise<Float64Array> {
    const out = new Float64Array(s.rows * s.cols);
    const block = matrixBlock(s);
    const pieces = s.rows === 0 || s.cols === 0 ? [] : intervals(s.cols, block.cuts).map(([c0, c1]) => ({ c0, c1, op: block.at(0, c0) }));
    const ranges = pieces.map(({ c0, c1, op }) => ({ buffer: op.buffer, offset: op.offset * 4, size: ((s.rows - 1) * op.ld + (c1 - c0)) * 4 }));
    const data = await this.#read(ranges);
    pieces.forEach(({ c0, c1, op }, k) => {
      const values = new Float32Array(data[k]);
      const width = c1 - c0;
      for (let r = 0; r < s.rows; r++) {
        const from = r * op.ld;
        const to = r * s.cols + c0;
        for (let c = 0; c < width; c++) out[to + c] = values[from + c];
      }
    });
    return out;
  }

  protected _free(matrix: GpuMatrix): void {
    const a = matrix.allocation;
    a.released = true;
    for (const chunk of a.chunks) this.#runtime.release(chunk.buffer);
    a.chunks = [];
    this.#allocations.delete(a);
  }

  protected _view(parent: GpuMatrix, rows: number, cols: number): GpuMatrix {
    return new GpuMatrix(rows, cols, parent.ld, parent.allocation, true);
  }

  protected _copy(s: GpuMatrix, d: GpuMatrix): void {
    this.#elementwise('copy', undefined, d, [s], {});
  }

  protected _fill(d: GpuMatrix, value: number): void {
    this.#elementwise('fill', undefined, d, [], { alpha: value });
  }

  // ---- device scalars ----

  protected _scalar(value: number): GpuScalar {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      if (this.#nextSlot === this.#scalarCapacity) this.#growScalars();
      slot = this.#nextSlot++;
    }
    const s = new GpuScalar(slot, this);
    this.#scalars.add(s);
    this.#scalarKernel(0, slot, slot, 0, value);
    return s;
  }

  protected async _readScalars(list: readonly GpuScalar[]): Promise<number[]> {
    const slots = list.map((s) => s.slot);
    if (slots.length === 0) return [];
    // One copy of the slot range that holds them all (at most SCALAR_SLOTS · 4 bytes).
    const first = Math.min(...slots);
    const last = Math.max(...slots);
    const [data] = await this.#read([{ buffer: this.#scalarBuffer, offset: first * 4, size: (last - first + 1) * 4 }]);
    const values = new Float32Array(data);
    return slots.map((slot) => values[slot - first]);
  }

  protected _freeScalar(scalar: GpuScalar): void {
    scalar.released = true;
    this.#scalars.delete(scalar);
    this.#freeSlots.push(scalar.slot);
  }

  protected _scalarAffine(target: GpuScalar, source: GpuScalar, a: number, b: number): void {
    this.#scalarKernel(1, target.slot, source.slot, a, b);
  }

  // ---- dense linear algebra ----

  protected _gemm(alpha: number, A: GpuMatrix, transA: boolean, B: GpuMatrix, transB: boolean, beta: number, C: GpuMatrix, { m, n }: { m: number; n: number; k: number }): void {
    if (m === 0 || n === 0) return;
    this.#gemm.multiply(alpha, matrixBlock(A), transA, matrixBlock(B), transB, beta, matrixBlock(C));
  }

  protected _gram(alpha: number, A: GpuMatrix, transA: boolean, beta: number, C: GpuMatrix, { n }: { n: number; k: number }): void {
    this.#assertWhole('gram', 'C', C);
    if (n === 0) return;
    const block = matrixBlock(A);
    this.#gemm.multiply(alpha, block, transA, block, !transA, beta, matrixBlock(C), { sym: 2 });
  }

  protected _shiftedScale(S: GpuMatrix, scalar: GpuScalar, shift: number, O: GpuMatrix): void {
    this.#elementwise('shifted', undefined, O, [S], { shift, slot: scalar.slot });
  }

  protected _adamStep(G: GpuMatrix, M: GpuMatrix, V: GpuMatrix, W: GpuMatrix, options: AdamStepOptions): void {
    const { learningRate, beta1, beta2, epsilon, step } = options;
    this.#elementwise('axpby', undefined, M, [G], { alpha: 1 - beta1, beta: beta1 });
    this.#elementwise('square_axpby', undefined, V, [G], { alpha: 1 - beta2, beta: beta2 });
    // W ← W − α M / (√(β V) + ε) with α = lr / (1 − β1^t), β = 1 / (1 − β2^t), ε in the shift slot.
    this.#elementwise('adam_apply', undefined, W, [M, V], { alpha: learningRate / (1 - beta1 ** step), beta: 1 / (1 - beta2 ** step), shift: epsilon });
  }

  protected _axpby(alpha: number, X: GpuMatrix, beta: number, Y: GpuMatrix): void {
    this.#elementwise('axpby', undefined, Y, [X], { alpha, beta });
  }

  // ---- symmetric positive definite systems ----

  protected _cholesky(M: GpuMatrix): void {
    this.#assertWhole('cholesky', 'the matrix', M);
    const n = M.rows;
    if (n === 0) return;
    const NB = this.blockSize;
    const a = matrixBlock(M).at(0, 0);
    const inverse = this.#workspace('cholesky-inverse', NB * NB * 4);
    const panel = n > NB ? this.#workspace('cholesky-panel', (n - NB) * NB * 4) : undefined;
    this.#statusDirty = true;
    for (let k0 = 0; k0 < n; k0 += NB) {
      const nb = Math.min(NB, n - k0);
      this.#blockKernel(true, a, n, k0, inverse, 1);
      const rest = n - k0 - nb;
      if (rest === 0) break;
      // Panel: P = A21 L_kk⁻ᵀ (into a workspace), copied back to A21; trailing update A22 −= P Pᵀ (lower triangle).
      const a21: Operand = { buffer: a.buffer, offset: a.offset + (k0 + nb) * a.ld + k0, ld: a.ld };
      const a22: Operand = { buffer: a.buffer, offset: a.offset + (k0 + nb) * a.ld + k0 + nb, ld: a.ld };
      const p: Operand = { buffer: panel!, offset: 0, ld: nb };
      this.#gemm.product({ M: rest, N: nb, K: nb, a: a21, transA: false, b: { buffer: inverse, offset: 0, ld: NB }, transB: true, c: p, alpha: 1, beta: 0 });
      this.#elementwiseKernel('copy', undefined, rest, nb, 0, [a21, p], {});
      this.#gemm.product({ M: rest, N: rest, K: nb, a: p, transA: false, b: p, transB: true, c: a22, alpha: -1, beta: 1, sym: 1 });
    }
  }

  protected _solveLeft(L: GpuMatrix, B: GpuMatrix): void {
    this.#assertWhole('solveLeft', 'the factor L', L);
    const n = L.rows;
    if (n === 0 || B.cols === 0) return;
    if (B.cols >= (this.#inverseSolveMinRhs ?? 4 * n)) {
      this.#solveLeftInverse(L, B);
      return;
    }
    const NB = this.blockSize;
    const blocks = Math.ceil(n / NB);
    const { inv, lf, lb } = this.#solvePrep(matrixBlock(L).at(0, 0), n);
    const whole = matrixBlock(B);
    // Columns are independent right-hand sides: each column chunk (and each RHS_CHUNK of columns) on its own.
    for (const [c0, c1] of intervals(B.cols, whole.cuts)) {
      for (let r0 = c0; r0 < c1; r0 += RHS_CHUNK) {
        const r = Math.min(RHS_CHUNK, c1 - r0);
        const rhs = whole.at(0, r0);
        const row = (i: number): Operand => ({ buffer: rhs.buffer, offset: rhs.offset + i * rhs.ld, ld: rhs.ld });
        // L Y = B as Y = D⁻¹B − (D⁻¹L) Y below the diagonal blocks: scale the block rows, then one GEMM per block row.
        this.#scaleBlockRows(inv, n, r, row, false);
        for (let j = 1; j < blocks; j++) {
          const j0 = j * NB;
          const nb = Math.min(NB, n - j0);
          this.#gemm.product({ M: nb, N: r, K: j0, a: { buffer: lf, offset: j0 * n, ld: n }, transA: false, b: row(0), transB: false, c: row(j0), alpha: -1, beta: 1 });
        }
        // Lᵀ X = Y as X = D⁻ᵀY − (L D⁻¹)ᵀ X above them, from the last block row up.
        this.#scaleBlockRows(inv, n, r, row, true);
        for (let j = blocks - 2; j >= 0; j--) {
          const j0 = j * NB;
          const j1 = j0 + NB;
          this.#gemm.product({ M: NB, N: r, K: n - j1, a: { buffer: lb, offset: j1 * n + j0, ld: n }, transA: true, b: row(j1), transB: false, c: row(j0), alpha: -1, beta: 1 });
        }
      }
    }
  }

  protected _solveRight(L: GpuMatrix, B: GpuMatrix): void {
    this.#assertWhole('solveRight', 'the factor L', L);
    const n = L.rows;
    if (n === 0 || B.rows === 0) return;
    if (B.allocation.split) {
      this.#solveRightSplit(L, B);
      return;
    }
    if (B.rows >= (this.#inverseSolveMinRhs ?? 4 * n)) {
      this.#solveRightInverse(L, B);
      return;
    }
    const NB = this.blockSize;
    const blocks = Math.ceil(n / NB);
    const { inv, lf, lb } = this.#solvePrep(matrixBlock(L).at(0, 0), n);
    const bop = matrixBlock(B).at(0, 0);
    for (let r0 = 0; r0 < B.rows; r0 += RHS_CHUNK) {
      const r = Math.min(RHS_CHUNK, B.rows - r0);
      const col = (c: number): Operand => ({ buffer: bop.buffer, offset: bop.offset + r0 * bop.ld + c, ld: bop.ld });
      // Y Lᵀ = B as Y = B D⁻ᵀ − Y (D⁻¹L)ᵀ left of the diagonal blocks: scale the block columns, then one GEMM each.
      this.#scaleBlockColumns(inv, n, r, col, true);
      for (let j = 1; j < blocks; j++) {
        const j0 = j * NB;
        const nb = Math.min(NB, n - j0);
        this.#gemm.product({ M: r, N: nb, K: j0, a: col(0), transA: false, b: { buffer: lf, offset: j0 * n, ld: n }, transB: true, c: col(j0), alpha: -1, beta: 1 });
      }
      // X L = Y as X = Y D⁻¹ − X (L D⁻¹) right of them, from the last block column back.
      this.#scaleBlockColumns(inv, n, r, col, false);
      for (let j = blocks - 2; j >= 0; j--) {
        const j0 = j * NB;
        const j1 = j0 + NB;
        this.#gemm.product({ M: r, N: NB, K: n - j1, a: col(j1), transA: false, b: { buffer: lb, offset: j1 * n + j0, ld: n }, transB: false, c: col(j0), alpha: -1, beta: 1 });
      }
    }
  }

  /**
   * The workspaces of the blocked solves with a factor L of order n: X_J = L_JJ⁻¹ for every diagonal block (one
   * batched kernel), Lf = D⁻¹L (block row J scaled by X_J) and Lb = L D⁻¹ (block column J scaled by X_J), with
   * D = blockdiag(L_JJ), each by one batched GEMM. Only the blocks strictly below the diagonal of Lf and Lb are used.
   */
  #solvePrep(l: Operand, n: number): { inv: TrackedBuffer; lf: TrackedBuffer; lb: TrackedBuffer } {
    const NB = this.blockSize;
    const blocks = Math.ceil(n / NB);
    const full = Math.floor(n / NB);
    const inv = this.#inverseBlocks(l, n);
    const lf = this.#workspace('solve-lf', Math.max(1, n * n) * 4);
    const lb = this.#workspace('solve-lb', Math.max(1, n * n) * 4);
    const invAt = (j: number): Operand => ({ buffer: inv, offset: j * NB * NB, ld: NB });
    // Lf[J, :] = X_J L[J, :] for the full block rows J ≥ 1 in one dispatch, the last partial one (columns < J) apart.
    if (full > 1) {
      this.#gemm.batched(
        { M: NB, N: n, K: NB, a: invAt(1), transA: false, b: { buffer: l.buffer, offset: l.offset + NB * l.ld, ld: l.ld }, transB: false, c: { buffer: lf, offset: NB * n, ld: n }, alpha: 1, beta: 0 },
        full - 1,
        [NB * NB, NB * l.ld, NB * n, 0],
      );
    }
    if (full < blocks && full > 0) {
      const j0 = full * NB;
      const nb = n - j0;
      this.#gemm.product({ M: nb, N: j0, K: nb, a: invAt(full), transA: false, b: { buffer: l.buffer, offset: l.offset + j0 * l.ld, ld: l.ld }, transB: false, c: { buffer: lf, offset: j0 * n, ld: n }, alpha: 1, beta: 0 });
    }
    // Lb[:, J] = L[:, J] X_J for every block column but the last (all full), in one dispatch.
    if (blocks > 1) {
      this.#gemm.batched(
        { M: n, N: NB, K: NB, a: l, transA: false, b: invAt(0), transB: false, c: { buffer: lb, offset: 0, ld: n }, alpha: 1, beta: 0 },
        blocks - 1,
        [NB, NB * NB, NB, 0],
      );
    }
    return { inv, lf, lb };
  }

  /**
   * B_J ← X_J B_J (or X_Jᵀ B_J) for every block row J of an n × r right-hand side, in place: one batched product
   * over the full blocks and one for a partial last block. In place is safe because the tile config's BM (64) covers
   * a whole block row: each workgroup reads its column stripe of B_J completely before it writes it.
   */
  #scaleBlockRows(inv: TrackedBuffer, n: number, r: number, row: (i: number) => Operand, transpose: boolean): void {
    const NB = this.blockSize;
    const full = Math.floor(n / NB);
    const ld = row(0).ld;
    if (full > 0) {
      this.#gemm.batched(
        { M: NB, N: r, K: NB, a: { buffer: inv, offset: 0, ld: NB }, transA: transpose, b: row(0), transB: false, c: row(0), alpha: 1, beta: 0 },
        full,
        [NB * NB, NB * ld, NB * ld, 0],
        '64x128',
      );
    }
    if (full * NB < n) {
      const nb = n - full * NB;
      this.#gemm.batched(
        { M: nb, N: r, K: nb, a: { buffer: inv, offset: full * NB * NB, ld: NB }, transA: transpose, b: row(full * NB), transB: false, c: row(full * NB), alpha: 1, beta: 0 },
        1,
        [0, 0, 0, 0],
        '64x128',
      );
    }
  }

  /**
   * B[:, J] ← B[:, J] X_Jᵀ (or B[:, J] X_J) for every block column J of an r × n right-hand side, in place; safe
   * because the tile config's BN (64) covers a whole block column.
   */
  #scaleBlockColumns(inv: TrackedBuffer, n: number, r: number, col: (c: number) => Operand, transpose: boolean): void {
    const NB = this.blockSize;
    const full = Math.floor(n / NB);
    if (full > 0) {
      this.#gemm.batched(
        { M: r, N: NB, K: NB, a: col(0), transA: false, b: { buffer: inv, offset: 0, ld: NB }, transB: transpose, c: col(0), alpha: 1, beta: 0 },
        full,
        [NB, NB * NB, NB, 0],
        '128x64',
      );
    }
    if (full * NB < n) {
      const nb = n - full * NB;
      this.#gemm.batched(
        { M: r, N: nb, K: nb, a: col(full * NB), transA: false, b: { buffer: inv, offset: full * NB * NB, ld: NB }, transB: transpose, c: col(full * NB), alpha: 1, beta: 0 },
        1,
        [0, 0, 0, 0],
        '128x64',
      );
    }
  }

  /**
   * L⁻¹ (n × n, lower triangular, zeros above the diagonal) in a workspace: the blocked forward substitution on the
   * identity, i.e. the diagonal blocks X_J = L_JJ⁻¹ and then, block row by block row,
   * L⁻¹[J, :J] = −(X_J L[J, :J]) L⁻¹[:J, :J] — n³/3 flops in `blocks − 1` products.
   */
  #inverseFactor(l: Operand, n: number): TrackedBuffer {
    const NB = this.blockSize;
    const blocks = Math.ceil(n / NB);
    const { inv, lf } = this.#solvePrep(l, n);
    const linv = this.#workspace('solve-linv', n * n * 4);
    this.#runtime.clear(linv, 0, n * n * 4);
    for (let j = 0; j < blocks; j++) {
      const j0 = j * NB;
      const nb = Math.min(NB, n - j0);
      this.#elementwiseKernel('copy', undefined, nb, nb, 0, [{ buffer: linv, offset: j0 * n + j0, ld: n }, { buffer: inv, offset: j * NB * NB, ld: NB }], {});
    }
    for (let j = 1; j < blocks; j++) {
      const j0 = j * NB;
      const nb = Math.min(NB, n - j0);
      this.#gemm.product({ M: nb, N: j0, K: j0, a: { buffer: lf, offset: j0 * n, ld: n }, transA: false, b: { buffer: linv, offset: 0, ld: n }, transB: false, c: { buffer: linv, offset: j0 * n, ld: n }, alpha: -1, beta: 1 });
    }
    return linv;
  }

  /** Right-hand sides per pass of the explicit-inverse solves (the intermediate n × rc product fits a workspace). */
  #inverseChunk(n: number): number {
    const bytes = Math.min(this.#runtime.maxStorageBinding, INV_WORKSPACE_BYTES);
    return Math.max(1, Math.min(RHS_CHUNK, Math.floor(bytes / (4 * n))));
  }

  /**
   * solveLeft for many right-hand sides: X = L⁻ᵀ (L⁻¹ B) as two products by the explicit inverse, each cut into row
   * panels of INV_PANEL so that the zero triangle is (mostly) skipped: T[P] = L⁻¹[P, :p1] B[:p1], then
   * X[P] = L⁻¹[p0:, P]ᵀ T[p0:].
   */
  #solveLeftInverse(L: GpuMatrix, B: GpuMatrix): void {
    const n = L.rows;
    const linv = this.#inverseFactor(matrixBlock(L).at(0, 0), n);
    const chunk = this.#inverseChunk(n);
    const whole = matrixBlock(B);
    for (const [c0, c1] of intervals(B.cols, whole.cuts)) {
      for (let r0 = c0; r0 < c1; r0 += chunk) {
        const r = Math.min(chunk, c1 - r0);
        const t = this.#workspace('solve-inv-t', n * r * 4);
        const rhs = whole.at(0, r0);
        const row = (i: number): Operand => ({ buffer: rhs.buffer, offset: rhs.offset + i * rhs.ld, ld: rhs.ld });
        for (let p0 = 0; p0 < n; p0 += INV_PANEL) {
          const p1 = Math.min(n, p0 + INV_PANEL);
          this.#gemm.product({ M: p1 - p0, N: r, K: p1, a: { buffer: linv, offset: p0 * n, ld: n }, transA: false, b: row(0), transB: false, c: { buffer: t, offset: p0 * r, ld: r }, alpha: 1, beta: 0 });
        }
        for (let p0 = 0; p0 < n; p0 += INV_PANEL) {
          const p1 = Math.min(n, p0 + INV_PANEL);
          this.#gemm.product({ M: p1 - p0, N: r, K: n - p0, a: { buffer: linv, offset: p0 * n + p0, ld: n }, transA: true, b: { buffer: t, offset: p0 * r, ld: r }, transB: false, c: row(p0), alpha: 1, beta: 0 });
        }
      }
    }
  }

  /**
   * solveRight for many right-hand sides (B in one buffer): X = (B L⁻ᵀ) L⁻¹ in column panels of INV_PANEL:
   * U[:, P] = B[:, :p1] L⁻¹[P, :p1]ᵀ, then X[:, P] = U[:, p0:] L⁻¹[p0:, P].
   */
  #solveRightInverse(L: GpuMatrix, B: GpuMatrix): void {
    const n = L.rows;
    const linv = this.#inverseFactor(matrixBlock(L).at(0, 0), n);
    const chunk = this.#inverseChunk(n);
    const bop = matrixBlock(B).at(0, 0);
    for (let r0 = 0; r0 < B.rows; r0 += chunk) {
      const r = Math.min(chunk, B.rows - r0);
      const u = this.#workspace('solve-inv-t', n * r * 4);
      const col = (c: number): Operand => ({ buffer: bop.buffer, offset: bop.offset + r0 * bop.ld + c, ld: bop.ld });
      for (let p0 = 0; p0 < n; p0 += INV_PANEL) {
        const p1 = Math.min(n, p0 + INV_PANEL);
        this.#gemm.product({ M: r, N: p1 - p0, K: p1, a: col(0), transA: false, b: { buffer: linv, offset: p0 * n, ld: n }, transB: true, c: { buffer: u, offset: p0, ld: n }, alpha: 1, beta: 0 });
      }
      for (let p0 = 0; p0 < n; p0 += INV_PANEL) {
        const p1 = Math.min(n, p0 + INV_PANEL);
        this.#gemm.product({ M: r, N: p1 - p0, K: n - p0, a: { buffer: u, offset: p0, ld: n }, transA: false, b: { buffer: linv, offset: p0 * n + p0, ld: n }, transB: false, c: col(p0), alpha: 1, beta: 0 });
      }
    }
  }

  /**
   * solveRight when B's columns (the order of L) are split into chunks: block column by block column with a
   * workspace T, on blocks that may span chunks (the products cut them as needed).
   */
  #solveRightSplit(L: GpuMatrix, B: GpuMatrix): void {
    const n = L.rows;
    const NB = this.blockSize;
    const blocks = Math.ceil(n / NB);
    const lBlock = matrixBlock(L);
    const inverses = this.#inverseBlocks(lBlock.at(0, 0), n);
    const whole = matrixBlock(B);
    for (let r0 = 0; r0 < B.rows; r0 += RHS_CHUNK) {
      const r = Math.min(RHS_CHUNK, B.rows - r0);
      const t = this.#workspace('solve-t', NB * r * 4);
      const cols = (c0: number, width: number): Block => subBlock(whole, r0, c0, r, width);
      const lAt = (row: number, col: number, rows: number, width: number): Block => subBlock(lBlock, row, col, rows, width);
      const tBlock = (nb: number): Block => bufferBlock(t, 0, NB, r, nb);
      const inv = (j: number, nb: number): Block => bufferBlock(inverses, j * NB * NB, NB, nb, nb);
      // Y Lᵀ = B: T = B[:, J] − Y[:, :J] L[J, :J]ᵀ; Y[:, J] = T L_JJ⁻ᵀ.
      for (let j = 0; j < blocks; j++) {
        const j0 = j * NB;
        const nb = Math.min(NB, n - j0);
        if (j === 0) this.#elementwiseBlocks('copy', undefined, [tBlock(nb), cols(j0, nb)], {});
        else this.#gemm.multiply(-1, cols(0, j0), false, lAt(j0, 0, nb, j0), true, 1, tBlock(nb), { d: cols(j0, nb) });
        this.#gemm.multiply(1, tBlock(nb), false, inv(j, nb), true, 0, cols(j0, nb));
      }
      // X L = Y: T = Y[:, J] − X[:, J+:] L[J+:, J]; X[:, J] = T L_JJ⁻¹.
      for (let j = blocks - 1; j >= 0; j--) {
        const j0 = j * NB;
        const nb = Math.min(NB, n - j0);
        const j1 = j0 + nb;
        if (j1 === n) this.#elementwiseBlocks('copy', undefined, [tBlock(nb), cols(j0, nb)], {});
        else this.#gemm.multiply(-1, cols(j1, n - j1), false, lAt(j1, j0, n - j1, nb), false, 1, tBlock(nb), { d: cols(j0, nb) });
        this.#gemm.multiply(1, tBlock(nb), false, inv(j, nb), false, 0, cols(j0, nb));
      }
    }
  }

  // ---- the activation's elementwise steps ----

  protected async _prepareActivation(act: Activation): Promise<void> {
    const key = `${act.wgsl.sigma}\u0000${act.wgsl.dsigma}`;
    if (this.#prepared.has(key)) return;
    // Compile the fused kernels with the binding plans Algorithm 1 uses (all operands apart; the output aliasing S
    // or Λ; activate out of place and in place), so that no compilation falls inside an iteration.
    const probes = [0, 1, 2, 3].map(() => this.#runtime.acquire(16, 'nladmm probe').buffer);
    const [o, a, b, c] = probes;
    try {
      const plans: { op: ElementwiseOp; inputs: TrackedBuffer[] }[] = [
        { op: 'activate', inputs: [a] },
        { op: 'activate', inputs: [o] },
      ];
      for (const op of ['multiplier', 'multiplier_d'] as const) {
        for (const inputs of [[a, b, c], [o, b, c], [a, b, o]]) plans.push({ op, inputs });
      }
      for (const { op, inputs } of plans) {
        await this.#runtime.compile({ shader: 'elementwise', values: { OP: op, ...activationValues(act) }, resources: this.#elementwiseResources(op, o, inputs) });
      }
    } catch (err) {
      const detail = err instanceof ShaderCompileError ? err.message : err instanceof Error ? err.message : String(err);
      throw new Error(`activation '${act.name}': its WGSL (wgsl.sigma / wgsl.dsigma) does not compile: ${detail}`);
    } finally {
      for (const probe of probes) this.#runtime.release(probe);
    }
    this.#prepared.add(key);
  }

  protected _activate(act: Activation, Z: GpuMatrix, O: GpuMatrix): void {
    this.#elementwise('activate', act, O, [Z], {});
  }

  protected _multiplierStep(act: Activation, S: GpuMatrix, V: GpuMatrix, Lambda: GpuMatrix, beta: number, withDerivative: boolean, O: GpuMatrix): void {
    this.#elementwise(withDerivative ? 'multiplier_d' : 'multiplier', act, O, [S, V, Lambda], { beta });
  }

  // ---- the loss's column steps (lossKernels.ts) ----

  protected _prepareLoss(loss: Loss, width: number): Promise<void> {
    return this.#losses.prepare(loss, width);
  }

  protected _lossValue(loss: Loss, V: GpuMatrix, Y: GpuMatrix, out: GpuScalar): void {
    this.#losses.value(loss, matrixBlock(V), matrixBlock(Y), out.slot);
  }

  protected _lossGradient(loss: Loss, V: GpuMatrix, Y: GpuMatrix, O: GpuMatrix): void {
    this.#losses.gradient(loss, matrixBlock(V), matrixBlock(Y), matrixBlock(O));
  }

  protected _lossProx(loss: Loss, T: GpuMatrix, Y: GpuMatrix, beta: number, V: GpuMatrix): void {
    this.#losses.prox(loss, matrixBlock(T), matrixBlock(Y), beta, matrixBlock(V));
  }

  // ---- reductions into device scalars ----

  protected _sumSquares(out: GpuScalar, A: GpuMatrix): void {
    this.#reduce('sumsq', out, A, undefined, 1);
  }

  protected _maxAbs(out: GpuScalar, A: GpuMatrix, B: GpuMatrix | undefined, scaleB: number): void {
    this.#reduce('maxabs', out, A, B, scaleB);
  }

  protected _dot(out: GpuScalar, A: GpuMatrix, B: GpuMatrix): void {
    this.#reduce('dot', out, A, B, 1);
  }

  // ---- lifecycle ----

  protected async _sync(): Promise<void> {
    if (this.#statusDirty) await this.#read([]);
    else {
      await this.#runtime.idle();
      this.#throwDeviceError();
    }
  }

  protected _dispose(): void {
    for (const a of this.#allocations) {
      a.released = true;
      a.chunks = [];
    }
    for (const s of this.#scalars) s.released = true;
    this.#allocations.clear();
    this.#scalars.clear();
    this.#workspaces.clear();
    this.#runtime.destroy();
  }

  // ---- internals: kernels ----

  #elementwiseResources(op: ElementwiseOp, out: TrackedBuffer, inputs: TrackedBuffer[]): Resource[] {
    const resources: Resource[] = [{ placeholder: 'OUT', buffer: out, access: 'read_write', type: 'f32' }];
    for (let k = 1; k <= 3; k++) resources.push({ placeholder: `IN${k}`, buffer: inputs[k - 1] ?? out, access: 'read', type: 'f32' });
    resources.push({ placeholder: 'SCALARS', buffer: op === 'shifted' ? this.#scalarBuffer : out, access: 'read', type: 'f32' });
    return resources;
  }

  /** An elementwise op over matrices (the output first), cut at the chunk boundaries of all of them. */
  #elementwise(
    op: ElementwiseOp,
    act: Activation | undefined,
    out: GpuMatrix,
    inputs: GpuMatrix[],
    scalars: { alpha?: number; beta?: number; shift?: number; slot?: number },
  ): void {
    this.#elementwiseBlocks(op, act, [out, ...inputs].map((m) => matrixBlock(m)), scalars);
  }

  /** An elementwise op over same-shaped blocks (the output first), cut at all their chunk boundaries. */
  #elementwiseBlocks(
    op: ElementwiseOp,
    act: Activation | undefined,
    blocks: Block[],
    scalars: { alpha?: number; beta?: number; shift?: number; slot?: number },
  ): void {
    const { rows, cols } = blocks[0];
    if (rows === 0 || cols === 0) return;
    for (const [c0, c1] of intervals(cols, ...blocks.map((b) => b.cuts))) {
      this.#elementwiseKernel(op, act, rows, c1 - c0, c0, blocks.map((b) => b.at(0, c0)), scalars);
    }
  }

  #elementwiseKernel(
    op: ElementwiseOp,
    act: Activation | undefined,
    rows: number,
    cols: number,
    colBase: number,
    operands: Operand[],
    scalars: { alpha?: number; beta?: number; shift?: number; slot?: number },
  ): void {
    if (rows === 0 || cols === 0) return;
    const offset = [0, 0, 0, 0];
    const ld = [0, 0, 0, 0];
    operands.forEach((o, k) => {
      offset[k] = o.offset;
      ld[k] = o.ld;
    });
    const usesActivation = op === 'activate' || op === 'multiplier' || op === 'multiplier_d';
    this.#runtime.dispatch({
      shader: 'elementwise',
      values: { OP: op, ...activationValues(usesActivation ? act : undefined) },
      resources: this.#elementwiseResources(op, operands[0].buffer, operands.slice(1).map((o) => o.buffer)),
      params: [
        rows, cols, colBase, scalars.slot ?? 0,
        ...offset, ...ld,
        f32(scalars.alpha ?? 0), f32(scalars.beta ?? 0), f32(scalars.shift ?? 0), 0,
      ],
      groups: [Math.min(Math.ceil(cols / 64), 1024), Math.min(Math.ceil(rows / 4), 64), 1],
      label: `elementwise ${op} ${rows}×${cols}`,
    });
  }

  #scalarKernel(mode: 0 | 1, outSlot: number, srcSlot: number, a: number, b: number): void {
    this.#runtime.dispatch({
      shader: 'scalar',
      values: {},
      resources: [{ placeholder: 'SCALARS', buffer: this.#scalarBuffer, access: 'read_write', type: 'f32' }],
      params: [mode, outSlot, srcSlot, 0, f32(a), f32(b), 0, 0],
      groups: [1, 1, 1],
    });
  }

  #reduce(op: ReduceOp, out: GpuScalar, a: GpuMatrix, b: GpuMatrix | undefined, scaleB: number): void {
    if (a.rows === 0 || a.cols === 0) {
      this.#scalarKernel(0, out.slot, out.slot, 0, 0);
      return;
    }
    const blocks = [matrixBlock(a), ...(b ? [matrixBlock(b)] : [])];
    const pieces = intervals(a.cols, ...blocks.map((x) => x.cuts)).map(([c0, c1]) => {
      const gx = Math.min(Math.ceil((c1 - c0) / 64), 64);
      const gy = Math.min(Math.ceil(a.rows / 4), 16);
      return { c0, c1, gx, gy };
    });
    const count = pieces.reduce((s, p) => s + p.gx * p.gy, 0);
    const partials = this.#workspace('reduce-partials', count * 4);
    const values = { IS_MAX: op === 'maxabs', HAS_B: b !== undefined, IS_DOT: op === 'dot' };
    let base = 0;
    for (const p of pieces) {
      const opA = blocks[0].at(0, p.c0);
      const opB = b ? blocks[1].at(0, p.c0) : opA;
      const spec: DispatchSpec = {
        shader: 'reduce',
        values,
        resources: [
          { placeholder: 'A', buffer: opA.buffer, access: 'read', type: 'f32' },
          { placeholder: 'B', buffer: opB.buffer, access: 'read', type: 'f32' },
          { placeholder: 'PARTIALS', buffer: partials, access: 'read_write', type: 'u32' },
        ],
        params: [a.rows, p.c1 - p.c0, opA.offset, opA.ld, opB.offset, opB.ld, base, f32(scaleB)],
        groups: [p.gx, p.gy, 1],
        label: `reduce ${op} ${a.rows}×${p.c1 - p.c0}`,
      };
      this.#runtime.dispatch(spec);
      base += p.gx * p.gy;
    }
    this.#runtime.dispatch({
      shader: 'reduce_finish',
      values: { IS_MAX: op === 'maxabs' },
      resources: [
        { placeholder: 'PARTIALS', buffer: partials, access: 'read', type: 'u32' },
        { placeholder: 'SCALARS', buffer: this.#scalarBuffer, access: 'read_write', type: 'f32' },
      ],
      params: [count, out.slot, 0, 0],
      groups: [1, 1, 1],
    });
  }

  /** The Cholesky diagonal-block kernel: factor (one block at k0) or invert `count` factored blocks. */
  #blockKernel(factor: boolean, a: Operand, n: number, k0: number, inverse: TrackedBuffer, count: number): void {
    this.#runtime.dispatch({
      shader: 'cholesky_block',
      values: { NB: this.blockSize, FACTOR: factor },
      resources: [
        { placeholder: 'A', buffer: a.buffer, access: 'read_write', type: 'f32' },
        { placeholder: 'INV', buffer: inverse, access: 'read_write', type: 'f32' },
        { placeholder: 'STATUS', buffer: this.#status, access: 'read_write', type: 'u32' },
      ],
      params: [n, k0, a.offset, a.ld, 0, 0, 0, 0],
      groups: [count, 1, 1],
      label: factor ? `cholesky factor block (order ${n})` : `cholesky invert ${count} blocks (order ${n})`,
    });
  }

  /** L_JJ⁻¹ for every diagonal block of a factor, NB × NB each, in a workspace. */
  #inverseBlocks(l: Operand, n: number): TrackedBuffer {
    const NB = this.blockSize;
    const blocks = Math.ceil(n / NB);
    const inverses = this.#workspace('solve-inverses', blocks * NB * NB * 4);
    this.#blockKernel(false, l, n, 0, inverses, blocks);
    return inverses;
  }

  // ---- internals: memory, scalars, errors ----

  /** A named scratch buffer of at least `bytes` bytes (grown on demand; the old one goes back to the pool). */
  #workspace(name: string, bytes: number): TrackedBuffer {
    const current = this.#workspaces.get(name);
    if (current && current.size >= bytes) return current;
    if (bytes > this.#runtime.maxStorageBinding) {
      throw new RangeError(`webgpu backend: workspace '${name}' needs ${bytes} bytes, more than one storage binding (${this.#runtime.maxStorageBinding})`);
    }
    if (current) this.#runtime.release(current);
    const { buffer } = this.#runtime.acquire(bytes, `nladmm ${name}`);
    this.#workspaces.set(name, buffer);
    return buffer;
  }

  #growScalars(): void {
    const capacity = this.#scalarCapacity * 2;
    const { buffer, fresh } = this.#runtime.acquire(capacity * 4, 'nladmm scalars');
    if (!fresh) this.#runtime.clear(buffer);
    this.#runtime.copy(this.#scalarBuffer, 0, buffer, 0, this.#scalarCapacity * 4);
    this.#runtime.release(this.#scalarBuffer);
    this.#scalarBuffer = buffer;
    this.#scalarCapacity = capacity;
  }

  /** Reads byte ranges after all pending work, with the Cholesky status word when a factorisation ran. */
  async #read(ranges: { buffer: TrackedBuffer; offset: number; size: number }[]): Promise<ArrayBuffer[]> {
    this.assertAlive('read');
    const checkStatus = this.#statusDirty;
    const all = checkStatus ? [...ranges, { buffer: this.#status, offset: 0, size: STATUS_BYTES }] : ranges;
    if (checkStatus) this.#statusDirty = false;
    const data = all.length > 0 ? await this.#runtime.read(all) : [];
    if (all.length === 0) await this.#runtime.idle();
    this.#throwDeviceError();
    if (checkStatus) {
      const status = new Uint32Array(data[data.length - 1]);
      if (status[0] !== 0) {
        this.#runtime.clear(this.#status, 0, STATUS_BYTES);
        const pivot = new Float32Array(new Uint32Array([status[2]]).buffer)[0];
        throw new NotPositiveDefiniteError(status[1], pivot, status[3]);
      }
      return data.slice(0, -1);
    }
    return data;
  }

  #throwDeviceError(): void {
    const error = this.#runtime.takeDeviceError();
    if (error) throw new Error(`webgpu backend: the device reported an error: ${error}`);
  }

  #assertWhole(op: string, what: string, m: GpuMatrix): void {
    if (m.allocation.split) {
      throw new RangeError(
        `${op}: ${what} (${shape(m)}) is split into ${m.allocation.chunks.length} column chunks because it exceeds maxBindingBytes = ${this.maxBindingBytes}; this op needs it in one buffer`,
      );
    }
  }
}
