import { AdmmSolver, type HostIterate } from './admm.ts';
import { type Backend, NotPositiveDefiniteError } from './backend.ts';
import { type Communicator, singleProcess } from './communicator.ts';
import { type IterationMetrics, MetricsEvaluator } from './metrics.ts';
import { type AdmmConfig, type TrainingData, resolveProblem } from './problem.ts';
import { allReduceNumbers } from './sharding.ts';

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

/** The stop reasons in a fixed order, to agree on one across ranks (index 0: go on). */
const STOP_CODES: readonly (StopReason | undefined)[] = [undefined, 'iterations', 'tolerance', 'time', 'cancelled'];

/** Everything a {@link Trainer} needs to continue exactly where it was: the iterate and the loop's own state. */
export interface TrainerCheckpoint {
  readonly iterate: HostIterate;
  /** Σ ‖∇𝓛(Q^k)‖² and the number of evaluated iterations in it (for the running mean of Theorem 1(c)). */
  readonly gradSqSum: number;
  readonly gradSqCount: number;
  /** Training wall time so far, in ms. */
  readonly elapsedMs: number;
}

/** A NaN or ±Infinity appeared in an iterate: the run cannot continue. */
export class DivergenceError extends Error {
  constructor(
    readonly iteration: number,
    readonly block: 'W' | 'V' | 'Lambda',
    readonly layer: number,
  ) {
    super(`diverged at iteration ${iteration}: block ${block === 'Lambda' ? 'Λ' : block}${layer} holds NaN or Infinity`);
    this.name = 'DivergenceError';
  }
}

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

/**
 * The stop rules of {@link TrainOptions}, shared by the run loops of {@link Trainer} and BackpropTrainer: checked
 * before each iteration (iterations, signal, time) and after an evaluated one (tolerance).
 */
export class RunSchedule {
  readonly #options: TrainOptions;
  readonly #every: number;
  readonly #startedAt: number;

  /** Checks the options (RangeError); `elapsedMs` is the trainer's wall time so far (the time limit counts from it). */
  constructor(options: TrainOptions, elapsedMs: number) {
    const every = options.metricsEvery ?? 1;
    if (!Number.isInteger(options.maxIterations) || options.maxIterations < 0) {
      throw new RangeError(`maxIterations must be an integer ≥ 0, got ${options.maxIterations}`);
    }
    if (!Number.isInteger(every) || every < 1) throw new RangeError(`metricsEvery must be an integer ≥ 1, got ${every}`);
    this.#options = options;
    this.#every = every;
    this.#startedAt = elapsedMs;
  }

  /**
   * {@link stopBefore} agreed by the ranks of a sharded run: rank 0's verdict (its clock and signal) on every rank, so
   * that all stop before the same iteration.
   */
  async agreedStopBefore(done: number, elapsedMs: number, communicator: Communicator): Promise<StopReason | undefined> {
    const local = this.stopBefore(done, elapsedMs);
    if (communicator.size === 1) return local;
    const code = Float64Array.of(STOP_CODES.indexOf(local));
    await communicator.broadcast(code, 0);
    return STOP_CODES[code[0]];
  }

  /** Why the run stops before iteration `done + 1`, or undefined when it goes on. */
  stopBefore(done: number, elapsedMs: number): StopReason | undefined {
    const o = this.#options;
    if (done >= o.maxIterations) return 'iterations';
    if (o.signal?.aborted) return 'cancelled';
    if (o.timeLimitMs !== undefined && elapsedMs - this.#startedAt >= o.timeLimitMs) return 'time';
    return undefined;
  }

  /** Whether iteration k evaluates the metrics: every m-th, the first and the last. */
  evaluates(k: number): boolean {
    return k % this.#every === 0 || k === 1 || k === this.#options.maxIterations;
  }

  /** Whether an evaluated iteration's ‖∇‖ meets the tolerance. */
  converged(gradNorm: number): boolean {
    return this.#options.gradTolerance !== undefined && gradNorm <= this.#options.gradTolerance;
  }
}

/** Lets timers, signal handlers and UI events run between iterations. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface TrainResult {
  readonly reason: StopReason;
  readonly iterations: number;
  /** The metrics at the final iterate. */
  readonly final: TrainingProgress;
}

/** The events a {@link Trainer} emits, with their payloads. */
export interface TrainerEvents {
  /**
   * The last event of every iteration k (after its `metrics`, when evaluated); awaited, so a listener may write
   * a checkpoint that includes the iteration's metrics state.
   */
  iteration: { readonly iteration: number; readonly evaluated: boolean };
  metrics: TrainingProgress;
  warning: string;
  stop: TrainResult;
}

/** A listener of {@link TypedEmitter.on}: called with the event's payload, and awaited when it returns a promise. */
export type Listener<T> = (payload: T) => void | Promise<void>;

