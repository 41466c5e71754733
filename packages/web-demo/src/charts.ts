/**
 * A small line chart on a canvas: several series against the iteration, a linear or logarithmic y axis with
 * "nice" ticks, a legend. No chart library; redrawn in full on every change (a few hundred points at most).
 */

export interface SeriesStyle {
  readonly name: string;
  readonly color: string;
  /** Dashed line (e.g. the test-set curve). */
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly series: readonly SeriesStyle[];
  /** 'log' needs positive values; 'auto' picks log when every value is > 0 and they span more than a decade. */
  readonly scale: 'linear' | 'log' | 'auto';
  /** Fixed y range for a linear axis (e.g. [0, 1] for accuracy). */
  readonly yRange?: readonly [number, number];
  /** Text drawn in the middle while there is no data. */
  readonly emptyText?: string;
}

interface Point {
  readonly x: number;
  readonly y: number;
}

const PAD = { left: 62, right: 14, top: 46, bottom: 30 };
const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';

/** 1, 2, 5 × 10^k steps covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

/** A compact label: 0.001 → 1e-3, 12345 → 1.2e4, 0.25 → 0.25. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) {
    const [m, e] = v.toExponential(1).split('e');
    return `${m.replace(/\.0$/, '')}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(3)));
}

/** `text` cut with an ellipsis to fit `width` pixels in the context's current font. */
function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let cut = text;
  while (cut.length > 1 && ctx.measureText(`${cut}…`).width > width) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export class LineChart {
  private readonly data: Point[][];
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private options: ChartOptions,
  ) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2d context unavailable');
    this.ctx = ctx;
    this.data = options.series.map(() => []);
    this.draw();
  }

  /** Changes the title (e.g. a regression task charts the loss instead of the accuracy). */
  retitle(options: Partial<ChartOptions>): void {
    this.options = { ...this.options, ...options };
    this.draw();
  }

  reset(): void {
    for (const s of this.data) s.length = 0;
    this.draw();
  }

  /** Adds a point to series `index` (non-finite values are skipped); call {@link draw} afterwards. */
  push(index: number, x: number, y: number | undefined): void {
    if (y === undefined || !Number.isFinite(y)) return;
    this.data[index].push({ x, y });
  }

  get pointCount(): number {
    return this.data.reduce((n, s) => n + s.length, 0);
  }

  /** Redraws at the canvas's CSS size times the device pixel ratio. */
  draw(): void {
    const { canvas, ctx } = this;
    const ratio = globalThis.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth || canvas.width;
    const cssHeight = canvas.clientHeight || canvas.height;
    const w = Math.max(1, Math.round(cssWidth * ratio));
    const h = Math.max(1, Math.round(cssHeight * ratio));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, cssWidth, cssHeight);
    ctx.font = FONT;
    ctx.fillStyle = '#1f2933';
    ctx.textBaseline = 'alphabetic';
    ctx.textAlign = 'left';
    ctx.font = `600 ${FONT}`;
    ctx.fillText(fit(ctx, this.options.title, cssWidth - 20), 10, 18);
    ctx.font = FONT;

    const plotW = cssWidth - PAD.left - PAD.right;
    const plotH = cssHeight - PAD.top - PAD.bottom;
    const points = this.data.flat();
    if (points.length === 0 || plotW <= 10 || plotH <= 10) {
      ctx.fillStyle = '#7b8794';
      ctx.textAlign = 'center';
      ctx.fillText(this.options.emptyText ?? 'no data yet', cssWidth / 2, cssHeight / 2);
      this.frame(plotW, plotH);
      return;
    }

    // Axes ranges.
    let xMin = Math.min(...points.map((p) => p.x));
    let xMax = Math.max(...points.map((p) => p.x));
    if (xMax === xMin) {
      xMin -= 1;
      xMax += 1;
    }
    const ys = points.map((p) => p.y);
    const positive = ys.every((y) => y > 0);
    let yLo = Math.min(...ys);
    let yHi = Math.max(...ys);
    const log = this.options.scale === 'log' ? positive : this.options.scale === 'auto' ? positive && yHi / yLo > 10 : false;
    if (this.options.yRange && !log) [yLo, yHi] = this.options.yRange;
    let ticks: number[];
    let toY: (y: number) => number;
    if (log) {
      const lo = Math.floor(Math.log10(yLo));
      const hi = Math.max(lo + 1, Math.ceil(Math.log10(yHi)));
      const every = Math.max(1, Math.ceil((hi - lo) / 6));
      ticks = [];
      for (let e = lo; e <= hi; e += every) ticks.push(10 ** e);
      toY = (y) => PAD.top + plotH * (1 - (Math.log10(y) - lo) / (hi - lo));
    } else {
      if (yHi === yLo) {
        const d = Math.abs(yHi) > 0 ? Math.abs(yHi) * 0.1 : 1;
        yLo -= d;
        yHi += d;
      }
      ticks = niceTicks(yLo, yHi);
      const lo = Math.min(yLo, ticks[0]);
      const hi = Math.max(yHi, ticks[ticks.length - 1]);
      toY = (y) => PAD.top + plotH * (1 - (y - lo) / (hi - lo));
    }
    const toX = (x: number) => PAD.left + (plotW * (x - xMin)) / (xMax - xMin);

    // Grid and tick labels.
    ctx.strokeStyle = '#e4e7eb';
    ctx.lineWidth = 1;
    ctx.fillStyle = '#52606d';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of ticks) {
      const y = toY(t);
      if (y < PAD.top - 1 || y > PAD.top + plotH + 1) continue;
      ctx.beginPath();
      ctx.moveTo(PAD.left, y);
      ctx.lineTo(PAD.left + plotW, y);
      ctx.stroke();
      ctx.fillText(formatTick(t), PAD.left - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of niceTicks(xMin, xMax, 6)) {
      if (!Number.isInteger(t)) continue;
      const x = toX(t);
      ctx.beginPath();
      ctx.moveTo(x, PAD.top);
      ctx.lineTo(x, PAD.top + plotH);
      ctx.stroke();
      ctx.fillText(String(t), x, PAD.top + plotH + 6);
    }
    this.frame(plotW, plotH);

    // Series, clipped to the plot.
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top, plotW, plotH);
    ctx.clip();
    this.options.series.forEach((style, i) => {
      const series = this.data[i];
      if (series.length === 0) return;
      ctx.strokeStyle = style.color;
      ctx.fillStyle = style.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(style.dashed ? [6, 4] : []);
      ctx.beginPath();
      series.forEach((p, k) => (k === 0 ? ctx.moveTo(toX(p.x), toY(p.y)) : ctx.lineTo(toX(p.x), toY(p.y))));
      ctx.stroke();
      ctx.setLineDash([]);
      if (series.length < 40) {
        for (const p of series) {
          ctx.beginPath();
          ctx.arc(toX(p.x), toY(p.y), 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    });
    ctx.restore();

    // Legend (second line, left to right) and axis hint.
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    let x = PAD.left;
    this.options.series.forEach((style, i) => {
      if (this.data[i].length === 0) return;
      ctx.strokeStyle = style.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(style.dashed ? [4, 3] : []);
      ctx.beginPath();
      ctx.moveTo(x, 34);
      ctx.lineTo(x + 16, 34);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#323f4b';
      ctx.fillText(style.name, x + 20, 34);
      x += 20 + ctx.measureText(style.name).width + 16;
    });
    ctx.fillStyle = '#7b8794';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText(`iteration${log ? ' · log scale' : ''}`, PAD.left + plotW, cssHeight - 2);
  }

  private frame(plotW: number, plotH: number): void {
    const { ctx } = this;
    ctx.strokeStyle = '#9aa5b1';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left + 0.5, PAD.top + 0.5, Math.max(0, plotW - 1), Math.max(0, plotH - 1));
  }
}
