/// <reference types="@webgpu/types" preserve="true" />
/**
 * Compute pipelines of the kernels: the WGSL of a shader template rendered for a binding plan (shaders.ts),
 * compiled, and cached per device with the bind group and pipeline layouts, so that backends on one device share
 * them (a second backend on a device compiles nothing it has seen; shader compilation dominates setup on software
 * adapters).
 */
import { type BindingPlan, type Resource, type TemplateValue, loaders, planBindings, renderShader, stores } from './shaders.ts';

/** What identifies a kernel's pipeline: its template, the template values and the binding plan of its resources. */
export interface KernelSpec {
  /** Template name (shaders/<name>.wgsl). */
  readonly shader: string;
  /** Template values (constants, flags, snippets); the buffer placeholders come from `resources`. */
  readonly values: Readonly<Record<string, TemplateValue>>;
  readonly resources: readonly Resource[];
  /** Operands that need loadX4/loadX1 functions (GEMM), by placeholder. */
  readonly loaders?: readonly string[];
  /** read_write operands that need storeX4/storeX1 functions (GEMM), by placeholder. */
  readonly stores?: readonly string[];
  readonly entryPoint?: string;
}

interface DeviceCache {
  readonly pipelines: Map<string, GPUComputePipeline>;
  readonly layouts: Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>;
  /** Long template values (an activation's WGSL) → short ids used in pipeline keys (shared with the pipelines). */
  readonly interned: Map<string, string>;
}
const deviceCaches = new WeakMap<GPUDevice, DeviceCache>();

export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #stats: { pipelinesCreated: number };
  readonly #pipelines: Map<string, GPUComputePipeline>;
  readonly #layouts: Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>;
  readonly #interned: Map<string, string>;

  /** The cache of `device`; `stats.pipelinesCreated` counts the pipelines this instance creates. */
  constructor(device: GPUDevice, stats: { pipelinesCreated: number }) {
    this.#device = device;
    this.#stats = stats;
    let cache = deviceCaches.get(device);
    if (!cache) deviceCaches.set(device, (cache = { pipelines: new Map(), layouts: new Map(), interned: new Map() }));
    this.#pipelines = cache.pipelines;
    this.#layouts = cache.layouts;
    this.#interned = cache.interned;
  }

  /** The pipeline of a kernel for a binding plan (created and cached on first use). */
  pipelineFor(spec: KernelSpec, plan: BindingPlan): GPUComputePipeline {
    const key = this.#pipelineKey(spec, plan);
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      const code = this.shaderCode(spec, plan);
      const module = this.#device.createShaderModule({ code, label: spec.shader });
      pipeline = this.#device.createComputePipeline({
        layout: this.layout(plan.accesses).pipeline,
        compute: { module, entryPoint: spec.entryPoint ?? 'main' },
        label: spec.shader,
      });
      this.#pipelines.set(key, pipeline);
      this.#stats.pipelinesCreated++;
    }
    return pipeline;
  }

  /** Compiles a pipeline asynchronously and caches it; rejects with the compiler's messages. */
  async compile(spec: KernelSpec): Promise<void> {
    const plan = planBindings(spec.resources);
    const key = this.#pipelineKey(spec, plan);
    if (this.#pipelines.has(key)) return;
    const code = this.shaderCode(spec, plan);
    this.#device.pushErrorScope('validation');
    const module = this.#device.createShaderModule({ code, label: spec.shader });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    let pipelineError: unknown;
    let pipeline: GPUComputePipeline | undefined;
    if (errors.length === 0) {
      try {
        pipeline = await this.#device.createComputePipelineAsync({
          layout: this.layout(plan.accesses).pipeline,
          compute: { module, entryPoint: spec.entryPoint ?? 'main' },
          label: spec.shader,
        });
      } catch (err) {
        pipelineError = err;
      }
    }
    const scopeError = await this.#device.popErrorScope();
    if (errors.length > 0 || pipelineError !== undefined || scopeError) {
      const lines = code.split('\n');
      const quoted = errors.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}${lines[m.lineNum - 1] !== undefined ? ` in \`${lines[m.lineNum - 1].trim()}\`` : ''}`);
      if (pipelineError !== undefined) quoted.push(pipelineError instanceof Error ? pipelineError.message : String(pipelineError));
      if (scopeError && quoted.length === 0) quoted.push(scopeError.message);
      throw new ShaderCompileError(quoted.join('; '));
    }
    this.#pipelines.set(key, pipeline!);
    this.#stats.pipelinesCreated++;
  }

  /** The WGSL of a kernel for a binding plan: bindings, loader and store functions, template values filled in. */
  shaderCode(spec: KernelSpec, plan: BindingPlan): string {
    let declarations = plan.declarations;
    for (const operand of spec.loaders ?? []) {
      declarations += `\n${loaders(operand, plan.names[operand], plan.types[operand])}`;
    }
    for (const operand of spec.stores ?? []) {
      declarations += `\n${stores(operand, plan.names[operand], plan.types[operand])}`;
    }
    const values: Record<string, TemplateValue> = { ...spec.values, BINDINGS: declarations };
    const accessed = [...(spec.loaders ?? []), ...(spec.stores ?? [])];
    for (const [placeholder, name] of Object.entries(plan.names)) {
      if (!accessed.includes(placeholder)) values[placeholder] = name;
    }
    return renderShader(spec.shader, values);
  }

  #pipelineKey(spec: KernelSpec, plan: BindingPlan): string {
    let key = `${spec.shader}#${spec.entryPoint ?? 'main'}#`;
    for (const k in spec.values) {
      const v = spec.values[k];
      // Long values (an activation's WGSL) are interned to short ids so that keys stay cheap to hash.
      key += `${k}=${typeof v === 'string' && v.length > 24 ? this.#intern(v) : v};`;
    }
    key += `#${plan.signature}#`;
    for (const r of spec.resources) key += `${r.placeholder},`;
    if (spec.loaders) key += `#${spec.loaders.join(',')}`;
    if (spec.stores) key += `#${spec.stores.join(',')}`;
    return key;
  }

  #intern(text: string): string {
    let id = this.#interned.get(text);
    if (id === undefined) this.#interned.set(text, (id = `@${this.#interned.size}`));
    return id;
  }

  /** The bind group layout and pipeline layout for bindings of these accesses (binding 0: the uniform block). */
  layout(accesses: readonly ('read' | 'read_write')[]): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    const key = accesses.join(',');
    let layout = this.#layouts.get(key);
    if (!layout) {
      const COMPUTE = 0x4; // GPUShaderStage.COMPUTE
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
        ...accesses.map((a, k) => ({ binding: k + 1, visibility: COMPUTE, buffer: { type: a === 'read' ? 'read-only-storage' : 'storage' } as GPUBufferBindingLayout })),
      ];
      const group = this.#device.createBindGroupLayout({ entries });
      layout = { group, pipeline: this.#device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.#layouts.set(key, layout);
    }
    return layout;
  }
}

/** A WGSL module or pipeline that WebGPU refused; the message quotes the compiler. */
export class ShaderCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShaderCompileError';
  }
}
