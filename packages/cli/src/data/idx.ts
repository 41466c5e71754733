import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.ts';
import { readInputFile } from '../io/files.ts';
import { type RawTensor, product, shapeText } from './tensor.ts';

/** The IDX element types (third byte of the magic number) with their sizes. */
const IDX_TYPES: Readonly<Record<number, { name: string; size: number }>> = {
  0x08: { name: 'u8', size: 1 },
  0x09: { name: 'i8', size: 1 },
  0x0b: { name: 'i16', size: 2 },
  0x0c: { name: 'i32', size: 4 },
  0x0d: { name: 'f32', size: 4 },
  0x0e: { name: 'f64', size: 8 },
};

/** `bytes` decompressed when they start with the gzip magic bytes, else `bytes` itself. */
export function gunzipIfGzip(bytes: Buffer, path: string): Buffer {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (err) {
      const message = (err as Error).message;
      throw new DataError(path, /unexpected end/i.test(message) ? 'truncated gzip stream (the file is incomplete)' : `corrupt gzip data (${message})`);
    }
  }
  return bytes;
}

/** Reads a whole file, decompressing it when it starts with the gzip magic bytes. */
export async function readMaybeGzip(path: string): Promise<Buffer> {
  return gunzipIfGzip(await readInputFile(path), path);
}

/**
 * Parses an IDX file (the MNIST format): two zero bytes, a type byte, the number of dimensions, the sizes as
 * big-endian uint32, then the values big-endian in C order. Checks the magic number, the sizes and that the
 * data is neither truncated nor followed by extra bytes.
 */
export function parseIdx(bytes: Uint8Array, path: string): RawTensor {
  if (bytes.length < 4) throw new DataError(path, `not an IDX file: ${bytes.length} bytes, too short for the 4-byte magic number`);
  const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  const type = IDX_TYPES[bytes[2]];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !type) {
    throw new DataError(path, `not an IDX file: magic number 0x${magic} (expected 0x000008NN, 0x0000{09,0b,0c,0d,0e}NN)`);
  }
  const ndims = bytes[3];
  if (ndims < 1) throw new DataError(path, `IDX magic 0x${magic} declares 0 dimensions`);
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) throw new DataError(path, `truncated IDX header: ${ndims} dimensions need ${headerSize} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let k = 0; k < ndims; k++) dims.push(view.getUint32(4 + 4 * k, false));
  const count = product(dims);
  const expected = count * type.size;
  const actual = bytes.length - headerSize;
  if (actual < expected) {
    throw new DataError(path, `truncated: the header declares ${shapeText(dims)} ${type.name} values (${expected} bytes) but only ${actual} bytes follow`);
  }
  if (actual > expected) throw new DataError(path, `${actual - expected} unexpected bytes after the ${shapeText(dims)} ${type.name} values`);
  const body = bytes.subarray(headerSize, headerSize + expected);
  switch (type.name) {
    case 'u8':
      return { shape: dims, dtype: 'u8', data: new Uint8Array(body) };
    case 'i8':
      return { shape: dims, dtype: 'i8', data: new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + expected)) };
    default: {
      const out = type.name === 'f32' ? new Float32Array(count) : type.name === 'i16' ? new Int16Array(count) : type.name === 'i32' ? new Int32Array(count) : new Float64Array(count);
      const base = headerSize;
      for (let k = 0; k < count; k++) {
        const at = base + k * type.size;
        out[k] = type.name === 'i16' ? view.getInt16(at, false) : type.name === 'i32' ? view.getInt32(at, false) : type.name === 'f32' ? view.getFloat32(at, false) : view.getFloat64(at, false);
      }
      return { shape: dims, dtype: type.name, data: out };
    }
  }
}

export async function readIdx(path: string): Promise<RawTensor> {
  return parseIdx(await readMaybeGzip(path), path);
}
