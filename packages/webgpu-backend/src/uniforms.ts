/**
 * Named uniforms. Every kernel reads its per-dispatch parameters from `var<uniform> params: Params`; the members of
 * each shader's struct (name, WGSL type, word offset) are read from the .wgsl file by scripts/embed-shaders.mjs into
 * `shaderUniforms`, and the host gives the values by member name: {@link UniformValues} is the type of a shader's
 * values (a missing member or one the struct does not have is a type error), {@link writeUniforms} writes them at
 * their offsets, as u32 or f32 bits according to the member's type, and throws on a missing or unknown name (for
 * values built outside the type checker). Members named `unused…` are the struct's padding: never given, written 0.
 */
import { shaderUniforms } from './shaders.generated.ts';

/** The shaders of shaders/*.wgsl, by file name. */
export type ShaderName = keyof typeof shaderUniforms;

type Member<S extends ShaderName> = (typeof shaderUniforms)[S][number];
type Vec<T extends string> = T extends `vec2<${string}>`
  ? readonly [number, number]
  : T extends `vec3<${string}>`
    ? readonly [number, number, number]
    : T extends `vec4<${string}>`
      ? readonly [number, number, number, number]
      : number;

/** The values of a shader's uniform struct by member name: a number per scalar, a tuple per vector; no padding. */
export type UniformValues<S extends ShaderName> = {
  readonly [F in Member<S> as F['name'] extends `unused${string}` ? never : F['name']]: Vec<F['type']>;
};

interface Field {
  readonly name: string;
  readonly word: number;
  readonly lanes: number;
  readonly float: boolean;
  readonly padding: boolean;
}

interface Layout {
  readonly fields: readonly Field[];
  /** Members the host gives (all but the padding). */
  readonly given: number;
  /** Bytes of the struct (its last member's end). */
  readonly bytes: number;
}

/** Bytes of the smallest uniform slot a dispatch gets (the runtime's slots are at least this, 256-byte aligned). */
export const MIN_UNIFORM_SLOT_BYTES = 256;

const layouts = new Map<string, Layout>();
for (const [shader, members] of Object.entries(shaderUniforms) as [string, readonly { name: string; type: string; word: number }[]][]) {
  const fields = members.map((m) => ({
    name: m.name,
    word: m.word,
    lanes: /^vec([234])</.test(m.type) ? Number(m.type[3]) : 1,
    float: m.type.includes('f32'),
    padding: m.name.startsWith('unused'),
  }));
  const last = fields[fields.length - 1];
  const bytes = last ? (last.word + last.lanes) * 4 : 0;
  // A startup error, not a silent overrun into the next dispatch's slot.
  if (bytes > MIN_UNIFORM_SLOT_BYTES) throw new Error(`webgpu backend: the uniform struct of shader '${shader}' has ${bytes} bytes, more than a uniform slot (${MIN_UNIFORM_SLOT_BYTES})`);
  layouts.set(shader, { fields, given: fields.filter((f) => !f.padding).length, bytes });
}

/**
 * Writes a dispatch's uniform values into a slot of the uniform ring (both views over the same bytes, `base` the
 * slot's first word): each member at its word offset, u32 or f32 by its WGSL type, padding as 0.
 */
export function writeUniforms(shader: string, values: Readonly<Record<string, number | readonly number[]>>, u32: Uint32Array, f32: Float32Array, base: number): void {
  const layout = layouts.get(shader);
  if (!layout) throw new Error(`webgpu backend: no uniform layout for shader '${shader}'; run scripts/embed-shaders.mjs`);
  for (const f of layout.fields) {
    const at = base + f.word;
    if (f.padding) {
      for (let k = 0; k < f.lanes; k++) u32[at + k] = 0;
      continue;
    }
    const value = values[f.name];
    if (value === undefined) throw new Error(`webgpu backend: shader '${shader}' needs the uniform '${f.name}'`);
    const view = f.float ? f32 : u32;
    if (f.lanes === 1) view[at] = value as number;
    else for (let k = 0; k < f.lanes; k++) view[at + k] = (value as readonly number[])[k];
  }
  let count = 0;
  for (const _ in values) count++;
  if (count !== layout.given) {
    const unknown = Object.keys(values).filter((name) => !layout.fields.some((f) => f.name === name && !f.padding));
    throw new Error(`webgpu backend: shader '${shader}' has no uniform ${unknown.map((n) => `'${n}'`).join(', ')}`);
  }
}
