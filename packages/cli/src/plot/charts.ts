/** The charts of a run, built from its metrics.jsonl (read by io/metrics.ts). */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { rateDiagnostics } from '@nladmm/core';
import { writeFileAtomic } from '../io/atomic.ts';
import type { MetricsRecord } from '../io/metrics.ts';
import { type ChartSpec, PALETTE, type Series, chartScene } from './chart.ts';
import { encodePng } from './png.ts';
import { rasterize } from './raster.ts';
import { renderSvg } from './svg.ts';

const num = (v: number | null | undefined) => (v === null || v === undefined ? NaN : v);

/** The chart specifications for a run's metrics (accuracy only when the targets are classes). */
export function runCharts(records: readonly MetricsRecord[], width: number, height: number): { name: string; spec: ChartSpec }[] {
  const k = records.map((r) => r.iteration);
  const series = (label: string, values: number[], color: string, extra: Partial<Series> = {}): Series => ({
    label,
    points: values.map((v, i) => [k[i], v] as const),
    color,
    ...extra,
  });
  const size = { width, height };
  const charts: { name: string; spec: ChartSpec }[] = [];
  const lagrangian = records.map((r) => num(r.augmentedLagrangian));
  const objective = records.map((r) => num(r.objective));
  const positive = [...lagrangian, ...objective].filter(Number.isFinite).every((v) => v > 0);
  charts.push({
    name: 'lagrangian',
    spec: {
      ...size,
      title: 'Augmented Lagrangian 𝓛(Q^k) and objective (5)',
      xLabel: 'iteration k',
      yLabel: positive ? 'value (log scale)' : 'value',
      yLog: positive,
      series: [series('𝓛(Q^k)', lagrangian, PALETTE[0]), series('objective', objective, PALETTE[2], { dash: [8, 5] })],
    },
  });
  const grad = records.map((r) => num(r.gradNorm));
  const rms = records.map((r) => Math.sqrt(num(r.runningMeanGradSq)));
  const gradSeries: Series[] = [series('‖∇𝓛(Q^k)‖', grad, PALETTE[0]), series('√((1/K)Σ‖∇𝓛‖²)', rms, PALETTE[1])];
  const anchor = records.findIndex((r, i) => r.iteration >= 1 && Number.isFinite(rms[i]) && rms[i] > 0);
  if (anchor >= 0) {
    const k0 = k[anchor];
    const r0 = rms[anchor];
    const last = k[k.length - 1];
    gradSeries.push({ label: 'O(1/√K)', points: [[k0, r0], [last, r0 * Math.sqrt(k0 / last)]], color: '#9ca3af', dash: [6, 6], width: 1.5 });
  }
  charts.push({ name: 'gradient', spec: { ...size, title: 'Gradient norm ‖∇𝓛(Q^k)‖ (log-log)', xLabel: 'iteration k', yLabel: 'norm', xLog: true, yLog: true, series: gradSeries } });
  const rate = rateChart(records);
  if (rate) charts.push({ name: 'rate', spec: { ...size, ...rate } });
  const layers = Math.max(0, ...records.map((r) => r.residuals?.length ?? 0));
  charts.push({
    name: 'residuals',
    spec: {
      ...size,
      title: 'Constraint residuals ‖σ(W_i V_{i−1}) − V_i‖',
      xLabel: 'iteration k',
      yLabel: 'residual (log scale)',
      yLog: true,
      series: Array.from({ length: layers }, (_, i) => series(`layer ${i + 1}`, records.map((r) => num(r.residuals?.[i])), PALETTE[i % PALETTE.length])),
    },
  });
  const testLoss = records.map((r) => num(r.testLoss));
  const lossSeries = [series('train loss', records.map((r) => num(r.trainLoss)), PALETTE[0])];
  if (testLoss.some(Number.isFinite)) lossSeries.push(series('test loss', testLoss, PALETTE[1]));
  charts.push({ name: 'loss', spec: { ...size, title: 'Network loss ½n⁻¹‖Φ(X; W) − Y‖²', xLabel: 'iteration k', yLabel: 'loss (log scale)', yLog: true, series: lossSeries } });
  const trainAcc = records.map((r) => 100 * num(r.trainAccuracy));
  if (trainAcc.some(Number.isFinite)) {
    const accSeries = [series('train accuracy', trainAcc, PALETTE[0])];
    const testAcc = records.map((r) => 100 * num(r.testAccuracy));
    if (testAcc.some(Number.isFinite)) accSeries.push(series('test accuracy', testAcc, PALETTE[1]));
    const all = [...trainAcc, ...testAcc].filter(Number.isFinite);
    const lo = Math.max(0, Math.floor(Math.min(...all) / 10) * 10);
    charts.push({ name: 'accuracy', spec: { ...size, title: 'Classification accuracy', xLabel: 'iteration k', yLabel: 'accuracy (%)', yRange: [lo, 100], series: accSeries } });
  }
  return charts;
}

