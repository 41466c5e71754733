/**
 * One training run in a run directory, fresh or resumed (`nladmm train`, and each run of `nladmm compare`), for
 * any trainer behind the adapter of run/runTrainer.ts. A fresh run creates its directory atomically with config.json,
 * an empty metrics.jsonl and an iteration-0 checkpoint (its lock held from then on); a resumed one takes the lock,
 * removes what interrupted writes left and drops the metrics logged after its checkpoint. Then it trains with
 * progress output, appending each metrics row to metrics.jsonl, checkpoints atomically every --checkpoint-every
 * iterations and at the end (SIGINT / SIGTERM included), and writes the model, the plots and the final lines.
 * Sharded (ctx.communicator of P ranks), every rank trains and takes part in each checkpoint (the iterate is gathered
 * at rank 0); rank 0 alone touches the run directory, and tells the others when it cannot.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Communicator, DivergenceError, type StopReason, type TrainOptions } from '@nladmm/core';
import type { CliContext } from '../context.ts';
import { CliError, messageOf } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { type RunLock, acquireRunLock } from '../io/lock.ts';
import { appendMetrics, keepMetricsUpTo, readRunMetrics } from '../io/metrics.ts';
import { encodeModel, verifyCheckpointFile } from '../io/model.ts';
import { CHECKPOINT, CONFIG, METRICS, MODEL, PLOTS, createRunDirectory, removeInterruptedWrites } from '../io/runDirectory.ts';
import { writePlots } from '../plot/charts.ts';
import { Progress } from '../progress.ts';
import { onRootAgreed } from '../ranks.ts';
import { pluginRecord, timeLimitMs } from '../runInputs.ts';
import { type TrainSettings, settingsToOptions } from '../trainOptions.ts';
import { VERSION } from '../version.ts';
import { createAdmmRun } from './admmRun.ts';
import { createBaselineRun } from './baselineRun.ts';
import type { MetricsRow, RunTrainer } from './runTrainer.ts';

/** One training run in a run directory, fresh or resumed (`nladmm train`, and each run of `nladmm compare`). */
export interface RunRequest {
  readonly settings: TrainSettings;
  readonly runDir: string;
  /** Continue the run in runDir from its checkpoint; otherwise create runDir (which must not exist or be empty). */
  readonly resume: boolean;
  /** The command line recorded in config.json. */
  readonly command: string;
  readonly quiet: boolean;
  /** A fresh run first writes the initial weights its trainer reports to this file (compare's W^0 check). */
  readonly initialWeightsPath?: string;
  /** Where the notices of the backend's choice go (`--backend auto` falling back from blas to cpu). */
  readonly notice?: (text: string) => void;
}

/** How a run ended: the exit code (130/143 after SIGINT/SIGTERM), the trainer's stop reason and its iteration. */
export interface RunOutcome {
  readonly code: number;
  readonly reason: StopReason;
  readonly iterations: number;
  /** The signal received during the run, also when it came too late to stop it (during its last iteration). */
  readonly stoppedBy?: string;
}

/** The run directory's lock while a run holds it (a fresh run takes it when it creates the directory). */
interface HeldLock {
  lock?: RunLock;
}

/** Runs `request` with the trainer of its --optimizer (ADMM, or a gd/sgd/adam baseline). */
export async function executeRun(request: RunRequest, ctx: CliContext): Promise<RunOutcome> {
  // Released on every way out: here, and by the lock's exit handler on process.exit (a second signal).
  const held: HeldLock = {};
  const { communicator } = ctx;
  try {
    // A second process resuming the same run refuses here, before it reads the checkpoint.
    if (request.resume) held.lock = await onRootAgreed(communicator, async () => acquireRunLock(request.runDir, request.notice));
    const trainer: RunTrainer<MetricsRow> = request.settings.optimizer !== 'admm'
      ? await createBaselineRun(request.settings, request.notice, communicator)
      : await createAdmmRun(request.settings, request.notice, communicator);
    try {
      return await runLoop(trainer, request, ctx, held);
    } finally {
      trainer.dispose();
    }
  } finally {
    held.lock?.release();
  }
}

