/// <reference types="@webgpu/types" preserve="true" />
/**
 * The WebGPU backend (f32): memory (matrices split by columns past maxBindingBytes), device scalars, the command
 * stream and its sync points. The kernels' host code lives beside it, each family getting the runtime, named
 * workspaces and the scalar buffer through a small host interface (kernelHost.ts): elementwise ops and reductions
 * (elementwiseKernels.ts), GEMM (gemm.ts, gemmTiles.ts), the Cholesky factorisation and the triangular solves
 * (cholesky.ts, triangularSolves.ts), the loss's column steps (lossKernels.ts). The backend's hooks delegate to them.
 */
import {
  type Activation,
  type AdamStepOptions,
  CheckedBackend,
  type DeviceScalar,
  type Loss,
  type Precision,
  matrixShape as shape,
} from '@nladmm/core';
import { type AdapterDescription, type WebGpuBackendOptions, resolveOptions } from './backendOptions.ts';
import { type LinearAlgebraHost, STATUS_BYTES, cholesky, factorFailure } from './cholesky.ts';
import { ElementwiseKernels } from './elementwiseKernels.ts';
import { GemmEngine } from './gemm.ts';
import { TILE_CONFIGS } from './gemmTiles.ts';
import type { KernelHost } from './kernelHost.ts';
import { LossKernels } from './lossKernels.ts';
import { GpuRuntime, type ProfileEntry, type RuntimeStats } from './runtime.ts';
import type { TrackedBuffer } from './shaders.ts';
import { Allocation, type Chunk, GpuMatrix, chunkColumns, intervals, matrixBlock, packColumns, unpackColumns } from './storage.ts';
import { solveLeft, solveRight } from './triangularSolves.ts';

export type { AdapterDescription, WebGpuBackendOptions } from './backendOptions.ts';

const SCALAR_SLOTS = 4096;

