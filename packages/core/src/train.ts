import { AdmmSolver } from './admm.ts';
import type { Backend } from './backend.ts';
import { type IterationMetrics, MetricsEvaluator } from './metrics.ts';
import type { AdmmConfig, TrainingData } from './problem.ts';

/** Metrics of a logged iteration plus the quantities of Theorem 1(c) and timing. */
export interface TrainingProgress extends IterationMetrics {
  /** (1/K) Σ_k ‖∇𝓛(Q^k)‖² over the iterations evaluated so far (Theorem 1(c)). */
  readonly runningMeanGradSq: number;
  /** Wall time since training started, in ms (metric evaluation excluded). */
  readonly elapsedMs: number;
  /** Mean wall time of one iteration so far, in ms. */
  readonly msPerIteration: number;
}

export type StopReason = 'iterations' | 'tolerance' | 'time' | 'cancelled';

/** When to stop and how often to measure. */
export interface TrainOptions {
  /** Stop after this many iterations in total (counting those already done). */
  readonly maxIterations: number;
  /** Stop once ‖∇𝓛(Q^k)‖ ≤ this (checked at evaluated iterations). */
  readonly gradTolerance?: number;
  /** Stop after this much wall time in ms. */
  readonly timeLimitMs?: number;
  /** Stop when aborted (checked between iterations). */
  readonly signal?: AbortSignal;
  /** Evaluate the metrics every m-th iteration (and at the first and the last). Default 1. */
  readonly metricsEvery?: number;
}

export interface TrainResult {
  readonly reason: StopReason;
  readonly iterations: number;
  /** The metrics at the final iterate. */
  readonly final: TrainingProgress;
}

/** The events a {@link Trainer} emits, with their payloads. */
export interface TrainerEvents {
  metrics: TrainingProgress;
  warning: string;
  stop: TrainResult;
}

type Listener<T> = (payload: T) => void | Promise<void>;

/** A minimal typed event emitter (browser-safe); listeners may be async and are awaited in order. */
export class TypedEmitter<Events> {
  private readonly listeners = new Map<keyof Events, Listener<never>[]>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as Listener<never>);
    this.listeners.set(event, list);
    return () => {
      const current = this.listeners.get(event) ?? [];
      this.listeners.set(event, current.filter((l) => l !== (listener as Listener<never>)));
    };
  }

  async emit<K extends keyof Events>(event: K, payload: Events[K]): Promise<void> {
    for (const listener of this.listeners.get(event) ?? []) await (listener as Listener<Events[K]>)(payload);
  }
}

/**
 * Runs Algorithm 1 with metrics, events and stop conditions. Create with {@link Trainer.create}; `run` may be
 * called again to continue (e.g. with a larger `maxIterations`).
 */
export class Trainer {
  readonly events = new TypedEmitter<TrainerEvents>();
  private readonly evaluator: MetricsEvaluator;
  private gradSqSum = 0;
  private gradSqCount = 0;
  private elapsedMs = 0;

  private constructor(
    readonly solver: AdmmSolver,
    data: TrainingData,
  ) {
    this.evaluator = new MetricsEvaluator(solver, data);
  }

  /** Validates the problem (throwing before any work on bad input) and initialises Algorithm 1 on `backend`. */
  static create(backend: Backend, data: TrainingData, config: AdmmConfig): Trainer {
    return new Trainer(AdmmSolver.create(backend, data, config), data);
  }

  /** Warnings about the configuration (an activation outside Assumption 1, a step rule outside Lemma 2). */
  configurationWarnings(): string[] {
    const { activation, stepRule } = this.solver.config;
    const warnings: string[] = [];
    if (!activation.satisfiesAssumption1) {
      warnings.push(`activation '${activation.name}' does not satisfy Assumption 1: the convergence guarantees of Theorem 1 do not apply`);
    }
    if (stepRule.name !== 'paper') {
      warnings.push(`step rule '${stepRule.name}' is not the paper's (22): the descent of Lemma 2 is not guaranteed`);
    }
    return warnings;
  }

  /** Metrics at the current iterate; `tracked` when its step kept the increments (for ‖Q^k − Q^{k−1}‖). */
  private async measure(tracked: boolean): Promise<TrainingProgress> {
    const increments = tracked && this.solver.iteration > 0 ? await this.solver.increments() : undefined;
    const metrics = await this.evaluator.evaluate(increments);
    if (this.solver.iteration > 0) {
      this.gradSqSum += metrics.gradNorm ** 2;
      this.gradSqCount += 1;
    }
    const iterations = this.solver.iteration;
    return {
      ...metrics,
      runningMeanGradSq: this.gradSqCount > 0 ? this.gradSqSum / this.gradSqCount : NaN,
      elapsedMs: this.elapsedMs,
      msPerIteration: iterations > 0 ? this.elapsedMs / iterations : NaN,
    };
  }

  /** Iterates until a stop condition holds; emits `metrics` at evaluated iterations and `stop` at the end. */
  async run(options: TrainOptions): Promise<TrainResult> {
    const every = options.metricsEvery ?? 1;
    if (!Number.isInteger(options.maxIterations) || options.maxIterations < 0) {
      throw new RangeError(`maxIterations must be an integer ≥ 0, got ${options.maxIterations}`);
    }
    if (!Number.isInteger(every) || every < 1) throw new RangeError(`metricsEvery must be an integer ≥ 1, got ${every}`);
    for (const warning of this.configurationWarnings()) await this.events.emit('warning', warning);
    const startedAt = this.elapsedMs;
    let reason: StopReason = 'iterations';
    let latest: TrainingProgress | undefined;
    while (this.solver.iteration < options.maxIterations) {
      if (options.signal?.aborted) {
        reason = 'cancelled';
        break;
      }
      if (options.timeLimitMs !== undefined && this.elapsedMs - startedAt >= options.timeLimitMs) {
        reason = 'time';
        break;
      }
      const k = this.solver.iteration + 1;
      const evaluate = k % every === 0 || k === 1 || k === options.maxIterations;
      const t0 = performance.now();
      await this.solver.step({ trackIncrements: evaluate });
      await this.solver.device.sync();
      this.elapsedMs += performance.now() - t0;
      if (evaluate) {
        latest = await this.measure(true);
        await this.events.emit('metrics', latest);
        if (options.gradTolerance !== undefined && latest.gradNorm <= options.gradTolerance) {
          reason = 'tolerance';
          break;
        }
      }
    }
    if (!latest || latest.iteration !== this.solver.iteration) latest = await this.measure(false);
    const result: TrainResult = { reason, iterations: this.solver.iteration, final: latest };
    await this.events.emit('stop', result);
    return result;
  }

  dispose(): void {
    this.evaluator.dispose();
    this.solver.dispose();
  }
}