/** How a {@link Trainer} runs, beside the problem itself. */
export interface TrainerOptions {
  /**
   * The ranks of a sample-sharded run: `data` is then this rank's slice of the samples (and of the test set), and
   * every rank calls the same methods in the same order. Default {@link singleProcess}.
   */
  readonly communicator?: Communicator;
}

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

  /**
   * Validates the problem (throwing before any work on bad input), prepares the activation and the loss on the backend
   * and initialises Algorithm 1 by (7).
   */
  static async create(backend: Backend, data: TrainingData, config: AdmmConfig, options: TrainerOptions = {}): Promise<Trainer> {
    const resolved = resolveProblem(data, config);
    await backend.prepareActivation(config.activation);
    await backend.prepareLoss(resolved.loss, resolved.layers[resolved.depth]);
    return new Trainer(AdmmSolver.create(backend, data, config, options.communicator ?? singleProcess), data);
  }

  /** The ranks this trainer's samples are sharded over. */
  get communicator(): Communicator {
    return this.solver.communicator;
  }

  /** The state to save so that {@link restore} continues bit for bit (same backend). */
  async checkpoint(): Promise<TrainerCheckpoint> {
    return { iterate: await this.solver.snapshot(), gradSqSum: this.gradSqSum, gradSqCount: this.gradSqCount, elapsedMs: this.elapsedMs };
  }

  /** Continues from a checkpoint of a run with the same data and configuration. */
  restore(checkpoint: TrainerCheckpoint): void {
    this.solver.restore(checkpoint.iterate);
    this.gradSqSum = checkpoint.gradSqSum;
    this.gradSqCount = checkpoint.gradSqCount;
    this.elapsedMs = checkpoint.elapsedMs;
  }

  /**
   * Throws {@link DivergenceError} naming the first block (W, V, then Λ; by layer) that is not finite, reported
   * as happening in iteration `iteration`.
   */
  private async assertFinite(iteration: number): Promise<void> {
    const b = this.solver.device;
    const blocks = ['W', 'V', 'Lambda'] as const;
    const probes = blocks.flatMap((block) => Array.from({ length: this.solver.depth }, (_, k) => {
      const probe = b.scalar(0);
      b.sumSquares(probe, this.solver[block][k + 1]);
      return probe;
    }));
    try {
      // A sum of squares is finite only if every entry is (an overflow to Infinity is divergence too). Sharded, the
      // sums are summed over the ranks, so every rank names the same block.
      const sums = await allReduceNumbers(this.communicator, await b.readScalars(probes));
      const first = sums.findIndex((v) => !Number.isFinite(v));
      if (first >= 0) throw new DivergenceError(iteration, blocks[Math.floor(first / this.solver.depth)], (first % this.solver.depth) + 1);
    } finally {
      for (const probe of probes) b.freeScalar(probe);
    }
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
    const schedule = new RunSchedule(options, this.elapsedMs);
    for (const warning of this.configurationWarnings()) await this.events.emit('warning', warning);
    let reason: StopReason;
    let latest: TrainingProgress | undefined;
    for (;;) {
      const stop = await schedule.agreedStopBefore(this.solver.iteration, this.elapsedMs, this.communicator);
      if (stop) {
        reason = stop;
        break;
      }
      const k = this.solver.iteration + 1;
      const evaluate = schedule.evaluates(k);
      const t0 = performance.now();
      try {
        await this.solver.step({ trackIncrements: evaluate });
        await this.solver.device.sync();
      } catch (err) {
        // A negative pivot is a system matrix that lost positive definiteness in rounding (f32 with a tiny λ, say):
        // report it as such. A NaN pivot comes from a non-finite iterate: report the divergence, not its symptom.
        if (err instanceof NotPositiveDefiniteError && !Number.isNaN(err.pivot)) {
          throw new NotPositiveDefiniteError(err.pivotIndex, err.pivot, err.size, `in iteration ${k}; a larger λ or f64 precision keeps the systems of (8), (18), (19) positive definite`);
        }
        // A collective that failed (a lost rank) leaves no way to ask the others: then the original error stands.
        await this.assertFinite(k).catch((check: unknown) => {
          if (check instanceof DivergenceError) throw check;
        });
        throw err;
      }
      this.elapsedMs += performance.now() - t0;
      if (evaluate) {
        latest = await this.measure(true);
        if (!isFiniteProgress(latest)) await this.assertFinite(k);
        await this.events.emit('metrics', latest);
      }
      await this.events.emit('iteration', { iteration: this.solver.iteration, evaluated: evaluate });
      if (evaluate && schedule.converged(latest!.gradNorm)) {
        reason = 'tolerance';
        break;
      }
      await yieldToEventLoop();
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

/** Whether every number in the metrics is finite (the step norm may be NaN when not tracked). */
function isFiniteProgress(m: TrainingProgress): boolean {
  return [m.augmentedLagrangian, m.gradNorm, m.trainLoss, ...m.residuals].every(Number.isFinite);
}
