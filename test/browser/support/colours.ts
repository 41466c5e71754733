/** Colour statistics of the screenshots the browser tests take (decoded by pngjs: RGBA, 4 bytes a pixel). */

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes a pixel, row-major. */
  readonly data: Uint8Array;
}

/** How varied an image (or a rectangle of it) is: distinct colours and the share of the most common one. */
export function colourStats(png: RgbaImage, rect?: { x: number; y: number; width: number; height: number }): { distinct: number; dominantShare: number } {
  const x0 = Math.max(0, Math.floor(rect?.x ?? 0));
  const y0 = Math.max(0, Math.floor(rect?.y ?? 0));
  const x1 = Math.min(png.width, Math.ceil(rect ? rect.x + rect.width : png.width));
  const y1 = Math.min(png.height, Math.ceil(rect ? rect.y + rect.height : png.height));
  const counts = new Map<number, number>();
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const key = ((png.data[i] << 24) | (png.data[i + 1] << 16) | (png.data[i + 2] << 8) | png.data[i + 3]) >>> 0;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const total = Math.max(1, (x1 - x0) * (y1 - y0));
  const dominant = Math.max(0, ...counts.values());
  return { distinct: counts.size, dominantShare: dominant / total };
}
