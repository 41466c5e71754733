/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON header
 * `{"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}`, then the
 * tensors' bytes (little-endian, C order) with offsets relative to the end of the header, contiguous and
 * covering the whole data section.
 *
 * Checksums (an nladmm extension inside the standard format, written with `{ checksums: true }`): the metadata entry
 * `checksums` holds `{"algorithm": "sha256", "tensors": {name: hex}, "metadata": {key: hex}}`, the sha256 of every
 * tensor's bytes and of every other metadata value, and `header_sha256` the sha256 of the canonical header (every
 * metadata entry but itself, sorted by key, and every tensor's name, dtype, shape and offsets, sorted by name), so
 * that a changed byte anywhere in the file is found and named ({@link verifyChecksums}).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DataError } from '../errors.ts';
import { readFailure } from './files.ts';

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
  /** The header as stored (offsets included), for {@link verifyChecksums}. */
  readonly layout: SafetensorsLayout;
}

/** A tensor as the header declares it: offsets relative to the start of the data section. */
export interface LayoutEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header: the metadata and the tensors (sorted by offset) of a file of `fileLength` bytes. */
export interface SafetensorsLayout {
  readonly metadata: Readonly<Record<string, string>>;
  readonly entries: readonly LayoutEntry[];
  /** 8 + the header length: where the data section starts. */
  readonly dataStart: number;
  readonly fileLength: number;
}

/** The metadata entries the checksums use (reserved: a caller's metadata may not hold them). */
export const CHECKSUMS_KEY = 'checksums';
export const HEADER_DIGEST_KEY = 'header_sha256';

export interface EncodeOptions {
  /** Add the `checksums` and `header_sha256` metadata entries (see the module comment). */
  readonly checksums?: boolean;
}

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: 'F64' | 'F32';
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

const MAX_HEADER = 100 * 1024 * 1024;

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The text `header_sha256` is the sha256 of: the metadata but the digest itself, and the tensor table, sorted. */
function canonicalHeader(metadata: Readonly<Record<string, string>>, entries: readonly LayoutEntry[]): string {
  const meta = Object.keys(metadata)
    .filter((key) => key !== HEADER_DIGEST_KEY)
    .sort()
    .map((key) => [key, metadata[key]]);
  const tensors = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((e) => [e.name, e.dtype, e.shape, [e.begin, e.end]]);
  return JSON.stringify({ metadata: meta, tensors });
}

interface ChecksumTable {
  algorithm: 'sha256';
  tensors: Record<string, string>;
  metadata: Record<string, string>;
}

