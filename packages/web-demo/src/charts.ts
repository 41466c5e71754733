/**
 * The demo's line charts: several series against the iteration, a linear or logarithmic y axis, a legend. Laid out
 * by the CLI's chart layout (packages/cli/src/plot/chart.ts, the same scene its SVG and PNG charts are drawn
 * from) and drawn on a canvas (canvasScene.ts); redrawn in full on every change (a few hundred points at most).
 */
import { type ChartSpec, chartScene } from '../../cli/src/plot/chart.ts';
import { CAP_HEIGHT } from '../../cli/src/plot/scene.ts';
import { drawScene } from './canvasScene.ts';

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

/** The bitmap-font scale whose outline font is 12 px, the page's size for chart text. */
const TEXT_SCALE = (12 * 0.72) / CAP_HEIGHT;

/** The chart of `data` (one point list per series of `options`) at `width` × `height` CSS pixels. */
export function lineChartSpec(options: ChartOptions, data: readonly (readonly Point[])[], width: number, height: number): ChartSpec {
  const ys = data.flat().map((p) => p.y);
  const positive = ys.every((y) => y > 0);
  const log = options.scale === 'log' ? positive : options.scale === 'auto' ? positive && Math.max(...ys) / Math.min(...ys) > 10 : false;
  return {
    title: options.title,
    xLabel: `iteration${log ? ' · log scale' : ''}`,
    yLabel: '',
    yLog: log,
    yRange: log ? undefined : options.yRange,
    // Series without points stay out of the legend.
    series: options.series
      .map((s, i) => ({ label: s.name, color: s.color, dash: s.dashed ? [6, 4] : undefined, points: data[i].map((p) => [p.x, p.y] as const) }))
      .filter((s) => s.points.length > 0),
    width,
    height,
    textScale: TEXT_SCALE,
    xIntegers: true,
    markers: { below: 40, diameter: 5 },
    emptyText: options.emptyText ?? 'no data yet',
    fitTitle: true,
  };
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
    drawScene(ctx, chartScene(lineChartSpec(this.options, this.data, cssWidth, cssHeight)));
  }
}
