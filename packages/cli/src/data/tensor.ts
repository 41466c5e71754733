/** An n-dimensional array read from a file, in C (row-major) order. */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
  /** The element type as stored, e.g. `u8`, `f32`. */
  readonly dtype: string;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function shapeText(dims: readonly number[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('×');
}

/** True when every element is an integer (labels). */
export function isIntegral(t: RawTensor): boolean {
  if (t.dtype.startsWith('u') || t.dtype.startsWith('i')) return true;
  for (let k = 0; k < t.data.length; k++) if (!Number.isInteger(t.data[k])) return false;
  return true;
}