class GpuScalar implements DeviceScalar {
  readonly deviceScalar = true as const;
  released = false;
  constructor(
    readonly slot: number,
    readonly owner: WebGpuBackend,
  ) {}
}

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
  readonly #runtime: GpuRuntime;
  readonly #gemm: GemmEngine;
  readonly #kernels: ElementwiseKernels;
  readonly #losses: LossKernels;
  readonly #linalg: LinearAlgebraHost;
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

  private constructor(options: WebGpuBackendOptions) {
    super(GpuMatrix, GpuScalar);
    const resolved = resolveOptions(options);
    this.maxBindingBytes = resolved.maxBindingBytes;
    this.blockSize = resolved.blockSize;
    this.#info = resolved.adapter;
    this.#runtime = new GpuRuntime(options.device);
    this.#gemm = new GemmEngine(this.#runtime, (name, bytes) => this.#workspace(name, bytes), resolved.gemm);
    this.#scalarBuffer = this.#runtime.acquire(SCALAR_SLOTS * 4, 'nladmm scalars').buffer;
    const host: KernelHost = { runtime: this.#runtime, workspace: (name, bytes) => this.#workspace(name, bytes), scalarBuffer: () => this.#scalarBuffer };
    this.#kernels = new ElementwiseKernels(host);
    this.#losses = new LossKernels(host);
    this.#status = this.#runtime.acquire(STATUS_BYTES, 'nladmm status').buffer;
    this.#linalg = {
      runtime: this.#runtime,
      workspace: host.workspace,
      gemm: this.#gemm,
      elementwise: this.#kernels,
      blockSize: this.blockSize,
      status: this.#status,
      inverseSolveMinRhs: resolved.inverseSolveMinRhs,
    };
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
    return this.#runtime.time(run, () => this.sync());
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
    const chunkCols = chunkColumns(rows, cols, this.maxBindingBytes);
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
      const packed = packColumns(data, d.rows, d.cols, c0, width);
      const target = block.at(0, c0);
      if (target.ld === width || d.rows === 1) {
        this.#runtime.write(target.buffer, target.offset * 4, packed);
      } else {
        // A view with ld > cols: upload packed, then a strided copy on the device.
        const { buffer: staging } = this.#runtime.acquire(packed.byteLength, 'nladmm upload');
        this.#runtime.write(staging, 0, packed);
        this.#kernels.copyOperands(d.rows, width, target, { buffer: staging, offset: 0, ld: width });
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
    pieces.forEach(({ c0, c1, op }, k) => unpackColumns(new Float32Array(data[k]), op.ld, out, s.rows, s.cols, c0, c1 - c0));
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
    this.#kernels.copy(matrixBlock(d), matrixBlock(s));
  }

  protected _fill(d: GpuMatrix, value: number): void {
    this.#kernels.fill(matrixBlock(d), value);
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
    this.#kernels.setScalar(slot, value);
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
    this.#kernels.affineScalar(target.slot, source.slot, a, b);
  }

  // ---- dense linear algebra (gemm.ts, elementwiseKernels.ts) ----

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
    this.#kernels.shiftedScale(matrixBlock(S), scalar.slot, shift, matrixBlock(O));
  }

  protected _adamStep(G: GpuMatrix, M: GpuMatrix, V: GpuMatrix, W: GpuMatrix, options: AdamStepOptions): void {
    this.#kernels.adamStep(matrixBlock(G), matrixBlock(M), matrixBlock(V), matrixBlock(W), options);
  }

  protected _axpby(alpha: number, X: GpuMatrix, beta: number, Y: GpuMatrix): void {
    this.#kernels.axpby(alpha, matrixBlock(X), beta, matrixBlock(Y));
  }

  // ---- symmetric positive definite systems (cholesky.ts, triangularSolves.ts) ----

  protected _cholesky(M: GpuMatrix): void {
    this.#assertWhole('cholesky', 'the matrix', M);
    if (M.rows === 0) return;
    // A failed pivot is recorded on the device; the next read looks at the status words.
    this.#statusDirty = true;
    cholesky(this.#linalg, matrixBlock(M).at(0, 0), M.rows);
  }

  protected _solveLeft(L: GpuMatrix, B: GpuMatrix): void {
    this.#assertWhole('solveLeft', 'the factor L', L);
    solveLeft(this.#linalg, matrixBlock(L).at(0, 0), L.rows, matrixBlock(B));
  }

  protected _solveRight(L: GpuMatrix, B: GpuMatrix): void {
    this.#assertWhole('solveRight', 'the factor L', L);
    solveRight(this.#linalg, matrixBlock(L).at(0, 0), L.rows, matrixBlock(B), B.allocation.split);
  }

  // ---- the activation's elementwise steps (elementwiseKernels.ts) ----

  protected _prepareActivation(act: Activation): Promise<void> {
    return this.#kernels.prepareActivation(act);
  }

  protected _activate(act: Activation, Z: GpuMatrix, O: GpuMatrix): void {
    this.#kernels.activate(act, matrixBlock(Z), matrixBlock(O));
  }

  protected _multiplierStep(act: Activation, S: GpuMatrix, V: GpuMatrix, Lambda: GpuMatrix, beta: number, withDerivative: boolean, O: GpuMatrix): void {
    this.#kernels.multiplierStep(act, matrixBlock(S), matrixBlock(V), matrixBlock(Lambda), beta, withDerivative, matrixBlock(O));
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

  // ---- reductions into device scalars (elementwiseKernels.ts) ----

  protected _sumSquares(out: GpuScalar, A: GpuMatrix): void {
    this.#kernels.reduce('sumsq', out.slot, matrixBlock(A), undefined, 1);
  }

  protected _maxAbs(out: GpuScalar, A: GpuMatrix, B: GpuMatrix | undefined, scaleB: number): void {
    this.#kernels.reduce('maxabs', out.slot, matrixBlock(A), B && matrixBlock(B), scaleB);
  }

  protected _dot(out: GpuScalar, A: GpuMatrix, B: GpuMatrix): void {
    this.#kernels.reduce('dot', out.slot, matrixBlock(A), matrixBlock(B), 1);
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
      const failure = factorFailure(data[data.length - 1]);
      if (failure) {
        this.#runtime.clear(this.#status, 0, STATUS_BYTES);
        throw failure;
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
