/**
 * What the run loop (run/runLoop.ts) needs of a trainer: the adapter that ADMM (core's Trainer, run/admmRun.ts)
 * and the backpropagation baselines (core's BackpropTrainer, run/baselineRun.ts) implement. The loop owns the
 * lifecycle (the run directory and its lock, metrics.jsonl, checkpoints, signals, plots, the final lines' place and
 * the exit code); the adapter owns what differs: the checkpoint format, the metrics rows, the messages.
 */
import { type Backend, type HostMatrix, InvalidProblemError, type StopReason, type TrainOptions, type TrainingProgress } from '@nladmm/core';
import type { LoadedData } from '../data/datasets.ts';
import { CliError, messageOf } from '../errors.ts';
import type { ModelInfo } from '../io/model.ts';
import type { TrainSettings } from '../trainOptions.ts';

/** One row of metrics.jsonl, as a trainer reports it at an evaluated iteration. */
export interface MetricsRow {
  readonly iteration: number;
}

/** How a trainer's run ended. */
export interface RunResult<Row extends MetricsRow> {
  readonly reason: StopReason;
  readonly iterations: number;
  /** The metrics at the final iterate (logged by the loop when that iteration was not evaluated). */
  readonly final: Row;
}

/** The loop's listeners on a trainer's events, awaited in order. */
export interface RunHooks<Row extends MetricsRow> {
  /** At an evaluated iteration (before its `iteration`). */
  readonly metrics: (row: Row) => Promise<void>;
  /** The last event of iteration k: a checkpoint written here holds the state of iteration k. */
  readonly iteration: (k: number) => Promise<void>;
  /** A warning about the configuration (printed even under --quiet). */
  readonly warning: (text: string) => void;
}

/** A fresh run's state at iteration 0: W^0 as the trainer reports it (read only when asked for), and its checkpoint. */
export interface InitialState {
  readonly weights: () => Promise<readonly HostMatrix[]>;
  readonly checkpoint: () => Promise<Uint8Array>;
}

/** What the final lines are made of, besides the result. */
export interface SummaryContext {
  readonly runDir: string;
  readonly metricsPath: string;
  /** The iteration this process started from. */
  readonly startIteration: number;
  /** Wall time from the start of the run to the model and plots written. */
  readonly wallMs: number;
  /** The signal that stopped the run, if one did. */
  readonly stopSignal: string | undefined;
}

/** A trainer as the run loop drives it; created ready to train (its inputs checked), disposed by the loop. */
export interface RunTrainer<Row extends MetricsRow> {
  /** The run's settings (ADMM's with the β and λ of --theory-parameters). */
  readonly settings: TrainSettings;
  readonly data: LoadedData;
  readonly backend: Backend;
  /** What the model and checkpoint files record (`iteration` is set when written). */
  readonly info: ModelInfo;
  /** Whether the run writes plots/ (ADMM with --plots; a baseline's metrics are not ADMM's quantities). */
  readonly plots: boolean;
  /** Put before the checkpoint's state in the message of a divergence (e.g. 'lower --learning-rate; '). */
  readonly divergenceAdvice: string;
  /**
   * Whether the final measurement belongs to the checkpointed state (ADMM: it adds to the running ‖∇𝓛‖² sum), so
   * that a run ending with one, or at iteration 0, checkpoints again.
   */
  readonly finalMeasurementCheckpointed: boolean;
  /** The fields config.json's `nladmm` record adds after the common ones (ADMM: the theory parameters). */
  readonly configRecord: Readonly<Record<string, unknown>>;
  /** The iteration of the current iterate. */
  readonly iteration: number;
  /** Decodes a checkpoint file (its checks, a notice for an unchecked one) and continues from it; returns its k. */
  restore(bytes: Uint8Array, path: string, notice: (text: string) => void): number;
  /** A fresh run's iteration-0 state (before the run directory is created). */
  initial(): Promise<InitialState>;
  /**
   * The checkpoint of the current state (`resumedFrom`: the iteration this process started from) and its k; a
   * DivergenceError when the state is not finite (a NaN iterate never overwrites the last good checkpoint).
   */
  checkpoint(resumedFrom: number): Promise<{ readonly iteration: number; readonly bytes: Uint8Array }>;
  /** Called once before the run: the line on the network and the trainer, and the lines after the run directory's. */
  begin(): { readonly network: string; readonly notes: readonly string[] };
  /** A message after iteration k (ADMM: the β of a schedule when it changes). */
  iterationMessage(k: number): string | undefined;
  /** The metrics the progress line shows for a row (undefined: none). */
  progressRow(row: Row): TrainingProgress | undefined;
  /** Iterates with the schedule until a stop condition holds, calling the hooks. */
  run(options: TrainOptions, hooks: RunHooks<Row>): Promise<RunResult<Row>>;
  /** The weights of the current iterate (model.safetensors). */
  weights(): Promise<readonly HostMatrix[]>;
  /** The final lines on stdout. */
  summary(result: RunResult<Row>, context: SummaryContext): Promise<string[]>;
  /** Frees the trainer and its backend. */
  dispose(): void;
}

/** 1 + the index of the first matrix holding a NaN or ±Infinity. */
export function nonFiniteIndex(list: readonly HostMatrix[]): number | undefined {
  const k = list.findIndex((m) => !m.data.every(Number.isFinite));
  return k < 0 ? undefined : k + 1;
}

/** Creates a trainer; errors of the configuration become one-line CLI errors. */
export async function createTrainer<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (err instanceof InvalidProblemError || err instanceof RangeError) throw new CliError(messageOf(err));
    throw err;
  }
}

export function perIteration(ms: number): string {
  return ms < 1000 ? `${ms.toPrecision(3)} ms/iteration` : `${(ms / 1000).toFixed(2)} s/iteration`;
}
