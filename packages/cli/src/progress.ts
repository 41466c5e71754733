/**
 * Training progress: on a terminal, one status line redrawn in place (a bar, the ETA and the latest metrics);
 * otherwise one plain line per logged iteration.
 */
import type { TrainingProgress } from '@nladmm/core';
import { duration, percent, sci } from './format.ts';

export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  readonly columns: number;
  /** Iteration the run starts from (a resumed run) and the target. */
  readonly startIteration: number;
  readonly totalIterations: number;
  readonly timeLimitMs?: number;
  readonly quiet?: boolean;
}

export class Progress {
  private startedAt = performance.now();
  private startIteration: number;
  private latest: TrainingProgress | undefined;
  private iteration: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly o: ProgressOptions) {
    this.iteration = o.startIteration;
    this.startIteration = o.startIteration;
  }

  /** Restarts the clock of the ETA at iteration k (after setup, or when a run is resumed). */
  restart(k: number): void {
    this.startedAt = performance.now();
    this.startIteration = k;
    this.iteration = k;
  }

  /** Estimated time left, from the wall time per iteration of this process so far. */
  private eta(): number {
    const done = this.iteration - this.startIteration;
    if (done <= 0) return NaN;
    const elapsed = performance.now() - this.startedAt;
    let left = (elapsed / done) * (this.o.totalIterations - this.iteration);
    if (this.o.timeLimitMs !== undefined) left = Math.min(left, Math.max(0, this.o.timeLimitMs - elapsed));
    return left;
  }

  private metricsText(m: TrainingProgress, ascii: boolean): string {
    const parts = [
      `${ascii ? 'L' : '𝓛'} ${sci(m.augmentedLagrangian)}`,
      `${ascii ? '|grad L|' : '‖∇𝓛‖'} ${sci(m.gradNorm, 2)}`,
      `train loss ${sci(m.trainLoss)}`,
    ];
    if (m.trainAccuracy !== undefined) parts.push(`acc ${percent(m.trainAccuracy, 1)}`);
    if (m.testLoss !== undefined && m.testAccuracy === undefined) parts.push(`test loss ${sci(m.testLoss)}`);
    if (m.testAccuracy !== undefined) parts.push(`test ${percent(m.testAccuracy, 1)}`);
    return parts.join('  ');
  }

  private draw(force = false): void {
    if (this.o.quiet || !this.o.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const total = this.o.totalIterations;
    const fraction = total > 0 ? Math.min(1, this.iteration / total) : 1;
    const width = Math.max(10, Math.min(30, this.o.columns - 90));
    const filled = Math.round(fraction * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const head = `${String(this.iteration).padStart(String(total).length)}/${total} ${bar} ${String(Math.round(100 * fraction)).padStart(3)}%  ETA ${duration(this.eta())}`;
    let line = this.latest ? `${head}  ${this.metricsText(this.latest, false)}` : head;
    if ([...line].length > this.o.columns - 1) line = [...line].slice(0, this.o.columns - 2).join('') + '…';
    this.o.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.o.write('\r\x1b[2K');
    this.drawn = false;
  }

  onIteration(k: number): void {
    this.iteration = k;
    this.draw();
  }

  onMetrics(m: TrainingProgress): void {
    this.latest = m;
    this.iteration = m.iteration;
    if (this.o.quiet) return;
    if (this.o.tty) {
      this.draw(true);
      return;
    }
    const total = this.o.totalIterations;
    const perIteration = Number.isFinite(m.msPerIteration) ? `${(m.msPerIteration / 1000).toFixed(2)} s/it` : '';
    const meanGrad = Number.isFinite(m.runningMeanGradSq) ? `  mean|grad L|^2 ${sci(m.runningMeanGradSq, 2)}` : '';
    this.o.write(`iter ${String(m.iteration).padStart(String(total).length)}/${total}  ${this.metricsText(m, true).replace('|grad L|', '|grad L|')}${meanGrad}  ${perIteration}  ETA ${duration(this.eta())}\n`);
  }

  /** A message line (warnings, notices), printed above the status line. */
  message(text: string): void {
    if (this.o.quiet && !text.startsWith('warning')) return;
    this.clear();
    this.o.write(`${text}\n`);
    this.draw(true);
  }

  finish(): void {
    this.clear();
  }
}