/** Encodes tensors (in the given order, contiguous) and string metadata as a safetensors file. */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> = {}, options: EncodeOptions = {}): Uint8Array {
  if (options.checksums && (CHECKSUMS_KEY in metadata || HEADER_DIGEST_KEY in metadata)) {
    throw new RangeError(`safetensors: the metadata entries '${CHECKSUMS_KEY}' and '${HEADER_DIGEST_KEY}' are reserved for the checksums`);
  }
  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = { ...metadata };
  let table: ChecksumTable | undefined;
  const placeholder = '0'.repeat(64);
  if (options.checksums) {
    table = {
      algorithm: 'sha256',
      tensors: Object.fromEntries(tensors.map((t) => [t.name, placeholder])),
      metadata: Object.fromEntries(Object.keys(metadata).sort().map((key) => [key, sha256(metadata[key])])),
    };
    meta[CHECKSUMS_KEY] = JSON.stringify(table);
    meta[HEADER_DIGEST_KEY] = placeholder;
  }
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let offset = 0;
  const names = new Set<string>();
  const entries: LayoutEntry[] = [];
  for (const t of tensors) {
    if (t.name === '__metadata__' || names.has(t.name)) throw new RangeError(`safetensors: duplicate or reserved tensor name '${t.name}'`);
    names.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`safetensors: tensor ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const bytes = count * DTYPE_SIZE[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    entries.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], begin: offset, end: offset + bytes });
    offset += bytes;
  }
  // Pad with spaces so that the data section starts 8-byte aligned (as the reference implementation does).
  const encoder = new TextEncoder();
  const headerText = (): Uint8Array => {
    let json = JSON.stringify(header);
    const pad = (8 - (encoder.encode(json).length % 8)) % 8;
    if (pad > 0) json += ' '.repeat(pad);
    return encoder.encode(json);
  };
  let headerBytes = headerText();
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    if (t.dtype === 'F64') {
      for (let k = 0; k < t.data.length; k++, at += 8) view.setFloat64(at, t.data[k], true);
    } else {
      for (let k = 0; k < t.data.length; k++, at += 4) view.setFloat32(at, t.data[k], true);
    }
  }
  if (table) {
    // The hashes replace placeholders of the same length, so the header keeps its size and the data its place.
    const dataStart = 8 + headerBytes.length;
    for (const e of entries) table.tensors[e.name] = sha256(out.subarray(dataStart + e.begin, dataStart + e.end));
    meta[CHECKSUMS_KEY] = JSON.stringify(table);
    meta[HEADER_DIGEST_KEY] = sha256(canonicalHeader(meta, entries));
    const final = headerText();
    if (final.length !== headerBytes.length) throw new Error('safetensors: internal error: the checksums changed the header length');
    headerBytes = final;
  }
  out.set(headerBytes, 8);
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

/** Validates the JSON header of a file of `fileLength` bytes whose header is `headerLength` bytes long. */
function layoutFromHeader(headerJson: Uint8Array, headerLength: number, fileLength: number, path: string): SafetensorsLayout {
  const fail = (message: string): never => {
    throw new DataError(path, `invalid safetensors file: ${message}`);
  };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerJson));
  } catch (err) {
    fail(`the header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: LayoutEntry[] = [];
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
  return { metadata, entries, dataStart, fileLength };
}

/** The declared header length, checked against the limit and the file's length. */
function headerLengthOf(first8: Uint8Array, fileLength: number, path: string): number {
  const fail = (message: string): never => {
    throw new DataError(path, `invalid safetensors file: ${message}`);
  };
  if (fileLength < 8 || first8.length < 8) fail(`${fileLength} bytes, too short for the 8-byte header length`);
  const declared = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER)) fail(`header length ${declared} is larger than ${MAX_HEADER} bytes`);
  const headerLength = Number(declared);
  if (8 + headerLength > fileLength) fail(`truncated: the header declares ${headerLength} bytes but the file has ${fileLength - 8} after the length`);
  return headerLength;
}

/** Parses and validates the header of a whole file in memory (no tensor values are converted). */
export function parseSafetensorsLayout(bytes: Uint8Array, path: string): SafetensorsLayout {
  const headerLength = headerLengthOf(bytes.subarray(0, 8), bytes.length, path);
  return layoutFromHeader(bytes.subarray(8, 8 + headerLength), headerLength, bytes.length, path);
}

/** Reads and validates the header of a file on disk without reading its tensors. */
export async function readSafetensorsLayout(path: string, what?: string): Promise<SafetensorsLayout> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new DataError(path, `${what ? `${what}: ` : ''}${readFailure(err)}`);
  }
  try {
    const fileLength = (await handle.stat()).size;
    const first8 = Buffer.alloc(8);
    await handle.read(first8, 0, 8, 0);
    const headerLength = headerLengthOf(first8, fileLength, path);
    const header = Buffer.alloc(headerLength);
    if ((await handle.read(header, 0, headerLength, 8)).bytesRead !== headerLength) throw new DataError(path, 'invalid safetensors file: truncated header');
    return layoutFromHeader(header, headerLength, fileLength, path);
  } finally {
    await handle.close();
  }
}