/** The run's lifecycle, the same for every trainer. */
async function runLoop<Row extends MetricsRow>(t: RunTrainer<Row>, o: RunRequest, ctx: CliContext, held: HeldLock): Promise<RunOutcome> {
  const { settings, data, backend, info } = t;
  const { communicator } = ctx;
  const root = communicator.rank === 0;
  const { runDir } = o;
  const checkpointPath = join(runDir, CHECKPOINT);
  const metricsPath = join(runDir, METRICS);
  let lastCheckpoint = 0;
  let lastLogged = -1;

  const progress = new Progress({
    write: ctx.stderr,
    tty: ctx.isTTY,
    columns: ctx.columns,
    startIteration: 0,
    totalIterations: settings.iterations,
    timeLimitMs: timeLimitMs(settings),
    quiet: o.quiet,
  });

  // The iteration this process starts from, recorded in its checkpoints (resume checks k against the metrics).
  let resumedFrom = 0;
  if (o.resume) {
    const bytes = await readFile(checkpointPath);
    lastCheckpoint = t.restore(bytes, checkpointPath, o.notice ?? ((text) => progress.message(`notice: ${text}`)));
    resumedFrom = lastCheckpoint;
    lastLogged = await agreedNumber(communicator, await onRootAgreed(communicator, () => prepareResume(runDir, metricsPath, lastCheckpoint)));
    progress.message(`resuming ${runDir} from iteration ${lastCheckpoint}`);
  } else {
    const config = {
      nladmm: { version: VERSION, createdAt: new Date().toISOString(), command: o.command, node: process.version, backend: backend.describe(), data: data.description, ...pluginRecord(info), ...t.configRecord },
      options: settingsToOptions(settings),
    };
    const initial = await t.initial();
    const firstCheckpoint = await initial.checkpoint();
    held.lock = await onRootAgreed(communicator, async () => {
      if (o.initialWeightsPath) await writeFileAtomic(o.initialWeightsPath, encodeModel(await initial.weights(), { ...info, iteration: 0 }));
      return createRunDirectory(runDir, [
        { name: CONFIG, data: `${JSON.stringify(config, null, 2)}\n` },
        { name: METRICS, data: '' },
        { name: CHECKPOINT, data: firstCheckpoint },
      ]);
    });
  }
  const startIteration = t.iteration;
  progress.restart(startIteration);
  const header = t.begin();
  if (!o.quiet) {
    progress.message(data.description);
    progress.message(header.network);
    progress.message(`run directory ${runDir}`);
    for (const note of header.notes) progress.message(note);
  }

  const writeCheckpoint = async (): Promise<void> => {
    const { iteration, bytes } = await t.checkpoint(resumedFrom);
    if (root) await writeFileAtomic(checkpointPath, bytes);
    lastCheckpoint = iteration;
  };
  const diverged = async (err: unknown): Promise<never> => {
    if (err instanceof DivergenceError) throw new CliError(`${err.message}; ${await keptCheckpointText(checkpointPath, t.divergenceAdvice)}`);
    throw err;
  };

  const stop = gracefulStop(ctx, progress);
  let result;
  const wallStart = performance.now();
  try {
    result = await t.run(runOptions(settings, stop.signal), {
      warning: (w) => progress.message(`warning: ${w}`),
      // 'iteration' comes after the iteration's 'metrics', so a checkpoint holds the metrics state of its iteration.
      iteration: async (k) => {
        progress.onIteration(k);
        const message = t.iterationMessage(k);
        if (message !== undefined) progress.message(message);
        if (k % settings.checkpointEvery === 0) await writeCheckpoint();
      },
      metrics: async (row) => {
        if (root) await appendMetrics(metricsPath, row);
        lastLogged = row.iteration;
        const shown = t.progressRow(row);
        if (shown) progress.onMetrics(shown);
      },
    });
  } catch (err) {
    progress.finish();
    if (t.plots && root) await writePlotsQuietly(metricsPath, runDir);
    return await diverged(err);
  } finally {
    stop.dispose();
  }
  progress.finish();
  const final = result.final;
  // The final measurement, when the last iteration was not evaluated (for ADMM it adds to the trainer's ‖∇𝓛‖² sum:
  // checkpointed then).
  const appendedFinal = final.iteration > lastLogged;
  if (appendedFinal && root) await appendMetrics(metricsPath, final);
  if (lastCheckpoint !== result.iterations || (t.finalMeasurementCheckpointed && (result.iterations === 0 || appendedFinal))) {
    try {
      await writeCheckpoint();
    } catch (err) {
      await diverged(err);
    }
  }
  const weights = await t.weights();
  if (root) {
    await writeFileAtomic(join(runDir, MODEL), encodeModel(weights, { ...info, iteration: result.iterations }));
    if (t.plots) await writePlotsQuietly(metricsPath, runDir, (w) => progress.message(w));
  }

  const wallMs = performance.now() - wallStart;
  const stopSignal = stop.stoppedBy();
  const lines = await t.summary(result, { runDir, metricsPath, startIteration, wallMs, stopSignal });
  ctx.stdout(`${lines.join('\n')}\n`);
  return outcome(result, stopSignal);
}

