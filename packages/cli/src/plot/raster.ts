/** A small software rasteriser for chart scenes: anti-aliased polylines, rectangles and bitmap text. */
import { GLYPHS } from './font.ts';
import { CAP_HEIGHT, CHAR_ADVANCE, type Color, type Scene, textWidth } from './scene.ts';

function parseColor(c: Color): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (!m) return [0, 0, 0];
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

class Canvas {
  readonly rgb: Uint8Array;
  /** Coverage of the polyline being drawn (max over its segments, so joints are not drawn twice). */
  private readonly mask: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Color,
  ) {
    this.rgb = new Uint8Array(width * height * 3);
    const [r, g, b] = parseColor(background);
    for (let k = 0; k < width * height; k++) {
      this.rgb[3 * k] = r;
      this.rgb[3 * k + 1] = g;
      this.rgb[3 * k + 2] = b;
    }
    this.mask = new Float32Array(width * height);
  }

  blend(x: number, y: number, color: [number, number, number], alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const a = Math.min(1, alpha);
    const at = 3 * (y * this.width + x);
    for (let c = 0; c < 3; c++) this.rgb[at + c] = Math.round(this.rgb[at + c] * (1 - a) + color[c] * a);
  }

  fillRect(x: number, y: number, w: number, h: number, color: [number, number, number]): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.blend(px, py, color, 1);
  }

  /** Strokes connected segments with round joins, anti-aliased by the distance to the segments. */
  polyline(points: readonly (readonly [number, number])[], color: [number, number, number], width: number): void {
    if (points.length < 2) return;
    const half = width / 2;
    let minX = this.width;
    let minY = this.height;
    let maxX = -1;
    let maxY = -1;
    for (let s = 0; s + 1 < points.length; s++) {
      const [ax, ay] = points[s];
      const [bx, by] = points[s + 1];
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1));
      const x1 = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + half + 1));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - half - 1));
      const y1 = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + half + 1));
      if (x0 > x1 || y0 > y1) continue;
      minX = Math.min(minX, x0);
      maxX = Math.max(maxX, x1);
      minY = Math.min(minY, y0);
      maxY = Math.max(maxY, y1);
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      for (let py = y0; py <= y1; py++) {
        for (let px = x0; px <= x1; px++) {
          const cx = px + 0.5 - ax;
          const cy = py + 0.5 - ay;
          const t = len2 > 0 ? Math.max(0, Math.min(1, (cx * dx + cy * dy) / len2)) : 0;
          const ex = cx - t * dx;
          const ey = cy - t * dy;
          const coverage = half + 0.5 - Math.sqrt(ex * ex + ey * ey);
          if (coverage > 0) {
            const at = py * this.width + px;
            if (coverage > this.mask[at]) this.mask[at] = Math.min(1, coverage);
          }
        }
      }
    }
    for (let py = minY; py <= maxY; py++) {
      for (let px = minX; px <= maxX; px++) {
        const at = py * this.width + px;
        if (this.mask[at] > 0) {
          this.blend(px, py, color, this.mask[at]);
          this.mask[at] = 0;
        }
      }
    }
  }
}

/** Splits a polyline into its dashes for a dash pattern [on, off, on, off, …]. */
export function dashPolyline(points: readonly (readonly [number, number])[], pattern: readonly number[]): [number, number][][] {
  const out: [number, number][][] = [];
  let index = 0;
  let left = pattern[0];
  let on = true;
  let current: [number, number][] = [[points[0][0], points[0][1]]];
  for (let s = 0; s + 1 < points.length; s++) {
    let [ax, ay] = points[s];
    const [bx, by] = points[s + 1];
    let segment = Math.hypot(bx - ax, by - ay);
    while (segment > left) {
      const t = left / segment;
      ax += (bx - ax) * t;
      ay += (by - ay) * t;
      segment -= left;
      if (on) {
        current.push([ax, ay]);
        out.push(current);
      } else current = [[ax, ay]];
      on = !on;
      index = (index + 1) % pattern.length;
      left = pattern[index];
    }
    left -= segment;
    if (on) current.push([bx, by]);
    else current = [[bx, by]];
  }
  if (on && current.length > 1) out.push(current);
  return out;
}

function drawText(canvas: Canvas, item: Extract<Scene['items'][number], { kind: 'text' }>): void {
  const scale = Math.max(1, Math.round(item.scale));
  const color = parseColor(item.color);
  const width = textWidth(item.text, scale);
  const u0 = item.anchor === 'start' ? 0 : item.anchor === 'middle' ? -Math.round(width / 2) : -width;
  const v0 = item.baseline === 'top' ? 0 : item.baseline === 'middle' ? -Math.round((CAP_HEIGHT * scale) / 2) : -CAP_HEIGHT * scale;
  const x = Math.round(item.x);
  const y = Math.round(item.y);
  const plot = (u: number, v: number) => {
    if (item.rotate) canvas.blend(x + v0 + v, y - (u0 + u), color, 1);
    else canvas.blend(x + u0 + u, y + v0 + v, color, 1);
  };
  let cursor = 0;
  for (const ch of item.text) {
    const glyph = GLYPHS[ch] ?? GLYPHS[ch === '𝓛' || ch === 'ℒ' ? 'L' : '?'];
    for (let row = 0; row < glyph.length; row++) {
      for (let col = 0; col < 5; col++) {
        if (!((glyph[row] >> (4 - col)) & 1)) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale + (item.bold ? 1 : 0); sx++) plot(cursor + col * scale + sx, row * scale + sy);
        }
      }
    }
    cursor += CHAR_ADVANCE * scale;
  }
}

/** Rasterises a scene to RGB pixels. */
export function rasterize(scene: Scene): Uint8Array {
  const canvas = new Canvas(scene.width, scene.height, scene.background);
  for (const item of scene.items) {
    switch (item.kind) {
      case 'rect': {
        if (item.fill) canvas.fillRect(item.x, item.y, item.w, item.h, parseColor(item.fill));
        if (item.stroke) {
          const c = parseColor(item.stroke);
          const { x, y, w, h } = item;
          canvas.polyline([[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]], c, item.strokeWidth ?? 1);
        }
        break;
      }
      case 'line': {
        const color = parseColor(item.color);
        if (item.dash) for (const piece of dashPolyline(item.points, item.dash)) canvas.polyline(piece, color, item.width);
        else canvas.polyline(item.points, color, item.width);
        break;
      }
      case 'text':
        drawText(canvas, item);
        break;
    }
  }
  return canvas.rgb;
}
