/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON header
 * `{"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}`, then the
 * tensors' bytes (little-endian, C order) with offsets relative to the end of the header, contiguous and
 * covering the whole data section.
 */
import { DataError } from '../errors.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16';

const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>;
  /** The tensors in the order of their data offsets. */
  readonly tensors: readonly TensorEntry[];
  get(name: string): TensorEntry | undefined;
}

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: 'F64' | 'F32';
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Encodes tensors (in the given order, contiguous) and string metadata as a safetensors file. */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || names.has(t.name)) throw new RangeError(`safetensors: duplicate or reserved tensor name '${t.name}'`);
    names.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`safetensors: tensor ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const bytes = count * DTYPE_SIZE[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so that the data section starts 8-byte aligned (as the reference implementation does).
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    if (t.dtype === 'F64') {
      for (let k = 0; k < t.data.length; k++, at += 8) view.setFloat64(at, t.data[k], true);
    } else {
      for (let k = 0; k < t.data.length; k++, at += 4) view.setFloat32(at, t.data[k], true);
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Parses and validates a safetensors file (header, dtypes, shapes, offsets); values are returned as f64. */
export function parseSafetensors(bytes: Uint8Array, path: string): SafetensorsFile {
  const fail = (message: string): never => {
    throw new DataError(path, `invalid safetensors file: ${message}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER)) fail(`header length ${declared} is larger than ${MAX_HEADER} bytes`);
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) fail(`truncated: the header declares ${headerLength} bytes but the file has ${bytes.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    fail(`the header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${key} is not a string`);
        metadata[key] = v as string;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object') fail(`tensor '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = info!;
    if (typeof dtype !== 'string') fail(`tensor '${name}' has no dtype`);
    if (!(dtype as string in DTYPE_SIZE)) fail(`tensor '${name}' has dtype ${dtype as string} (supported: F64, F32, F16, BF16)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype as SafetensorsDtype];
    if (end - begin !== expected) fail(`tensor '${name}' (${dtype as string} [${(shape as number[]).join(', ')}]) needs ${expected} bytes but its data_offsets span ${end - begin}`);
    if (end > dataLength) fail(`tensor '${name}' ends at byte ${end} but the data section has ${dataLength} bytes (truncated file?)`);
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const e of entries) {
    if (e.begin !== expectedBegin) fail(`data offsets are not contiguous: tensor '${e.name}' starts at ${e.begin}, expected ${expectedBegin}`);
    expectedBegin = e.end;
  }
  if (expectedBegin !== dataLength) fail(`the tensors cover ${expectedBegin} bytes but the data section has ${dataLength}`);
  const tensors: TensorEntry[] = entries.map((e) => {
    const size = DTYPE_SIZE[e.dtype];
    const count = (e.end - e.begin) / size;
    const data = new Float64Array(count);
    const base = dataStart + e.begin;
    for (let k = 0; k < count; k++) {
      const at = base + k * size;
      switch (e.dtype) {
        case 'F64': data[k] = view.getFloat64(at, true); break;
        case 'F32': data[k] = view.getFloat32(at, true); break;
        case 'F16': data[k] = halfToFloat(view.getUint16(at, true)); break;
        default: {
          const f = new DataView(new ArrayBuffer(4));
          f.setUint32(0, view.getUint16(at, true) << 16, false);
          data[k] = f.getFloat32(0, false);
        }
      }
    }
    return { name: e.name, dtype: e.dtype, shape: e.shape, data };
  });
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return { metadata, tensors, get: (name) => byName.get(name) };
}
