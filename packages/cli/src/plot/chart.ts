/**
 * Line charts (linear or logarithmic axes) laid out as a {@link Scene}: the CLI's SVG and PNG charts and the web
 * demo's canvas charts. No Node or DOM imports (see scene.ts).
 */
import type { Color, Primitive, Scene } from './scene.ts';
import { fitText, textWidth } from './scene.ts';

export interface Series {
  readonly label: string;
  /** (x, y) points; a non-finite y (or ≤ 0 on a log axis) breaks the line. */
  readonly points: readonly (readonly [number, number])[];
  readonly color: Color;
  readonly dash?: readonly number[];
  readonly width?: number;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  /** The rotated label left of the y axis; '' for none (and a narrower left margin). */
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  readonly series: readonly Series[];
  /** Fixed y range (linear axes), e.g. [0, 100] for percentages. */
  readonly yRange?: readonly [number, number];
  readonly width: number;
  readonly height: number;
  /** Size of the text as the bitmap font's pixel scale (default 2); margins and offsets scale with it. */
  readonly textScale?: number;
  /** Ticks of a linear x axis at whole numbers only (iterations). */
  readonly xIntegers?: boolean;
  /** A dot of this diameter at each point of a series with fewer than `below` points. */
  readonly markers?: { readonly below: number; readonly diameter: number };
  /** The text in the plot area while there is nothing to draw (default 'no data'). */
  readonly emptyText?: string;
  /** Cut a title wider than the chart with an ellipsis (by the bitmap font's widths, {@link fitText}). */
  readonly fitTitle?: boolean;
}

export const PALETTE: readonly Color[] = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4b5563'];

const INK = '#1f2937';
const GRID = '#e5e7eb';
const AXIS = '#6b7280';

interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly log: boolean;
  readonly ticks: readonly { value: number; label: string }[];
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const r = raw / magnitude;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * magnitude;
}

function formatLinear(v: number, step: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5 || abs < 1e-3) {
    const text = v.toExponential(Math.max(0, Math.min(3, Math.ceil(-Math.log10(step / abs)) - 1)));
    return text.replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

function formatPower(k: number): string {
  if (k >= -2 && k <= 3) return String(Number((10 ** k).toPrecision(1)));
  return `1e${k}`;
}

function linearAxis(lo: number, hi: number, count: number, integers = false): Axis {
  if (lo === hi) {
    const pad = lo === 0 || integers ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  let step = niceStep(hi - lo, count);
  if (integers) step = step < 1 ? 1 : Math.floor(step);
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: { value: number; label: string }[] = [];
  for (let v = first, k = 0; v <= last + step * 1e-6 && k < 100; k++, v = first + k * step) {
    const value = Math.abs(v) < step * 1e-9 ? 0 : v;
    ticks.push({ value, label: formatLinear(value, step) });
  }
  return { lo: first, hi: last, log: false, ticks };
}

function logAxis(lo: number, hi: number): Axis {
  let a = Math.log10(lo);
  let b = Math.log10(hi);
  if (b - a < 0.3) {
    const mid = (a + b) / 2;
    a = mid - 0.5;
    b = mid + 0.5;
  }
  // A little room around the data (in decades), without rounding out to whole decades.
  const pad = 0.03 * (b - a);
  a -= pad;
  b += pad;
  const span = b - a;
  const every = Math.ceil(span / 8);
  const ticks: { value: number; label: string }[] = [];
  for (let k = Math.ceil(a - 1e-9); k <= Math.floor(b + 1e-9); k++) if (k % every === 0 || span <= 8) ticks.push({ value: 10 ** k, label: formatPower(k) });
  if (span <= 2.5) {
    for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
      for (const m of [2, 5]) {
        const v = m * 10 ** k;
        const lv = Math.log10(v);
        if (lv >= a && lv <= b) ticks.push({ value: v, label: formatLinear(v, v) });
      }
    }
    ticks.sort((x, y) => x.value - y.value);
  }
  return { lo: 10 ** a, hi: 10 ** b, log: true, ticks };
}

/** Splits a line at unusable points and clips it to the rectangle. */
function clipPieces(points: readonly (readonly [number, number])[], x0: number, y0: number, x1: number, y1: number): [number, number][][] {
  const pieces: [number, number][][] = [];
  let current: [number, number][] = [];
  const flush = () => {
    if (current.length > 1) pieces.push(current);
    current = [];
  };
  for (let k = 0; k < points.length; k++) {
    const p = points[k];
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      flush();
      continue;
    }
    if (current.length === 0) {
      current.push([p[0], p[1]]);
      continue;
    }
    const a = current[current.length - 1];
    // Liang–Barsky clipping of the segment a → p.
    let t0 = 0;
    let t1 = 1;
    const dx = p[0] - a[0];
    const dy = p[1] - a[1];
    const edges: [number, number][] = [[-dx, a[0] - x0], [dx, x1 - a[0]], [-dy, a[1] - y0], [dy, y1 - a[1]]];
    let visible = true;
    for (const [pp, q] of edges) {
      if (pp === 0) {
        if (q < 0) visible = false;
      } else {
        const t = q / pp;
        if (pp < 0) t0 = Math.max(t0, t);
        else t1 = Math.min(t1, t);
      }
    }
    if (!visible || t0 > t1) {
      flush();
      current.push([p[0], p[1]]);
      continue;
    }
    const start: [number, number] = [a[0] + t0 * dx, a[1] + t0 * dy];
    const end: [number, number] = [a[0] + t1 * dx, a[1] + t1 * dy];
    if (t0 > 0) {
      flush();
      current.push(start);
    }
    current.push(end);
    if (t1 < 1) {
      flush();
      current.push([p[0], p[1]]);
    }
  }
  flush();
  return pieces;
}