/** Parses and validates a safetensors file (header, dtypes, shapes, offsets); values are returned as f64. */
export function parseSafetensors(bytes: Uint8Array, path: string): SafetensorsFile {
  const layout = parseSafetensorsLayout(bytes, path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors: TensorEntry[] = layout.entries.map((e) => {
    const size = DTYPE_SIZE[e.dtype];
    const count = (e.end - e.begin) / size;
    const data = new Float64Array(count);
    const base = layout.dataStart + e.begin;
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
  return { metadata: layout.metadata, tensors, get: (name) => byName.get(name), layout };
}

/** Whether a header carries checksums (`checksums` or `header_sha256`). */
export function hasChecksums(layout: SafetensorsLayout): boolean {
  return CHECKSUMS_KEY in layout.metadata || HEADER_DIGEST_KEY in layout.metadata;
}

/**
 * Checks the checksums of the metadata (every entry, then the whole header) from the header alone. Returns false
 * when the file has none (written without them); throws a DataError naming the first entry that does not match.
 */
export function verifyMetadataChecksums(layout: SafetensorsLayout, path: string): boolean {
  const { metadata } = layout;
  if (!hasChecksums(layout)) return false;
  const corrupt = (what: string): never => {
    throw new DataError(path, `${what} (the file is corrupt or was edited)`);
  };
  if (!(CHECKSUMS_KEY in metadata) || !(HEADER_DIGEST_KEY in metadata)) corrupt(`the metadata has '${CHECKSUMS_KEY in metadata ? CHECKSUMS_KEY : HEADER_DIGEST_KEY}' without '${CHECKSUMS_KEY in metadata ? HEADER_DIGEST_KEY : CHECKSUMS_KEY}'`);
  const table = checksumTable(metadata[CHECKSUMS_KEY]);
  if (!table) return corrupt(`the metadata entry '${CHECKSUMS_KEY}' is not a valid checksum table`);
  for (const key of Object.keys(metadata)) {
    if (key === CHECKSUMS_KEY || key === HEADER_DIGEST_KEY) continue;
    if (!(key in table.metadata)) corrupt(`the metadata entry '${key}' is not covered by the checksums`);
    if (sha256(metadata[key]) !== table.metadata[key]) corrupt(`the metadata entry '${key}' does not match its sha256 checksum`);
  }
  for (const key of Object.keys(table.metadata)) if (!(key in metadata)) corrupt(`the metadata entry '${key}' is missing`);
  if (sha256(canonicalHeader(metadata, layout.entries)) !== metadata[HEADER_DIGEST_KEY]) corrupt(`the metadata does not match its sha256 checksum (${HEADER_DIGEST_KEY})`);
  const names = new Set(layout.entries.map((e) => e.name));
  for (const name of names) if (!(name in table.tensors)) corrupt(`tensor ${name} is not covered by the checksums`);
  for (const name of Object.keys(table.tensors)) if (!names.has(name)) corrupt(`tensor ${name} is missing`);
  return true;
}

/**
 * Checks every checksum of a whole file in memory: the metadata's ({@link verifyMetadataChecksums}), then each
 * tensor's bytes. Returns false when the file has no checksums; throws a DataError naming what does not match.
 */
export function verifyChecksums(bytes: Uint8Array, layout: SafetensorsLayout, path: string): boolean {
  if (!verifyMetadataChecksums(layout, path)) return false;
  const table = checksumTable(layout.metadata[CHECKSUMS_KEY])!;
  for (const e of layout.entries) {
    const digest = sha256(bytes.subarray(layout.dataStart + e.begin, layout.dataStart + e.end));
    if (digest !== table.tensors[e.name]) throw new DataError(path, `tensor ${e.name} does not match its sha256 checksum (the file is corrupt or was edited)`);
  }
  return true;
}

function checksumTable(text: string | undefined): ChecksumTable | undefined {
  let table: unknown;
  try {
    table = JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
  const isMap = (v: unknown): v is Record<string, string> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h));
  const t = table as Partial<ChecksumTable> | null;
  if (t === null || typeof t !== 'object' || t.algorithm !== 'sha256' || !isMap(t.tensors) || !isMap(t.metadata)) return undefined;
  return t as ChecksumTable;
}
