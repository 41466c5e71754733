/**
 * The settings of a run: a fresh run's with every input path made absolute (config.json must work from any
 * folder), a resumed run's read back from its run directory's config.json with the resume's flags on top, and
 * checked against its checkpoint before any data is loaded. `nladmm compare` reads its directory's the same way.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OptionValue, ParsedOptions } from '../args.ts';
import { activationForRecord, isPluginPath, runActivationRecord } from '../activations.ts';
import { CliError, DataError, UsageError, messageOf } from '../errors.ts';
import { lossForRecord, runLossRecord } from '../losses.ts';
import { readRunMetrics } from '../io/metrics.ts';
import { readCheckpointHeader } from '../io/model.ts';
import { CHECKPOINT, CONFIG, METRICS } from '../io/runDirectory.ts';
import { DEFAULTS, RESUMABLE, type TrainSettings, firstOptionDifference, isFileDataset, optionsFromJson, toSettings } from '../trainOptions.ts';

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

/** The flags with a plugin file given as --activation or --loss made absolute (against `cwd`), for a resume. */
export function absolutePluginFlags(flags: ParsedOptions, cwd: string): ParsedOptions {
  const out = { ...flags };
  for (const key of ['activation', 'loss']) {
    const value = flags[key];
    if (typeof value === 'string' && isPluginPath(value)) out[key] = resolve(cwd, value);
  }
  return out;
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
    const records = existsSync(metricsPath) ? await readRunMetrics(metricsPath) : [];
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