/** Lays out a chart: title, legend, axes with grid and tick labels, and the series. */
export function chartScene(spec: ChartSpec): Scene {
  const { width, height } = spec;
  const items: Primitive[] = [];
  const text = spec.textScale ?? 2;
  /** Margins and offsets are in units of the default text scale's. */
  const u = text / 2;
  const usable = (v: number, log: boolean | undefined) => Number.isFinite(v) && (!log || v > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of spec.series) {
    for (const [x, y] of s.points) {
      if (usable(x, spec.xLog) && usable(y, spec.yLog)) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  const left = (spec.yLabel ? 96 : 72) * u;
  const right = 28 * u;
  const top = 78 * u;
  const bottom = 66 * u;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  items.push({ kind: 'text', x: left, y: 18 * u, text: spec.fitTitle ? fitText(spec.title, width - left, text) : spec.title, scale: text, anchor: 'start', baseline: 'top', color: INK, bold: true });

  // Legend: one row under the title.
  let lx = left;
  const ly = 53 * u;
  for (const s of spec.series) {
    const w = 28 * u + textWidth(s.label, text) + 22 * u;
    if (lx + w > width - right && lx > left) break;
    items.push({ kind: 'line', points: [[lx, ly], [lx + 22 * u, ly]], color: s.color, width: s.width ?? 2.5, dash: s.dash });
    items.push({ kind: 'text', x: lx + 28 * u, y: ly, text: s.label, scale: text, anchor: 'start', baseline: 'middle', color: INK });
    lx += w;
  }

  items.push({ kind: 'rect', x: left, y: top, w: plotW, h: plotH, fill: '#ffffff' });
  if (xs.length === 0 || plotW <= 10 || plotH <= 10) {
    items.push({ kind: 'rect', x: left, y: top, w: plotW, h: plotH, stroke: AXIS, strokeWidth: 1 });
    items.push({ kind: 'text', x: left + plotW / 2, y: top + plotH / 2, text: spec.emptyText ?? 'no data', scale: text, anchor: 'middle', baseline: 'middle', color: AXIS });
    return { width, height, background: '#ffffff', items };
  }
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const xAxis = spec.xLog ? logAxis(minX, maxX) : linearAxis(minX, maxX, 8, spec.xIntegers);
  const yAxis = spec.yRange ? linearAxis(spec.yRange[0], spec.yRange[1], 5) : spec.yLog ? logAxis(Math.min(...ys), Math.max(...ys)) : linearAxis(Math.min(...ys), Math.max(...ys), 6);
  const map = (v: number, axis: Axis, from: number, size: number, flip: boolean) => {
    const t = axis.log ? (Math.log10(v) - Math.log10(axis.lo)) / (Math.log10(axis.hi) - Math.log10(axis.lo)) : (v - axis.lo) / (axis.hi - axis.lo);
    return flip ? from + size - t * size : from + t * size;
  };
  const px = (v: number) => map(v, xAxis, left, plotW, false);
  const py = (v: number) => map(v, yAxis, top, plotH, true);

  // Grid and ticks.
  for (const t of xAxis.ticks) {
    const x = px(t.value);
    if (x < left - 0.5 || x > left + plotW + 0.5) continue;
    items.push({ kind: 'line', points: [[x, top], [x, top + plotH]], color: GRID, width: 1 });
    items.push({ kind: 'line', points: [[x, top + plotH], [x, top + plotH + 6 * u]], color: AXIS, width: 1 });
    items.push({ kind: 'text', x, y: top + plotH + 12 * u, text: t.label, scale: text, anchor: 'middle', baseline: 'top', color: INK });
  }
  for (const t of yAxis.ticks) {
    const y = py(t.value);
    if (y < top - 0.5 || y > top + plotH + 0.5) continue;
    items.push({ kind: 'line', points: [[left, y], [left + plotW, y]], color: GRID, width: 1 });
    items.push({ kind: 'line', points: [[left - 6 * u, y], [left, y]], color: AXIS, width: 1 });
    items.push({ kind: 'text', x: left - 10 * u, y, text: t.label, scale: text, anchor: 'end', baseline: 'middle', color: INK });
  }
  items.push({ kind: 'rect', x: left, y: top, w: plotW, h: plotH, stroke: AXIS, strokeWidth: 1 });
  items.push({ kind: 'text', x: left + plotW / 2, y: height - 22 * u, text: spec.xLabel, scale: text, anchor: 'middle', baseline: 'middle', color: INK });
  if (spec.yLabel) items.push({ kind: 'text', x: 20 * u, y: top + plotH / 2, text: spec.yLabel, scale: text, anchor: 'middle', baseline: 'middle', color: INK, rotate: -90 });

  for (const s of spec.series) {
    const points = s.points.map(([x, y]): [number, number] => (usable(x, spec.xLog) && usable(y, spec.yLog) ? [px(x), py(y)] : [NaN, NaN]));
    const finite = points.filter((p) => Number.isFinite(p[0]));
    if (finite.length === 1) {
      const [x, y] = finite[0];
      items.push({ kind: 'line', points: [[x - 3, y], [x + 3, y]], color: s.color, width: s.width ?? 2.5 });
    } else {
      for (const piece of clipPieces(points, left, top, left + plotW, top + plotH)) {
        items.push({ kind: 'line', points: piece, color: s.color, width: s.width ?? 2, dash: s.dash });
      }
    }
    if (spec.markers && finite.length < spec.markers.below) {
      for (const [x, y] of finite) {
        if (x >= left && x <= left + plotW && y >= top && y <= top + plotH) items.push({ kind: 'line', points: [[x, y], [x, y]], color: s.color, width: spec.markers.diameter });
      }
    }
  }
  return { width, height, background: '#ffffff', items };
}
