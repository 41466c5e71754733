/// <reference types="@webgpu/types" preserve="true" />
/**
 * The device side of the WebGPU backend: one command encoder that collects the work of many calls, a uniform
 * ring for per-dispatch parameters (written by name: uniforms.ts), cached pipelines (pipelines.ts) and bind groups,
 * a pool of storage buffers keyed by size, and readbacks.
 *
 * Ordering. Everything the backend does to buffers is encoded into the current command encoder, in call order,
 * and submitted at a sync point (readback, sync) or when the uniform ring is full. The only operation outside the
 * encoder is queue.writeBuffer (uploads and the ring itself), which runs on the queue timeline *before* any command
 * still waiting in the encoder; so an upload first submits what is pending. Under that rule a buffer returned to
 * the pool may be handed out again at once: later commands that touch it are encoded after the ones that used it.
 */
import { type KernelSpec, PipelineCache } from './pipelines.ts';
import { type BindingPlan, type TrackedBuffer, planBindings } from './shaders.ts';
import { type ShaderName, type UniformValues, writeUniforms } from './uniforms.ts';

/** One dispatch of shader S: its kernel, its uniform values by member name, and its workgroup grid. */
export interface ShaderDispatch<S extends ShaderName> extends KernelSpec {
  readonly shader: S;
  /** The members of the shader's uniform struct (`params`), by name. */
  readonly params: UniformValues<S>;
  readonly groups: readonly [number, number, number];
  /** What the dispatch computes, for profiles (default: the shader name and the workgroup grid). */
  readonly label?: string;
}

/** A dispatch of any shader: the shader's name selects the type of its uniform values. */
export type DispatchSpec = { [S in ShaderName]: ShaderDispatch<S> }[ShaderName];

/** One profiled dispatch: its label and the GPU time between the start and the end of its pass. */
export interface ProfileEntry {
  readonly label: string;
  readonly ms: number;
}

/** Counters for tests and benchmarks. */
export interface RuntimeStats {
  pipelinesCreated: number;
  bindGroupsCreated: number;
  dispatches: number;
  submits: number;
  buffersCreated: number;
}

const STORAGE_USAGE = 0x0080 | 0x0004 | 0x0008; // STORAGE | COPY_SRC | COPY_DST
const UNIFORM_USAGE = 0x0040 | 0x0008; // UNIFORM | COPY_DST
const READBACK_USAGE = 0x0001 | 0x0008; // MAP_READ | COPY_DST
const MAP_READ = 0x0001;
/**
 * Slots of the uniform ring, and so the most dispatches encoded before the pending work is submitted: small enough
 * that the GPU starts on the first dispatches of an iteration while the host still encodes the rest of it.
 */
const RING_SLOTS = 64;
const BIND_GROUP_CACHE_LIMIT = 8192;

