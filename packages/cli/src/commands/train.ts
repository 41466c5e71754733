/**
 * `nladmm train`: validates everything (options, activation, data, problem) before touching the disk, creates
 * the run directory atomically with its config and an iteration-0 checkpoint, trains with progress output,
 * checkpoints atomically every m iterations and on exit (SIGINT / SIGTERM included) and writes the model and
 * plots. `--resume RUN_DIR` continues a run bit for bit from its checkpoint.
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile, readdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  type AdmmConfig,
  type Backend,
  type BackpropConfig,
  BackpropTrainer,
  DivergenceError,
  type HostMatrix,
  InvalidProblemError,
  type StopReason,
  Trainer,
  type TrainerCheckpoint,
  type TrainingProgress,
  type TrainOptions,
  type TrainResult,
  type ParameterSuggestion,
  rateDiagnostics,
} from '@nladmm/core';
import { type OptionValue, type ParsedOptions, formatOptions, parseArgs } from '../args.ts';
import { activationForRecord, isPluginPath, runActivationRecord } from '../activations.ts';
import { lossForRecord, runLossRecord } from '../losses.ts';
import { createBackend } from '../backends.ts';
import { type CliContext, noticePrinter } from '../context.ts';
import type { LoadedData } from '../data/datasets.ts';
import { CliError, DataError, UsageError, messageOf } from '../errors.ts';
import { duration, lambdaText, percent, sci } from '../format.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { type RunLock, acquireRunLock } from '../io/lock.ts';
import { createRunDirectory, precheckRunDirectory } from '../io/runDirectory.ts';
import { type ModelInfo, decodeBaselineCheckpoint, decodeCheckpoint, encodeBaselineCheckpoint, encodeCheckpoint, encodeModel, readCheckpointHeader, verifyCheckpointFile } from '../io/model.ts';
import { parseMetrics, writePlots } from '../plot/charts.ts';
import { Progress } from '../progress.ts';
import { loadRunInputs, modelInfo, pluginRecord, timeLimitMs } from '../runInputs.ts';
import { checkRunMemory, sizeFromData, sizeFromSettings } from '../memory.ts';
import {
  DEFAULTS,
  DEFAULT_ADAM_LEARNING_RATE,
  DEFAULT_LEARNING_RATE,
  RESUMABLE,
  TRAIN_OPTIONS,
  type TrainSettings,
  betaScheduleOf,
  checkAdmmOnlyFlags,
  firstOptionDifference,
  isFileDataset,
  mergeOptions,
  optionsFromJson,
  readConfigFile,
  settingsToOptions,
  toSettings,
} from '../trainOptions.ts';
import { VERSION } from '../version.ts';

export const TRAIN_HELP = `Usage: nladmm train [options]

Trains a fully connected network with Algorithm 1 (nonlinearly constrained ADMM) and writes a run directory:
config.json, metrics.jsonl, checkpoint.safetensors, model.safetensors and plots/.
Options come from the defaults < --preset < --config FILE.json < flags. With no --dataset the preset is
fashion-mnist.

Examples:
  nladmm train                                   # the fashion-mnist preset
  nladmm train --preset paper-square --out runs/square
  nladmm train --dataset iris.csv --label-column species_id --test-split 0.2 --layers 4,16,16,3 --scale standard
  nladmm train --resume runs/square --iterations 100
${formatOptions(TRAIN_OPTIONS)}
`;

const CHECKPOINT = 'checkpoint.safetensors';
const MODEL = 'model.safetensors';
const METRICS = 'metrics.jsonl';
const CONFIG = 'config.json';

/** Makes every input path of the settings absolute (config.json must work from any folder). */
export function absolutize(s: TrainSettings, cwd: string): TrainSettings {
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  return {
    ...s,
    dataset: isFileDataset(s.dataset) ? resolve(cwd, s.dataset) : s.dataset,
    dataDir: abs(s.dataDir),
    labels: abs(s.labels),
    testDataset: abs(s.testDataset),
    testLabels: abs(s.testLabels),
    initWeights: abs(s.initWeights),
    activation: isPluginPath(s.activation) ? resolve(cwd, s.activation) : s.activation,
    loss: isPluginPath(s.loss) ? resolve(cwd, s.loss) : s.loss,
    out: abs(s.out),
  };
}

function timestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** A fresh default run directory name under runs/. */
function defaultRunDir(s: TrainSettings, cwd: string): string {
  const label = (s.preset ?? basename(s.dataset).replace(/\.[^.]*$/, '')).replace(/[^A-Za-z0-9_.-]/g, '_');
  const base = join(cwd, 'runs', `${timestamp(new Date())}-${label}`);
  let candidate = base;
  for (let k = 2; existsSync(candidate); k++) candidate = `${base}-${k}`;
  return candidate;
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

/** The first non-finite block of a checkpoint (a NaN iterate must never overwrite the last good one). */
function firstNonFinite(cp: TrainerCheckpoint): { block: 'W' | 'V' | 'Lambda'; layer: number } | undefined {
  for (const block of ['W', 'V', 'Lambda'] as const) {
    const layer = nonFiniteIndex(cp.iterate[block].slice(1));
    if (layer !== undefined) return { block, layer };
  }
  return undefined;
}

/** 1 + the index of the first matrix holding a NaN or ±Infinity. */
function nonFiniteIndex(list: readonly HostMatrix[]): number | undefined {
  const k = list.findIndex((m) => !m.data.every(Number.isFinite));
  return k < 0 ? undefined : k + 1;
}

/** The stop conditions and metrics cadence of a run (ADMM or baseline). */
function runOptions(settings: TrainSettings, signal: AbortSignal): TrainOptions {
  return { maxIterations: settings.iterations, gradTolerance: settings.gradTol, timeLimitMs: timeLimitMs(settings), signal, metricsEvery: settings.metricsEvery };
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

/**
 * Before resuming: removes the temporary files of writes that a kill interrupted (the files they were meant to
 * replace are intact) and drops the metrics logged after the checkpoint (their iterations will be redone).
 * Returns the last iteration still logged (−1 for none).
 */
async function prepareResume(runDir: string, metricsPath: string, checkpointIteration: number): Promise<number> {
  for (const name of await readdir(runDir)) if (/^\..*\.tmp-\d+-[0-9a-f]+$/.test(name)) await rm(join(runDir, name), { force: true });
  const kept = existsSync(metricsPath) ? parseMetrics(await readFile(metricsPath, 'utf8'), metricsPath).filter((r) => r.iteration <= checkpointIteration) : [];
  await writeFileAtomic(metricsPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return kept.length > 0 ? kept[kept.length - 1].iteration : -1;
}

function metricsLine(m: TrainingProgress): string {
  return `${JSON.stringify(m)}\n`;
}

function stopText(reason: StopReason, s: TrainSettings, signalName: string | undefined): string {
  switch (reason) {
    case 'iterations':
      return `reached --iterations ${s.iterations}`;
    case 'tolerance':
      return `‖∇𝓛‖ ≤ --grad-tol ${s.gradTol}`;
    case 'time':
      return `reached --time-limit ${s.timeLimit} s`;
    case 'cancelled':
      return `stopped by ${signalName ?? 'a signal'}`;
  }
}

interface Prepared {
  readonly settings: TrainSettings;
  readonly data: LoadedData;
  readonly backend: Backend;
  readonly trainer: Trainer;
  readonly info: Omit<ModelInfo, 'iteration'>;
  readonly config: AdmmConfig;
  readonly suggestion?: ParameterSuggestion;
}

/** The backend of a run's settings (`notice`: where auto's fallback notice goes). */
export function runBackend(settings: TrainSettings, notice?: (text: string) => void): Promise<Backend> {
  return createBackend(settings.backend, settings.precision, { threads: settings.threads, notice });
}

/** Everything up to a ready Trainer: every input is checked here, before anything is written. */
async function prepare(input: TrainSettings, notice?: (text: string) => void): Promise<Prepared> {
  // A problem that cannot fit is refused before its data is read (as far as the options tell its size), and again
  // with the data's sizes before the solver allocates.
  if (input.layers) checkRunMemory(input, input.layers, sizeFromSettings(input, input.layers));
  const { settings, activation, plugin, loss, lossPlugin, data, layers, config, suggestion } = await loadRunInputs(input);
  const backend = await runBackend(settings, notice);
  let trainer: Trainer;
  try {
    checkRunMemory(settings, layers, sizeFromData(data), backend);
    trainer = await Trainer.create(backend, { x: data.train.x, y: data.train.y, xTest: data.test?.x, yTest: data.test?.y }, config);
  } catch (err) {
    backend.dispose();
    if (err instanceof InvalidProblemError || err instanceof RangeError) throw new CliError(messageOf(err));
    throw err;
  }
  const info = modelInfo(settings, { activation, plugin, loss, lossPlugin, data, layers });
  return { settings, data, backend, trainer, info, config, ...(suggestion ? { suggestion } : {}) };
}

/**
 * Reads a run directory's options and checks that the flags only change what may change, then checks its checkpoint
 * from its header (before any data is loaded): the metadata checksums, the fields' ranges, config.json against the
 * options the checkpoint records, and k against metrics.jsonl. The tensors' checksums are checked when decoded.
 */
export async function resumeSettings(runDir: string, flags: ParsedOptions): Promise<TrainSettings> {
  if (existsSync(join(runDir, CONFIG)) && !existsSync(join(runDir, CHECKPOINT))) throw new UsageError(`--resume ${runDir}: no ${CHECKPOINT} to continue from`);
  const settings = await storedSettings(runDir, flags);
  await checkCheckpointAgainstRun(runDir);
  return settings;
}

/**
 * The checks of a run's checkpoint that need no data (see {@link resumeSettings}). config.json may be edited by
 * anyone; the checkpoint is checksummed: an option of config.json other than the resumable ones that differs from
 * the checkpoint's is refused, naming it. k is bounded by what metrics.jsonl holds: the process that wrote the
 * checkpoint logged the metrics of every iteration divisible by its --metrics-every M since it started (from
 * `resumedFrom`), before writing the checkpoint, so k < max(last logged iteration ≤ k, resumedFrom) + M.
 */
async function checkCheckpointAgainstRun(runDir: string): Promise<void> {
  const checkpointPath = join(runDir, CHECKPOINT);
  const configPath = join(runDir, CONFIG);
  const header = await readCheckpointHeader(checkpointPath);
  if (header.options) {
    let fromConfig: ParsedOptions;
    let fromCheckpoint: ParsedOptions;
    try {
      const text = (await readFile(configPath, 'utf8')).replace(/^\uFEFF/, '');
      fromConfig = optionsFromJson((JSON.parse(text) as { options: Record<string, unknown> }).options, configPath);
    } catch (err) {
      throw new CliError(`${configPath}: ${messageOf(err)}`);
    }
    try {
      fromCheckpoint = optionsFromJson(header.options as Record<string, unknown>, configPath);
    } catch (err) {
      throw new DataError(checkpointPath, `checkpoint metadata config is not a set of options (${messageOf(err)})`);
    }
    // A plugin's file is checked by its sha256 (the checkpoint records the plugin's name, config.json its path).
    const ignore = new Set([...RESUMABLE, ...(header.activationSha256 ? ['activation'] : []), ...(header.lossSha256 ? ['loss'] : [])]);
    const diff = firstOptionDifference(fromConfig, fromCheckpoint, ignore);
    if (diff) {
      throw new CliError(
        `${configPath}: ${diff.name} is ${optionText(diff.a)} but the run's checkpoint was written with ${optionText(diff.b)}; a resume continues the checkpoint's run, so only ${[...RESUMABLE].filter((k) => k !== 'resume' && k !== 'quiet' && k !== 'debug').map((k) => `--${k}`).join(', ')} may change (as flags): undo the edit of ${CONFIG}`,
      );
    }
  }
  const every = header.options?.['metrics-every'];
  if (header.resumedFrom !== undefined && typeof every === 'number' && Number.isInteger(every) && every >= 1) {
    const metricsPath = join(runDir, METRICS);
    const records = existsSync(metricsPath) ? parseMetrics((await readFile(metricsPath, 'utf8')), metricsPath) : [];
    const logged = records.reduce((last, r) => (r.iteration <= header.k && r.iteration > last ? r.iteration : last), -1);
    const max = Math.max(logged, header.resumedFrom) + every - 1;
    if (header.k > max) {
      throw new DataError(
        checkpointPath,
        `checkpoint metadata k = ${header.k} is out of range: it must be ≤ ${max} (${METRICS} ${logged >= 0 ? `ends at iteration ${logged}` : 'holds no iteration'} and the run that wrote the checkpoint logged its metrics every ${every} iterations from iteration ${header.resumedFrom})`,
      );
    }
  }
}

function optionText(value: OptionValue | undefined): string {
  return value === undefined ? '(not set)' : Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * The options stored in a directory's config.json (a run's, or a comparison's: `what`) with the flags of a resume
 * on top; only the options in `resumable` may be given.
 */
export async function storedSettings(runDir: string, flags: ParsedOptions, what = 'run', resumable: ReadonlySet<string> = RESUMABLE): Promise<TrainSettings> {
  const configPath = join(runDir, CONFIG);
  if (!existsSync(configPath)) throw new UsageError(`--resume ${runDir}: not a ${what} directory (no ${CONFIG})`);
  let stored: { options?: Record<string, unknown>; nladmm?: unknown };
  try {
    // A byte order mark (an editor's) is skipped, as in --config files and CSV.
    stored = JSON.parse((await readFile(configPath, 'utf8')).replace(/^\uFEFF/, '')) as { options?: Record<string, unknown>; nladmm?: unknown };
  } catch (err) {
    throw new CliError(`${configPath}: not valid JSON (${messageOf(err)})`);
  }
  if (!stored.options) throw new CliError(`${configPath}: no "options"`);
  // --activation and --loss are checked against what the run recorded (a plugin run needs its file again), not changed.
  const { activation: activationFlag, loss: lossFlag, ...changed } = flags;
  for (const key of Object.keys(changed)) {
    if (!resumable.has(key)) {
      throw new UsageError(`--${key} cannot change when resuming (the ${what}'s ${CONFIG} fixes it); only ${[...resumable].filter((k) => k !== 'resume').map((k) => `--${k}`).join(', ')} may be given, and --activation FILE or --loss FILE for a run trained with a plugin`);
    }
  }
  const options: Record<string, OptionValue> = { ...optionsFromJson(stored.options, configPath), ...changed };
  delete options.resume;
  delete options.quiet;
  delete options.debug;
  // The stored options are complete: no preset is merged under them (a preset may change between versions).
  const settings = { ...toSettings({ ...DEFAULTS, ...options }), out: runDir };
  // Never the plugin path stored in config.json (information only): the file given with --activation, if its
  // sha256 is the recorded one.
  const recorded = runActivationRecord(stored.nladmm, settings.activation, configPath);
  const { value } = await activationForRecord(recorded, typeof activationFlag === 'string' ? activationFlag : undefined, process.cwd(), `the ${what} in ${runDir}`, false);
  // The loss likewise (a run of an older nladmm records none: the squared loss).
  const lossRecord = runLossRecord(stored.nladmm, settings.loss, configPath);
  const loss = await lossForRecord(lossRecord, typeof lossFlag === 'string' ? lossFlag : undefined, process.cwd(), `the ${what} in ${runDir}`, false);
  return { ...settings, activation: value, loss: loss.value };
}

/** The flags with a plugin file given as --activation or --loss made absolute (against `cwd`), for a resume. */
export function absolutePluginFlags(flags: ParsedOptions, cwd: string): ParsedOptions {
  const out = { ...flags };
  for (const key of ['activation', 'loss']) {
    const value = flags[key];
    if (typeof value === 'string' && isPluginPath(value)) out[key] = resolve(cwd, value);
  }
  return out;
}

export async function trainCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options: flags, positionals } = parseArgs(argv, TRAIN_OPTIONS, 'train');
  if (flags.help) {
    ctx.stdout(TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options start with --; see nladmm train --help)`);
  const quiet = flags.quiet === true;
  const resumeDir = typeof flags.resume === 'string' ? resolve(ctx.cwd, flags.resume) : undefined;
  let settings: TrainSettings;
  if (resumeDir) settings = await resumeSettings(resumeDir, absolutePluginFlags(flags, ctx.cwd));
  else {
    const fromFile = typeof flags.config === 'string' ? await readConfigFile(resolve(ctx.cwd, flags.config)) : {};
    settings = absolutize(toSettings(mergeOptions(fromFile, flags)), ctx.cwd);
    checkAdmmOnlyFlags(flags, settings);
  }

  const runDir = resumeDir ?? settings.out ?? defaultRunDir(settings, ctx.cwd);
  // Fail fast on an unusable run directory (nothing is created until every input has been checked).
  if (!resumeDir) await precheckRunDirectory(runDir);
  const outcome = await executeRun({ settings, runDir, resume: resumeDir !== undefined, command: ['nladmm', 'train', ...argv].join(' '), quiet, notice: noticePrinter(ctx, 'train', quiet) }, ctx);
  return outcome.code;
}

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

export async function executeRun(request: RunRequest, ctx: CliContext): Promise<RunOutcome> {
  // Released on every way out: here, and by the lock's exit handler on process.exit (a second signal).
  const held: HeldLock = {};
  try {
    // A second process resuming the same run refuses here, before it reads the checkpoint.
    if (request.resume) held.lock = acquireRunLock(request.runDir, request.notice);
    if (request.settings.optimizer !== 'admm') return await runBaselineTraining(request, ctx, held);
    const prepared = await prepare(request.settings, request.notice);
    const { trainer, backend } = prepared;
    try {
      return await runTraining(prepared, ctx, request, held);
    } finally {
      trainer.dispose();
      backend.dispose();
    }
  } finally {
    held.lock?.release();
  }
}

async function runTraining(p: Prepared, ctx: CliContext, o: RunRequest, held: HeldLock): Promise<RunOutcome> {
  const { settings, trainer, backend, data, info } = p;
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
    const cp = decodeCheckpoint(bytes, checkpointPath, info.layers, info.bias, data.train.x.cols, o.notice ?? ((t) => progress.message(`notice: ${t}`)));
    trainer.restore(cp);
    lastCheckpoint = cp.iterate.iteration;
    resumedFrom = lastCheckpoint;
    lastLogged = await prepareResume(runDir, metricsPath, lastCheckpoint);
    progress.message(`resuming ${runDir} from iteration ${lastCheckpoint}`);
  } else {
    const config = {
      nladmm: {
        version: VERSION,
        createdAt: new Date().toISOString(),
        command: o.command,
        node: process.version,
        backend: backend.describe(),
        data: data.description,
        ...pluginRecord(info),
        ...(p.suggestion
          ? {
              theoryParameters: {
                betas: p.suggestion.betas,
                lambda: p.suggestion.lambda,
                astronomical: p.suggestion.astronomical,
                unattainable: p.suggestion.unattainable,
                failing: p.suggestion.report.failing,
              },
            }
          : {}),
      },
      options: settingsToOptions(settings),
    };
    const initial = await trainer.checkpoint();
    // W^0 as the trainer reports it: the checkpoint just downloaded holds it (W[0] is unused).
    if (o.initialWeightsPath) await writeFileAtomic(o.initialWeightsPath, encodeModel(initial.iterate.W.slice(1), { ...info, iteration: 0 }));
    held.lock = await createRunDirectory(runDir, [
      { name: CONFIG, data: `${JSON.stringify(config, null, 2)}\n` },
      { name: METRICS, data: '' },
      { name: CHECKPOINT, data: encodeCheckpoint(initial, { ...info, iteration: 0 }, { resumedFrom }) },
    ]);
  }
  const startIteration = trainer.solver.iteration;
  progress.restart(startIteration);
  const schedule = betaScheduleOf(settings);
  // The β in force (β^k of the last iteration k; under a schedule it changes with k): shown when it changes.
  const currentBetas = () => Array.from({ length: trainer.solver.depth }, (_, i) => trainer.solver.beta(i + 1));
  let shownBetas = betasText(currentBetas());
  if (!o.quiet) {
    const betaText = Array.isArray(settings.beta) ? settings.beta.join(',') : String(settings.beta);
    const scheduleText = schedule ? ` ×${schedule.factor} every ${schedule.every} iterations up to ${schedule.cap}${startIteration > 0 ? ` (${shownBetas} at iteration ${startIteration})` : ''}` : '';
    const lossText = info.loss !== undefined && info.loss !== 'squared' ? `, loss ${info.loss}` : '';
    progress.message(data.description);
    progress.message(
      `network ${info.layers.join('-')} ${info.activation}${lossText}, β = ${betaText}${scheduleText}, λ = ${lambdaText(settings.lambda)}, step rule ${settings.stepRule}, ${settings.initWeights ? `init from ${settings.initWeights}` : `init ${settings.init}×${settings.initScale} ${settings.initMode} (seed ${settings.seed})`}; backend ${backend.describe()}`,
    );
    progress.message(`run directory ${runDir}`);
    if (p.suggestion) {
      const unmet = p.suggestion.unattainable;
      progress.message(`β and λ from Theorem 3 ((42)-(45) hold)${unmet.length > 0 ? `; ${unmet.join(', ')} cannot be met by β, λ here` : '; all of (42)-(47) hold'}`);
    }
  }

  const writeCheckpoint = async (): Promise<void> => {
    const cp = await trainer.checkpoint();
    const bad = firstNonFinite(cp);
    if (bad) throw new DivergenceError(cp.iterate.iteration, bad.block, bad.layer);
    await writeFileAtomic(checkpointPath, encodeCheckpoint(cp, { ...info, iteration: cp.iterate.iteration }, { resumedFrom }));
    lastCheckpoint = cp.iterate.iteration;
  };
  const checkpointDue = (k: number) => k % settings.checkpointEvery === 0;

  const stop = gracefulStop(ctx, progress);

  trainer.events.on('warning', (w) => progress.message(`warning: ${w}`));
  // 'iteration' comes after the iteration's 'metrics', so a checkpoint holds the metrics state of its iteration.
  trainer.events.on('iteration', async ({ iteration }) => {
    progress.onIteration(iteration);
    if (schedule) {
      const now = betasText(currentBetas());
      if (now !== shownBetas) progress.message(`β = ${now} from iteration ${iteration}`);
      shownBetas = now;
    }
    if (checkpointDue(iteration)) await writeCheckpoint();
  });
  trainer.events.on('metrics', async (m) => {
    await appendFile(metricsPath, metricsLine(m));
    lastLogged = m.iteration;
    progress.onMetrics(m);
  });

  let result: TrainResult;
  const wallStart = performance.now();
  try {
    result = await trainer.run(runOptions(settings, stop.signal));
  } catch (err) {
    progress.finish();
    if (settings.plots) await writePlotsQuietly(metricsPath, runDir);
    if (err instanceof DivergenceError) throw new CliError(`${err.message}; ${await keptCheckpointText(checkpointPath)}`);
    throw err;
  } finally {
    stop.dispose();
  }
  progress.finish();
  const final = result.final;
  // The final measurement (when the last iteration was not evaluated) adds to the trainer's ‖∇𝓛‖² sum: checkpoint it.
  const appendedFinal = final.iteration > lastLogged;
  if (appendedFinal) await appendFile(metricsPath, metricsLine(final));
  if (lastCheckpoint !== result.iterations || result.iterations === 0 || appendedFinal) {
    try {
      await writeCheckpoint();
    } catch (err) {
      if (err instanceof DivergenceError) throw new CliError(`${err.message}; ${await keptCheckpointText(checkpointPath)}`);
      throw err;
    }
  }
  const weights = await trainer.solver.weights();
  await writeFileAtomic(join(runDir, MODEL), encodeModel(weights, { ...info, iteration: result.iterations }));
  if (settings.plots) await writePlotsQuietly(metricsPath, runDir, (w) => progress.message(w));

  const wall = performance.now() - wallStart;
  const done = result.iterations - startIteration;
  const lines: string[] = [];
  const stopSignal = stop.stoppedBy();
  lines.push(`${stopText(result.reason, settings, stopSignal)} at iteration ${result.iterations}: ${done} iterations in ${duration(wall)}${done > 0 ? ` (${perIteration(final.msPerIteration)} of Algorithm 1)` : ''}`);
  const parts = [`ℒ ${sci(final.augmentedLagrangian)}`, `‖∇ℒ‖ ${sci(final.gradNorm)}`, `train loss ${sci(final.trainLoss)}`];
  if (final.trainAccuracy !== undefined) parts.push(`train accuracy ${percent(final.trainAccuracy)}`);
  if (final.testLoss !== undefined) parts.push(`test loss ${sci(final.testLoss)}`);
  if (schedule) parts.push(`β ${betasText(currentBetas())}`);
  lines.push(parts.join('  '));
  const rate = await rateLine(metricsPath);
  if (rate) lines.push(rate);
  lines.push(`run directory: ${runDir}`);
  const outputs = info.layers[info.layers.length - 1];
  if (final.testAccuracy !== undefined) lines.push(`test accuracy: ${percent(final.testAccuracy)}`);
  else if (final.trainAccuracy !== undefined) lines.push(`training accuracy: ${percent(final.trainAccuracy)}`);
  else if (info.loss === undefined || info.loss === 'squared') {
    // ½ n⁻¹ ‖·‖² → mean squared error per output.
    const mse = (loss: number) => sci((2 * loss) / outputs);
    lines.push(`training MSE: ${mse(final.trainLoss)}${final.testLoss !== undefined ? `  test MSE: ${mse(final.testLoss)}` : ''}`);
  } else {
    // Another loss: its mean n⁻¹ Σ ℓ, not an MSE.
    lines.push(`training ${info.loss} loss: ${sci(final.trainLoss)}${final.testLoss !== undefined ? `  test ${info.loss} loss: ${sci(final.testLoss)}` : ''}`);
  }
  ctx.stdout(`${lines.join('\n')}\n`);
  return outcome(result, stopSignal);
}

function outcome(result: { reason: StopReason; iterations: number }, stopSignal: string | undefined): RunOutcome {
  const code = result.reason !== 'cancelled' ? 0 : signalExitCode(stopSignal);
  return { code, reason: result.reason, iterations: result.iterations, ...(stopSignal ? { stoppedBy: stopSignal } : {}) };
}

/** The exit code after a graceful stop by a signal (SIGINT, or an abort, 130; SIGTERM 143). */
export function signalExitCode(signal: string | undefined): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

/** The BackpropConfig of a gd/sgd run: the network, λ and initialisation of the ADMM config plus the optimiser. */
export function backpropConfig(settings: TrainSettings, config: AdmmConfig, init: AdmmConfig['init'] = config.init): BackpropConfig {
  if (settings.optimizer === 'admm') throw new UsageError('internal: backpropConfig needs --optimizer gd, sgd or adam');
  return {
    layers: config.layers,
    activation: config.activation,
    lambda: config.lambda,
    bias: config.bias,
    init,
    optimizer: settings.optimizer,
    learningRate: settings.learningRate ?? (settings.optimizer === 'adam' ? DEFAULT_ADAM_LEARNING_RATE : DEFAULT_LEARNING_RATE),
    ...(settings.momentum !== undefined ? { momentum: settings.momentum } : {}),
    ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
    seed: settings.seed,
    ...(config.loss ? { loss: config.loss } : {}),
  };
}

/** Creates a BackpropTrainer; errors of the configuration become one-line CLI errors. */
export async function createBaseline(backend: Backend, data: LoadedData, config: BackpropConfig): Promise<BackpropTrainer> {
  try {
    return await BackpropTrainer.create(backend, { x: data.train.x, y: data.train.y, xTest: data.test?.x, yTest: data.test?.y }, config);
  } catch (err) {
    if (err instanceof InvalidProblemError || err instanceof RangeError) throw new CliError(messageOf(err));
    throw err;
  }
}

/**
 * A gd/sgd/adam run: the run directory holds config.json, metrics.jsonl (the baseline's metrics), checkpoint.safetensors
 * (the weights, the optimiser's moments and the mini-batch sampler: `--resume` continues bit for bit) and
 * model.safetensors; no plots (their charts are ADMM's quantities).
 */
async function runBaselineTraining(o: RunRequest, ctx: CliContext, held: HeldLock): Promise<RunOutcome> {
  const { settings } = o;
  if (settings.layers) checkRunMemory(settings, settings.layers, sizeFromSettings(settings, settings.layers));
  const { activation, plugin, loss, lossPlugin, data, layers, config } = await loadRunInputs(settings);
  const backend = await runBackend(settings, o.notice);
  try {
    checkRunMemory(settings, layers, sizeFromData(data), backend);
    const trainer = await createBaseline(backend, data, backpropConfig(settings, config));
    try {
      const info: ModelInfo = { ...modelInfo(settings, { activation, plugin, loss, lossPlugin, data, layers }), iteration: 0 };
      const { runDir } = o;
      const metricsPath = join(runDir, METRICS);
      const checkpointPath = join(runDir, CHECKPOINT);
      // The iteration this process starts from, recorded in its checkpoints (resume checks k against the metrics).
      let resumedFrom = 0;
      const encode = async () => {
        const cp = await trainer.checkpoint();
        const bad = nonFiniteIndex(cp.weights);
        if (bad !== undefined) throw new DivergenceError(cp.iteration, 'W', bad);
        return { k: cp.iteration, bytes: encodeBaselineCheckpoint(cp, { ...info, iteration: cp.iteration }, settings.optimizer, { resumedFrom }) };
      };
      let lastCheckpoint = 0;
      let lastLogged = -1;
      const progress = new Progress({ write: ctx.stderr, tty: ctx.isTTY, columns: ctx.columns, startIteration: 0, totalIterations: settings.iterations, timeLimitMs: timeLimitMs(settings), quiet: o.quiet });
      if (o.resume) {
        const cp = decodeBaselineCheckpoint(await readFile(checkpointPath), checkpointPath, layers, info.bias, data.train.x.cols, settings.optimizer, o.notice ?? ((t) => progress.message(`notice: ${t}`)));
        try {
          trainer.restore(cp);
        } catch (err) {
          throw new CliError(`${checkpointPath}: ${messageOf(err)}`);
        }
        lastCheckpoint = cp.iteration;
        resumedFrom = lastCheckpoint;
        lastLogged = await prepareResume(runDir, metricsPath, lastCheckpoint);
        progress.message(`resuming ${runDir} from iteration ${lastCheckpoint}`);
      } else {
        const configJson = {
          nladmm: { version: VERSION, createdAt: new Date().toISOString(), command: o.command, node: process.version, backend: backend.describe(), data: data.description, ...pluginRecord(info) },
          options: settingsToOptions(settings),
        };
        if (o.initialWeightsPath) await writeFileAtomic(o.initialWeightsPath, encodeModel(await trainer.weights(), info));
        held.lock = await createRunDirectory(runDir, [
          { name: CONFIG, data: `${JSON.stringify(configJson, null, 2)}\n` },
          { name: METRICS, data: '' },
          { name: CHECKPOINT, data: (await encode()).bytes },
        ]);
      }
      progress.restart(trainer.iteration);
      if (!o.quiet) {
        progress.message(data.description);
        progress.message(`network ${layers.join('-')} ${activation.name}${loss.name !== 'squared' ? `, loss ${loss.name}` : ''}, optimizer ${settings.optimizer}, η = ${trainer.config.learningRate}, μ = ${trainer.momentum}, batch ${trainer.batchSize}, λ = ${lambdaText(settings.lambda)}; backend ${backend.describe()}`);
        progress.message(`run directory ${runDir}`);
      }
      const writeCheckpoint = async (): Promise<void> => {
        const { k, bytes } = await encode();
        await writeFileAtomic(checkpointPath, bytes);
        lastCheckpoint = k;
      };
      trainer.events.on('metrics', async (m) => {
        await appendFile(metricsPath, `${JSON.stringify(m)}\n`);
        lastLogged = m.iteration;
      });
      trainer.events.on('iteration', async ({ iteration }) => {
        progress.onIteration(iteration);
        if (iteration % settings.checkpointEvery === 0) await writeCheckpoint();
      });
      const stop = gracefulStop(ctx, progress);
      let result;
      try {
        result = await trainer.run(runOptions(settings, stop.signal));
      } catch (err) {
        progress.finish();
        if (err instanceof DivergenceError) throw new CliError(`${err.message}; ${await keptCheckpointText(checkpointPath, 'lower --learning-rate; ')}`);
        throw err;
      } finally {
        stop.dispose();
      }
      progress.finish();
      const final = result.final;
      if (final.iteration > lastLogged) await appendFile(metricsPath, `${JSON.stringify(final)}\n`);
      if (lastCheckpoint !== result.iterations) {
        try {
          await writeCheckpoint();
        } catch (err) {
          if (err instanceof DivergenceError) throw new CliError(`${err.message}; ${await keptCheckpointText(checkpointPath, 'lower --learning-rate; ')}`);
          throw err;
        }
      }
      await writeFileAtomic(join(runDir, MODEL), encodeModel(await trainer.weights(), { ...info, iteration: result.iterations }));
      const parts = [`objective ${sci(final.objective)}`, `‖∇f‖ ${sci(final.gradNorm)}`, `train loss ${sci(final.trainLoss)}`];
      if (final.trainAccuracy !== undefined) parts.push(`train accuracy ${percent(final.trainAccuracy)}`);
      if (final.testLoss !== undefined) parts.push(`test loss ${sci(final.testLoss)}`);
      if (final.testAccuracy !== undefined) parts.push(`test accuracy ${percent(final.testAccuracy)}`);
      const stopSignal = stop.stoppedBy();
      const how = result.reason === 'cancelled' && stopSignal ? `stopped by ${stopSignal}` : `stopped (${result.reason})`;
      ctx.stdout(`${settings.optimizer} ${how} at iteration ${result.iterations}${result.iterations > 0 ? ` (${perIteration(final.msPerIteration)})` : ''}\n${parts.join('  ')}\nrun directory: ${runDir}\n`);
      return outcome(result, stopSignal);
    } finally {
      trainer.dispose();
    }
  } finally {
    backend.dispose();
  }
}

/** β_1…β_N as messages show them: one value when all are equal. */
function betasText(betas: readonly number[]): string {
  const text = betas.map((b) => String(Number(b.toPrecision(6))));
  return text.every((t) => t === text[0]) ? text[0] : text.join(',');
}

function perIteration(ms: number): string {
  return ms < 1000 ? `${ms.toPrecision(3)} ms/iteration` : `${(ms / 1000).toFixed(2)} s/iteration`;
}

/** One line on the fitted log-log slope of the running mean (1/K)Σ‖∇𝓛‖² over the tail of the logged run. */
async function rateLine(metricsPath: string): Promise<string | undefined> {
  try {
    const records = parseMetrics(await readFile(metricsPath, 'utf8'), metricsPath);
    const samples = records.filter((r) => r.iteration >= 1 && typeof r.gradNorm === 'number').map((r) => ({ k: r.iteration, gradNorm: r.gradNorm as number }));
    if (samples.length < 2) return undefined;
    const { meanFit, verdict } = rateDiagnostics(samples);
    return `rate: running mean (1/K)Σ‖∇𝓛‖² fitted over k = ${meanFit.fromK}…${meanFit.toK}: ${verdict}`;
  } catch {
    return undefined;
  }
}

async function writePlotsQuietly(metricsPath: string, runDir: string, warn?: (text: string) => void): Promise<void> {
  try {
    const records = parseMetrics(await readFile(metricsPath, 'utf8'), metricsPath);
    if (records.length > 0) await writePlots(records, join(runDir, 'plots'));
  } catch (err) {
    warn?.(`warning: could not write the plots: ${messageOf(err)}`);
  }
}
