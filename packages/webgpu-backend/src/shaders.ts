/**
 * Loading and specialising the WGSL sources of shaders/*.wgsl (embedded by scripts/embed-shaders.mjs, which also
 * expands their `#include "include/…"` lines and reads their uniform structs for uniforms.ts).
 *
 * Templating is plain text substitution of `{{NAME}}` placeholders: tile sizes and flags become WGSL constants,
 * an activation's σ/σ′ bodies become function bodies, buffer placeholders become the names of the storage
 * arrays of a {@link BindingPlan}. Every placeholder of a source must be given a value, and every value must be
 * used, so that a typo fails loudly at load time instead of producing a subtly different kernel.
 */
import { shaderSources } from './shaders.generated.ts';

export type TemplateValue = string | number | boolean;

const PLACEHOLDER = /\{\{([A-Z0-9_]+)\}\}/g;

function literal(value: TemplateValue): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

/** The source of shaders/<name>.wgsl with every `{{KEY}}` replaced by `values[KEY]`. */
export function renderShader(name: string, values: Readonly<Record<string, TemplateValue>>): string {
  const source = shaderSources[name];
  if (source === undefined) {
    throw new Error(`webgpu backend: no shader '${name}' (known: ${Object.keys(shaderSources).join(', ')}); run scripts/embed-shaders.mjs`);
  }
  const used = new Set<string>();
  const text = source.replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`webgpu backend: shader '${name}' needs a value for {{${key}}}`);
    used.add(key);
    return literal(value);
  });
  for (const key of Object.keys(values)) {
    if (!used.has(key)) throw new Error(`webgpu backend: shader '${name}' has no placeholder {{${key}}}`);
  }
  return text;
}

/** Element type of a storage array as a shader declares it. */
export type ElementType = 'f32' | 'u32' | 'vec4';

/** A GPU buffer with a stable identity (bind groups are cached by it). */
export interface TrackedBuffer {
  readonly id: number;
  readonly buffer: GPUBuffer;
  readonly size: number;
}

/** One storage array a kernel uses: the placeholder it fills, the buffer bound to it, and how it is accessed. */
export interface Resource {
  readonly placeholder: string;
  readonly buffer: TrackedBuffer;
  readonly access: 'read' | 'read_write';
  readonly type: ElementType;
}

/**
 * How a kernel's resources map to bindings: one binding per distinct (buffer, element type), read_write if any
 * use writes (a buffer bound once as read_write and once as read in the same dispatch is a WebGPU usage
 * conflict, so an output aliasing an input must share its binding). Binding 0 is the dispatch's uniform block.
 */
export interface BindingPlan {
  /** WGSL declarations of the storage arrays (`buf1`, `buf2`, …). */
  readonly declarations: string;
  /** Placeholder → array name. */
  readonly names: Readonly<Record<string, string>>;
  /** Placeholder → element type of its array. */
  readonly types: Readonly<Record<string, ElementType>>;
  /** The access of binding 1, 2, …, for the bind group layout. */
  readonly accesses: readonly ('read' | 'read_write')[];
  readonly buffers: readonly TrackedBuffer[];
  /**
   * Identifies the shader-visible shape of the plan (access and type of each binding, and which binding each
   * resource uses, in the order of the resources: callers list the placeholders in a fixed order).
   */
  readonly signature: string;
}

const WGSL_TYPE: Record<ElementType, string> = { f32: 'f32', u32: 'u32', vec4: 'vec4<f32>' };

export function planBindings(resources: readonly Resource[]): BindingPlan {
  const slots: { buffer: TrackedBuffer; type: ElementType; access: 'read' | 'read_write' }[] = [];
  const assignment: number[] = [];
  for (const r of resources) {
    let index = slots.findIndex((s) => s.buffer === r.buffer && s.type === r.type);
    if (index < 0) {
      index = slots.length;
      slots.push({ buffer: r.buffer, type: r.type, access: r.access });
    } else if (r.access === 'read_write') {
      slots[index].access = 'read_write';
    }
    assignment.push(index);
  }
  // A buffer written through one element type and read through another in the same dispatch would be two
  // bindings of one buffer, one of them writable: refuse it (no kernel needs it).
  for (let i = 0; i < slots.length; i++) {
    for (let j = i + 1; j < slots.length; j++) {
      if (slots[i].buffer === slots[j].buffer && (slots[i].access === 'read_write' || slots[j].access === 'read_write')) {
        throw new Error('webgpu backend: a buffer is bound both writable and under another element type in one dispatch');
      }
    }
  }
  let signature = '';
  for (const s of slots) signature += `${s.access === 'read' ? 'r' : 'w'}${s.type},`;
  signature += '|';
  for (const k of assignment) signature += `${k},`;
  return {
    // Built only when a pipeline is compiled (plans are made on every dispatch).
    get declarations() {
      return slots.map((s, k) => `@group(0) @binding(${k + 1}) var<storage, ${s.access}> buf${k + 1}: array<${WGSL_TYPE[s.type]}>;`).join('\n');
    },
    get names() {
      const names: Record<string, string> = {};
      resources.forEach((r, k) => (names[r.placeholder] = `buf${assignment[k] + 1}`));
      return names;
    },
    get types() {
      const types: Record<string, ElementType> = {};
      resources.forEach((r) => (types[r.placeholder] = r.type));
      return types;
    },
    accesses: slots.map((s) => s.access),
    buffers: slots.map((s) => s.buffer),
    signature,
  };
}

/**
 * Store functions `store<X>4(i, v)` (the vec4 at element index i, a multiple of 4) and `store<X>1(i, x)` (one element)
 * over the read_write array bound to placeholder X, for the element type it is bound with.
 */
export function stores(operand: string, arrayName: string, type: ElementType): string {
  if (type === 'vec4') {
    return [
      `fn store${operand}4(i: u32, v: vec4<f32>) { ${arrayName}[i / 4u] = v; }`,
      `fn store${operand}1(i: u32, x: f32) { ${arrayName}[i / 4u][i % 4u] = x; }`,
    ].join('\n');
  }
  return [
    `fn store${operand}4(i: u32, v: vec4<f32>) { ${arrayName}[i] = v.x; ${arrayName}[i + 1u] = v.y; ${arrayName}[i + 2u] = v.z; ${arrayName}[i + 3u] = v.w; }`,
    `fn store${operand}1(i: u32, x: f32) { ${arrayName}[i] = x; }`,
  ].join('\n');
}

/**
 * Loader functions `load<X>4(i)` (the vec4 at element index i, a multiple of 4) and `load<X>1(i)` (one element)
 * over the array bound to placeholder X, for the element type it is bound with.
 */
export function loaders(operand: string, arrayName: string, type: ElementType): string {
  if (type === 'vec4') {
    return [
      `fn load${operand}4(i: u32) -> vec4<f32> { return ${arrayName}[i / 4u]; }`,
      `fn load${operand}1(i: u32) -> f32 { return ${arrayName}[i / 4u][i % 4u]; }`,
    ].join('\n');
  }
  return [
    `fn load${operand}4(i: u32) -> vec4<f32> { return vec4<f32>(${arrayName}[i], ${arrayName}[i + 1u], ${arrayName}[i + 2u], ${arrayName}[i + 3u]); }`,
    `fn load${operand}1(i: u32) -> f32 { return ${arrayName}[i]; }`,
  ].join('\n');
}