/** Byte size a request of `bytes` is rounded to in the pool: 256-byte steps, then steps of 1/8 of a power of two. */
function poolSize(bytes: number, maxBinding: number): number {
  const small = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (small <= 1 << 20) return small;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  const rounded = Math.ceil(bytes / step) * step;
  return rounded > maxBinding && small <= maxBinding ? small : rounded;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly stats: RuntimeStats = { pipelinesCreated: 0, bindGroupsCreated: 0, dispatches: 0, submits: 0, buffersCreated: 0 };
  readonly maxStorageBinding: number;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  readonly #slotBytes: number;
  readonly #ring: GPUBuffer;
  readonly #ringWords: ArrayBuffer;
  readonly #ringU32: Uint32Array;
  readonly #ringF32: Float32Array;
  #ringUsed = 0;
  readonly #pipelines: PipelineCache;
  readonly #bindGroups = new Map<string, GPUBindGroup>();
  readonly #pool = new Map<number, TrackedBuffer[]>();
  readonly #all = new Set<TrackedBuffer>();
  #nextId = 1;
  #deviceError: string | undefined;
  #profile: { querySet: GPUQuerySet; capacity: number; labels: string[] } | undefined;
  readonly #onError: (event: Event) => void;
  #destroyed = false;

  constructor(device: GPUDevice) {
    this.device = device;
    this.#pipelines = new PipelineCache(device, this.stats);
    this.maxStorageBinding = device.limits.maxStorageBufferBindingSize;
    this.#slotBytes = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.#ring = device.createBuffer({ size: this.#slotBytes * RING_SLOTS, usage: UNIFORM_USAGE, label: 'nladmm uniform ring' });
    this.#ringWords = new ArrayBuffer(this.#slotBytes * RING_SLOTS);
    this.#ringU32 = new Uint32Array(this.#ringWords);
    this.#ringF32 = new Float32Array(this.#ringWords);
    this.#onError = (event: Event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.#deviceError ??= error?.message ?? String(error);
    };
    device.addEventListener('uncapturederror', this.#onError);
    void device.lost?.then((info) => {
      if (!this.#destroyed) this.#deviceError ??= `device lost: ${info.message || info.reason}`;
    });
  }

  // ---- buffers ----

  /** A storage buffer of at least `bytes` bytes; `fresh` when newly created (and so zero-filled by WebGPU). */
  acquire(bytes: number, label?: string): { buffer: TrackedBuffer; fresh: boolean } {
    const size = poolSize(bytes, this.maxStorageBinding);
    const pooled = this.#pool.get(size)?.pop();
    if (pooled) return { buffer: pooled, fresh: false };
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
    const tracked: TrackedBuffer = { id: this.#nextId++, buffer, size };
    this.#all.add(tracked);
    this.stats.buffersCreated++;
    return { buffer: tracked, fresh: true };
  }

  /** Returns a buffer to the pool (see the ordering note at the top). */
  release(buffer: TrackedBuffer): void {
    const list = this.#pool.get(buffer.size);
    if (list) list.push(buffer);
    else this.#pool.set(buffer.size, [buffer]);
  }

  /** Zero-fills bytes [offset, offset + size) of a buffer, in order with the encoded work. */
  clear(buffer: TrackedBuffer, offset = 0, size = buffer.size): void {
    if (size > 0) this.#commandEncoder().clearBuffer(buffer.buffer, offset, size);
  }

  copy(src: TrackedBuffer, srcOffset: number, dst: TrackedBuffer | GPUBuffer, dstOffset: number, size: number): void {
    if (size > 0) this.#commandEncoder().copyBufferToBuffer(src.buffer, srcOffset, 'buffer' in dst ? dst.buffer : dst, dstOffset, size);
  }

  /** queue.writeBuffer after submitting pending work, so that the write lands after it. */
  write(dst: TrackedBuffer, byteOffset: number, data: Float32Array | Uint32Array): void {
    this.flush();
    this.device.queue.writeBuffer(dst.buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  // ---- dispatch ----

  /** Compiles a kernel's pipeline asynchronously and caches it; rejects with the compiler's messages. */
  compile(spec: KernelSpec): Promise<void> {
    return this.#pipelines.compile(spec);
  }

  dispatch(spec: DispatchSpec): void {
    const [x, y, z] = spec.groups;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new RangeError(`webgpu backend: ${spec.shader} needs ${x}×${y}×${z} workgroups (limit ${max} per dimension)`);
    const plan = planBindings(spec.resources);
    const pipeline = this.#pipelines.pipelineFor(spec, plan);
    if (this.#ringUsed === RING_SLOTS) this.flush();
    const slot = this.#ringUsed++;
    const base = (slot * this.#slotBytes) / 4;
    writeUniforms(spec.shader, spec.params, this.#ringU32, this.#ringF32, base);
    const profile = this.#profile;
    const profiled = profile !== undefined && profile.labels.length < profile.capacity;
    let pass: GPUComputePassEncoder;
    if (profiled) {
      // A pass of its own, with timestamps at its start and end.
      const index = 2 * profile.labels.length;
      profile.labels.push(spec.label ?? `${spec.shader}${spec.entryPoint ? `:${spec.entryPoint}` : ''} [${x}×${y}×${z}]`);
      pass = this.#commandEncoder().beginComputePass({ timestampWrites: { querySet: profile.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 } });
    } else {
      pass = this.#computePass();
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.#bindGroup(plan), [slot * this.#slotBytes]);
    pass.dispatchWorkgroups(x, y, z);
    if (profiled) pass.end();
    this.stats.dispatches++;
  }

  /**
   * Starts timing every dispatch (up to `capacity` of them) with GPU timestamps, each in a compute pass of its own
   * (needs the 'timestamp-query' feature). Profiling changes no result, only how work is grouped into passes.
   */
  startProfile(capacity: number): void {
    if (!this.device.features.has('timestamp-query')) throw new Error("webgpu backend: profiling needs the device feature 'timestamp-query'");
    if (this.#profile) throw new Error('webgpu backend: a profile is already running');
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= 2048)) throw new RangeError(`webgpu backend: profile capacity must be an integer in [1, 2048], got ${capacity}`);
    this.#commandEncoder();
    this.#profile = { querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 * capacity }), capacity, labels: [] };
  }

  /** Ends a profile: waits for the work and returns the profiled dispatches in order (at most `capacity`). */
  async stopProfile(): Promise<ProfileEntry[]> {
    const profile = this.#profile;
    if (!profile) throw new Error('webgpu backend: no profile is running');
    this.#profile = undefined;
    try {
      if (profile.labels.length === 0) return [];
      const stamps = await this.readTimestamps(profile.querySet, 2 * profile.labels.length);
      return profile.labels.map((label, k) => {
        const [t0, t1] = [stamps[2 * k], stamps[2 * k + 1]];
        return { label, ms: t1 > t0 ? Number(t1 - t0) / 1e6 : 0 };
      });
    } finally {
      profile.querySet.destroy();
    }
  }

  /** Submits everything encoded so far. */
  flush(): void {
    if (!this.#encoder) return;
    if (this.#pass) {
      this.#pass.end();
      this.#pass = undefined;
    }
    if (this.#ringUsed > 0) this.device.queue.writeBuffer(this.#ring, 0, this.#ringWords, 0, this.#ringUsed * this.#slotBytes);
    this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = undefined;
    this.#ringUsed = 0;
    this.stats.submits++;
  }

  /**
   * Copies byte ranges of buffers to the host: encodes the copies after all pending work, submits, waits and
   * returns one ArrayBuffer per range.
   */
  async read(ranges: readonly { buffer: TrackedBuffer; offset: number; size: number }[]): Promise<ArrayBuffer[]> {
    const offsets: number[] = [];
    let total = 0;
    for (const r of ranges) {
      offsets.push(total);
      total += Math.ceil(r.size / 4) * 4;
    }
    const staging = this.device.createBuffer({ size: Math.max(4, total), usage: READBACK_USAGE, label: 'nladmm readback' });
    ranges.forEach((r, k) => this.copy(r.buffer, r.offset, staging, offsets[k], r.size));
    this.#commandEncoder();
    this.flush();
    try {
      await staging.mapAsync(MAP_READ);
      const mapped = staging.getMappedRange();
      return ranges.map((r, k) => mapped.slice(offsets[k], offsets[k] + r.size));
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      staging.destroy();
    }
  }

  /**
   * Times the work `run` encodes: wall time from the first encoded command to the end of the GPU work (`settle`
   * waits for it, reporting what it raised), and GPU time between timestamp queries around it when the device has
   * the 'timestamp-query' feature.
   */
  async time(run: () => void | Promise<void>, settle: () => Promise<void>): Promise<{ wallMs: number; gpuMs?: number }> {
    const querySet = this.device.features.has('timestamp-query') ? this.device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
    try {
      const start = performance.now();
      if (querySet) this.timestamp(querySet, 0);
      await run();
      if (querySet) this.timestamp(querySet, 1);
      await settle();
      const wallMs = performance.now() - start;
      if (!querySet) return { wallMs };
      const [t0, t1] = await this.readTimestamps(querySet, 2);
      return { wallMs, gpuMs: t1 > t0 ? Number(t1 - t0) / 1e6 : undefined };
    } finally {
      querySet?.destroy();
    }
  }

  /** Ends the current pass and records a GPU timestamp into `querySet[index]` when the work reaches it. */
  timestamp(querySet: GPUQuerySet, index: number): void {
    const pass = this.#commandEncoder().beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: index } });
    pass.end();
  }

  /** Resolves `count` timestamps (nanoseconds) of a query set after all pending work. */
  async readTimestamps(querySet: GPUQuerySet, count: number): Promise<bigint[]> {
    const QUERY_RESOLVE = 0x0200;
    const COPY_SRC = 0x0004;
    const resolved = this.device.createBuffer({ size: count * 8, usage: QUERY_RESOLVE | COPY_SRC, label: 'nladmm timestamps' });
    this.#commandEncoder().resolveQuerySet(querySet, 0, count, resolved, 0);
    const tracked: TrackedBuffer = { id: -1, buffer: resolved, size: count * 8 };
    try {
      const [data] = await this.read([{ buffer: tracked, offset: 0, size: count * 8 }]);
      return Array.from(new BigUint64Array(data));
    } finally {
      resolved.destroy();
    }
  }

  /** Waits for all submitted work. */
  async idle(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** An error WebGPU reported asynchronously (validation, out of memory, device loss), cleared once taken. */
  takeDeviceError(): string | undefined {
    const e = this.#deviceError;
    this.#deviceError = undefined;
    return e;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.device.removeEventListener('uncapturederror', this.#onError);
    try {
      this.#pass?.end();
    } catch {
      // an unfinished pass is dropped with its encoder
    }
    this.#pass = undefined;
    this.#encoder = undefined;
    for (const b of this.#all) b.buffer.destroy();
    this.#all.clear();
    this.#pool.clear();
    this.#bindGroups.clear();
    this.#ring.destroy();
  }

  // ---- internals ----

  #bindGroup(plan: BindingPlan): GPUBindGroup {
    let key = plan.signature;
    for (const b of plan.buffers) key += `${b.id},`;
    let group = this.#bindGroups.get(key);
    if (!group) {
      if (this.#bindGroups.size >= BIND_GROUP_CACHE_LIMIT) this.#bindGroups.clear();
      group = this.device.createBindGroup({
        layout: this.#pipelines.layout(plan.accesses).group,
        entries: [
          { binding: 0, resource: { buffer: this.#ring, offset: 0, size: this.#slotBytes } },
          ...plan.buffers.map((b, k) => ({ binding: k + 1, resource: { buffer: b.buffer, offset: 0, size: Math.min(b.size, this.maxStorageBinding) } })),
        ],
      });
      this.#bindGroups.set(key, group);
      this.stats.bindGroupsCreated++;
    }
    return group;
  }

  #commandEncoder(): GPUCommandEncoder {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = undefined;
    }
    this.#encoder ??= this.device.createCommandEncoder();
    return this.#encoder;
  }

  #computePass(): GPUComputePassEncoder {
    if (!this.#pass) {
      this.#encoder ??= this.device.createCommandEncoder();
      this.#pass = this.#encoder.beginComputePass();
    }
    return this.#pass;
  }
}
