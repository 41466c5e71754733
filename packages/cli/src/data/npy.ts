import { DataError } from '../errors.ts';
import { readInputFile } from '../io/files.ts';
import { type RawTensor, product, shapeText } from './tensor.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Element kinds this reader accepts: kind letter + size in bytes. */
const SUPPORTED: Readonly<Record<string, string>> = {
  f4: 'f32', f8: 'f64', u1: 'u8', i1: 'i8', i2: 'i16', u2: 'u16', i4: 'i32', u4: 'u32', i8: 'i64',
};

/**
 * Parses a NumPy .npy file (format versions 1, 2 and 3): float32, float64 and uint8 (and the integer types
 * labels are commonly saved with), little- or big-endian, C order. Anything else is refused with a message
 * saying what was found and what to do.
 */
export function parseNpy(bytes: Uint8Array, path: string): RawTensor {
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) throw new DataError(path, 'not a .npy file (missing the \\x93NUMPY magic string)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(path, 'truncated .npy header');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new DataError(path, `unsupported .npy format version ${major}.${bytes[7]} (supported: 1.0, 2.0, 3.0)`);
  }
  if (headerStart + headerLength > bytes.length) throw new DataError(path, `truncated .npy header: it declares ${headerLength} bytes, the file has ${bytes.length - headerStart} after the preamble`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descrMatch = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(header);
  if (!descrMatch) {
    if (/['"]descr['"]\s*:\s*\[/.test(header)) throw new DataError(path, 'structured (record) arrays are not supported: save a plain numeric array');
    throw new DataError(path, `malformed .npy header (no 'descr'): ${header.trim()}`);
  }
  const descr = descrMatch[2];
  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortranMatch) throw new DataError(path, `malformed .npy header (no 'fortran_order'): ${header.trim()}`);
  if (fortranMatch[1] === 'True') throw new DataError(path, 'Fortran-order arrays are not supported: save np.ascontiguousarray(a) instead');
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeMatch) throw new DataError(path, `malformed .npy header (no 'shape'): ${header.trim()}`);
  const shape = shapeMatch[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const v = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(v) || v < 0) throw new DataError(path, `malformed .npy shape (${shapeMatch[1]})`);
    return v;
  });

  const order = descr[0];
  const kindSize = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  const dtype = SUPPORTED[kindSize];
  if (!dtype) {
    throw new DataError(path, `unsupported dtype '${descr}' (supported: float32 '<f4'/'>f4', float64 '<f8'/'>f8', uint8 '|u1', and integer labels '<i4', '<i8', …)`);
  }
  const size = Number(kindSize.slice(1));
  const little = order !== '>';
  const count = product(shape);
  const dataStart = headerStart + headerLength;
  const expected = count * size;
  const actual = bytes.length - dataStart;
  if (actual < expected) throw new DataError(path, `truncated: the header declares ${shapeText(shape)} ${dtype} values (${expected} bytes) but only ${actual} bytes follow`);
  if (actual > expected) throw new DataError(path, `${actual - expected} unexpected bytes after the ${shapeText(shape)} ${dtype} values`);
  const read = (k: number): number => {
    const at = dataStart + k * size;
    switch (dtype) {
      case 'f32': return view.getFloat32(at, little);
      case 'f64': return view.getFloat64(at, little);
      case 'i8': return view.getInt8(at);
      case 'i16': return view.getInt16(at, little);
      case 'u16': return view.getUint16(at, little);
      case 'i32': return view.getInt32(at, little);
      case 'u32': return view.getUint32(at, little);
      default: {
        const v = view.getBigInt64(at, little);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new DataError(path, `int64 value ${v} at index ${k} is too large`);
        return Number(v);
      }
    }
  };
  if (dtype === 'u8') return { shape, dtype, data: new Uint8Array(bytes.subarray(dataStart, dataStart + expected)) };
  const data = dtype === 'f32' ? new Float32Array(count) : new Float64Array(count);
  for (let k = 0; k < count; k++) data[k] = read(k);
  return { shape, dtype, data };
}

export async function readNpy(path: string): Promise<RawTensor> {
  return parseNpy(await readInputFile(path), path);
}

export type NpyWriteType = '<f8' | '<f4' | '>f8' | '>f4' | '|u1' | '<i4';

/** Encodes a C-order array as a version 1.0 .npy file (header padded to a multiple of 64 bytes). */
export function encodeNpy(shape: readonly number[], values: ArrayLike<number>, descr: NpyWriteType = '<f8'): Uint8Array {
  const count = product(shape);
  if (values.length !== count) throw new RangeError(`encodeNpy: ${values.length} values for shape ${shapeText(shape)}`);
  const shapeLiteral = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeLiteral}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const size = descr === '|u1' ? 1 : descr.endsWith('8') ? 8 : 4;
  const out = new Uint8Array(10 + header.length + count * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let k = 0; k < header.length; k++) out[10 + k] = header.charCodeAt(k);
  const base = 10 + header.length;
  const little = descr[0] !== '>';
  for (let k = 0; k < count; k++) {
    const at = base + k * size;
    if (descr === '|u1') out[at] = values[k];
    else if (descr === '<i4') view.setInt32(at, values[k], true);
    else if (size === 8) view.setFloat64(at, values[k], little);
    else view.setFloat32(at, values[k], little);
  }
  return out;
}
