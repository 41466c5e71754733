/**
 * --loss: a built-in loss (squared, the paper's and the default; cross-entropy) or a loss plugin file, loaded by the
 * shared plugin harness (vetted in a worker thread under the time limit, then validated by core's validateLoss). A
 * model, checkpoint or run records the loss by name, and a plugin also by the sha256 of its file; a recorded plugin
 * is used only from a file given with --loss FILE (see pluginRecords.ts). Records without a loss (an older nladmm)
 * mean the squared loss.
 */
import { resolve } from 'node:path';
import { type HostMatrix, type Loss, squaredLoss } from '@nladmm/core';
import { builtinLoss, builtinLosses } from '@nladmm/losses';
import { loadLossPluginFile } from '@nladmm/losses/node';
import { CliError, UsageError, messageOf } from './errors.ts';
import { type PluginRef, type PluginSubject, type RecordedPlugin, checkRecordedPluginName, isPluginPath, pluginForRecord, runPluginRecord } from './pluginRecords.ts';

/** The loss of a record that names none (files and runs of an older nladmm). */
export const DEFAULT_LOSS = squaredLoss.name;

const LOSS: PluginSubject = { noun: 'loss', flag: '--loss', builtins: new Set(builtinLosses.map((l) => l.name)) };

/**
 * The loss named by --loss: a built-in name, or a plugin file that is loaded (vetted in a worker thread under the
 * time limit, then imported and validated). `expectedSha256`: refuse the file unless its bytes have this hash.
 */
export async function resolveLoss(value: string, expectedSha256?: string): Promise<{ loss: Loss; plugin?: PluginRef }> {
  if (isPluginPath(value)) {
    try {
      const loaded = await loadLossPluginFile(resolve(value), expectedSha256 !== undefined ? { sha256: expectedSha256 } : {});
      return { loss: loaded.loss, plugin: { path: loaded.path, sha256: loaded.sha256 } };
    } catch (err) {
      throw new CliError(messageOf(err));
    }
  }
  const loss = builtinLoss(value);
  if (!loss) throw new UsageError(`unknown loss '${value}' (built in: ${builtinLosses.map((l) => l.name).join(', ')}; or give a plugin file such as ./my-loss.mjs)`);
  return { loss };
}

/**
 * The loss to use with a recorded one (eval, --resume), from the --loss given: as {@link pluginForRecord} for
 * activations (a plugin record needs --loss FILE with the recorded sha256; `override` allows another loss for a
 * built-in record).
 */
export function lossForRecord(recorded: RecordedPlugin, flag: string | undefined, cwd: string, what: string, override: boolean): Promise<{ value: string; sha256?: string }> {
  return pluginForRecord(LOSS, recorded, flag, cwd, what, override);
}

/** After loading: a plugin given for a plugin record must be the recorded loss (by name). */
export function checkRecordedLossName(recorded: RecordedPlugin, loss: Loss, what: string, source: string): void {
  checkRecordedPluginName(LOSS, recorded, loss.name, what, source);
}

/**
 * What a run's (or a comparison's) config.json records about its loss: `nladmm.lossPlugin` ({ name, sha256, path })
 * and the stored --loss (absent in runs of an older nladmm: squared).
 */
export function runLossRecord(nladmm: unknown, storedLoss: string | undefined, configPath: string): RecordedPlugin {
  return runPluginRecord(nladmm, 'lossPlugin', storedLoss ?? DEFAULT_LOSS, configPath);
}

/**
 * Refuses targets the loss cannot use (cross-entropy needs probability vectors, e.g. one-hot class targets) as a
 * usage error naming the loss (`subject`), the set and the sample; `raw`: the data's targets are raw (regression) values.
 */
export function checkLossTargets(loss: Loss, sets: readonly { readonly name: string; readonly y?: HostMatrix }[], raw: boolean, subject = `--loss ${loss.name}`): void {
  if (!loss.checkTarget) return;
  for (const { name, y } of sets) {
    if (!y) continue;
    const column = new Float64Array(y.rows);
    for (let c = 0; c < y.cols; c++) {
      for (let r = 0; r < y.rows; r++) column[r] = y.data[r * y.cols + c];
      const why = loss.checkTarget(column);
      if (why === undefined) continue;
      const hint = raw ? '; the data has raw (regression) targets: use class labels with --targets onehot, or --loss squared' : '';
      throw new UsageError(`${subject} cannot use the target of ${name} sample ${c}: ${why}${hint}`);
    }
  }
}