const slopeText = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(2).replace(/^-(0\.00)$/, '$1').replace('-', '−'));

/**
 * Theorem 1(c) on a run: the running mean (1/K)Σ‖∇𝓛‖² and the running minimum min_{k≤K}‖∇𝓛‖², log-log, with
 * their tail slopes (core's rateDiagnostics, the last half of the logged points) and an O(1/K) guide. Undefined
 * with fewer than two logged iterations k ≥ 1.
 */
export function rateChart(records: readonly MetricsRecord[]): Omit<ChartSpec, 'width' | 'height'> | undefined {
  const seen = new Set<number>();
  const samples: { k: number; gradNorm: number }[] = [];
  for (const r of records) {
    if (r.iteration < 1 || !Number.isInteger(r.iteration) || seen.has(r.iteration) || r.gradNorm === null || !Number.isFinite(r.gradNorm)) continue;
    seen.add(r.iteration);
    samples.push({ k: r.iteration, gradNorm: r.gradNorm });
  }
  if (samples.length < 2) return undefined;
  const d = rateDiagnostics(samples);
  const points = (values: readonly number[]) => values.map((v, i) => [d.k[i], v] as const);
  const series: Series[] = [
    { label: `(1/K)Σ‖∇𝓛‖², tail slope ${slopeText(d.meanFit.slope)}`, points: points(d.runningMean), color: PALETTE[0] },
    { label: `min k≤K ‖∇𝓛‖², tail slope ${slopeText(d.minFit.slope)}`, points: points(d.runningMin), color: PALETTE[1] },
  ];
  const k0 = d.k[0];
  const m0 = d.runningMean[0];
  const last = d.k[d.k.length - 1];
  if (m0 > 0 && Number.isFinite(m0) && last > k0) series.push({ label: 'O(1/K)', points: [[k0, m0], [last, (m0 * k0) / last]], color: '#9ca3af', dash: [6, 6], width: 1.5 });
  return {
    title: `Rate (Theorem 1(c), log-log): tail slope ${slopeText(d.meanFit.slope)}, k = ${d.meanFit.fromK}…${d.meanFit.toK}`,
    xLabel: 'iteration K',
    yLabel: '‖∇𝓛‖²',
    xLog: true,
    yLog: true,
    series,
  };
}

export interface PlotOptions {
  readonly width?: number;
  readonly height?: number;
  readonly formats?: readonly ('svg' | 'png')[];
}

/** Writes each chart as SVG and PNG into `dir`; returns the files written. */
export async function writePlots(records: readonly MetricsRecord[], dir: string, options: PlotOptions = {}): Promise<string[]> {
  const width = options.width ?? 960;
  const height = options.height ?? 600;
  const formats = options.formats ?? ['svg', 'png'];
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { name, spec } of runCharts(records, width, height)) {
    const scene = chartScene(spec);
    if (formats.includes('svg')) {
      const path = join(dir, `${name}.svg`);
      await writeFileAtomic(path, renderSvg(scene, spec.title));
      written.push(path);
    }
    if (formats.includes('png')) {
      const path = join(dir, `${name}.png`);
      await writeFileAtomic(path, encodePng(width, height, rasterize(scene)));
      written.push(path);
    }
  }
  return written;
}