/** Rank 0's `value` on every rank (a single process: `value` itself). */
async function agreedNumber(communicator: Communicator, value: number | undefined): Promise<number> {
  const packed = Float64Array.of(value ?? 0);
  await communicator.broadcast(packed, 0);
  return packed[0];
}

function outcome(result: { reason: StopReason; iterations: number }, stopSignal: string | undefined): RunOutcome {
  const code = result.reason !== 'cancelled' ? 0 : signalExitCode(stopSignal);
  return { code, reason: result.reason, iterations: result.iterations, ...(stopSignal ? { stoppedBy: stopSignal } : {}) };
}

/** The exit code after a graceful stop by a signal (SIGINT, or an abort, 130; SIGTERM 143). */
export function signalExitCode(signal: string | undefined): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

/** The stop conditions and metrics cadence of a run (ADMM or baseline). */
function runOptions(settings: TrainSettings, signal: AbortSignal): TrainOptions {
  return { maxIterations: settings.iterations, gradTolerance: settings.gradTol, timeLimitMs: timeLimitMs(settings), signal, metricsEvery: settings.metricsEvery };
}

/**
 * Before resuming: removes the temporary files of writes that a kill interrupted (the files they were meant to
 * replace are intact) and drops the metrics logged after the checkpoint (their iterations will be redone).
 * Returns the last iteration still logged (−1 for none).
 */
async function prepareResume(runDir: string, metricsPath: string, checkpointIteration: number): Promise<number> {
  await removeInterruptedWrites(runDir);
  return keepMetricsUpTo(metricsPath, checkpointIteration);
}

/**
 * What the divergence message says of the checkpoint left on disk: checked again (checksums and metadata), so that it
 * is called good only when it verifies.
 */
async function keptCheckpointText(checkpointPath: string, advice = ''): Promise<string> {
  const verdict = await verifyCheckpointFile(checkpointPath);
  if (verdict.state === 'bad') return `${advice}no good checkpoint is left: ${verdict.reason}`;
  if (verdict.state === 'verified') return `${advice}the last good checkpoint (iteration ${verdict.iteration}) is kept in ${checkpointPath}`;
  return `${advice}the last checkpoint (iteration ${verdict.iteration}) is kept in ${checkpointPath}, unverified (it has no checksums: written by an older nladmm)`;
}

/**
 * Graceful stops: the first SIGINT or SIGTERM (or an abort of ctx.signal) aborts the returned signal, so that the
 * trainer finishes its iteration and the run checkpoints; a second one exits at once (the files on disk are always
 * complete, as every write is atomic).
 */
function gracefulStop(ctx: CliContext, progress: Progress): { signal: AbortSignal; stoppedBy: () => string | undefined; dispose: () => void } {
  const controller = new AbortController();
  let stopSignal: string | undefined;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
    if (stopSignal) process.exit(name === 'SIGINT' ? 130 : 143);
    stopSignal = name;
    controller.abort();
    progress.message(`${name}: stopping after the current iteration and writing a checkpoint (send ${name} again to stop at once)`);
  };
  const handlers = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };
  if (ctx.handleSignals) {
    process.on('SIGINT', handlers.SIGINT);
    process.on('SIGTERM', handlers.SIGTERM);
  }
  const onExternalAbort = () => {
    stopSignal ??= 'SIGINT';
    controller.abort();
  };
  ctx.signal?.addEventListener('abort', onExternalAbort);
  if (ctx.signal?.aborted) onExternalAbort();
  return {
    signal: controller.signal,
    stoppedBy: () => stopSignal,
    dispose: () => {
      if (ctx.handleSignals) {
        process.off('SIGINT', handlers.SIGINT);
        process.off('SIGTERM', handlers.SIGTERM);
      }
      ctx.signal?.removeEventListener('abort', onExternalAbort);
    },
  };
}

/** Writes plots/ from metrics.jsonl; a failure is only a warning (`warn`), or silent after an error. */
async function writePlotsQuietly(metricsPath: string, runDir: string, warn?: (text: string) => void): Promise<void> {
  try {
    const records = await readRunMetrics(metricsPath);
    if (records.length > 0) await writePlots(records, join(runDir, PLOTS));
  } catch (err) {
    warn?.(`warning: could not write the plots: ${messageOf(err)}`);
  }
}
