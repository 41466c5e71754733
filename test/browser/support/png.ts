/**
 * A tiny PNG decoder (node:zlib for the deflate stream) for the screenshots the browser tests take: 8-bit
 * grayscale, RGB, gray+alpha or RGBA, non-interlaced — what Chromium writes. Returns RGBA pixels.
 */
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes a pixel, row-major. */
  readonly rgba: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(file: Uint8Array): DecodedPng {
  if (file.length < 8 || SIGNATURE.some((b, i) => file[i] !== b)) throw new Error('not a PNG file');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Uint8Array[] = [];
  while (offset + 8 <= file.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...file.subarray(offset + 4, offset + 8));
    const data = file.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length;
    if (type === 'IHDR') {
      width = view.getUint32(16);
      height = view.getUint32(20);
      const bitDepth = data[8];
      colorType = data[9];
      const interlace = data[12];
      if (bitDepth !== 8) throw new Error(`PNG bit depth ${bitDepth} is not supported`);
      if (!(colorType in CHANNELS)) throw new Error(`PNG colour type ${colorType} is not supported`);
      if (interlace !== 0) throw new Error('interlaced PNG is not supported');
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
  }
  if (width === 0 || height === 0) throw new Error('PNG without IHDR');
  const channels = CHANNELS[colorType];
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < height * (stride + 1)) throw new Error(`PNG data too short: ${raw.length} bytes for ${width}×${height}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : undefined;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= channels ? prev[x - channels] : 0;
      let v: number;
      switch (filter) {
        case 0: v = line[x]; break;
        case 1: v = line[x] + a; break;
        case 2: v = line[x] + b; break;
        case 3: v = line[x] + ((a + b) >> 1); break;
        case 4: v = line[x] + paeth(a, b, c); break;
        default: throw new Error(`PNG filter type ${filter} on row ${y}`);
      }
      out[x] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = p * channels;
    const [r, g, b, alpha] =
      channels === 1 ? [pixels[s], pixels[s], pixels[s], 255]
      : channels === 2 ? [pixels[s], pixels[s], pixels[s], pixels[s + 1]]
      : channels === 3 ? [pixels[s], pixels[s + 1], pixels[s + 2], 255]
      : [pixels[s], pixels[s + 1], pixels[s + 2], pixels[s + 3]];
    rgba.set([r, g, b, alpha], p * 4);
  }
  return { width, height, rgba };
}

/** How varied an image (or a rectangle of it) is: distinct colours and the share of the most common one. */
export function colourStats(png: DecodedPng, rect?: { x: number; y: number; width: number; height: number }): { distinct: number; dominantShare: number } {
  const x0 = Math.max(0, Math.floor(rect?.x ?? 0));
  const y0 = Math.max(0, Math.floor(rect?.y ?? 0));
  const x1 = Math.min(png.width, Math.ceil((rect ? rect.x + rect.width : png.width)));
  const y1 = Math.min(png.height, Math.ceil((rect ? rect.y + rect.height : png.height)));
  const counts = new Map<number, number>();
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const key = ((png.rgba[i] << 24) | (png.rgba[i + 1] << 16) | (png.rgba[i + 2] << 8) | png.rgba[i + 3]) >>> 0;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const total = Math.max(1, (x1 - x0) * (y1 - y0));
  const dominant = Math.max(0, ...counts.values());
  return { distinct: counts.size, dominantShare: dominant / total };
}
