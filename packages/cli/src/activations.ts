import { resolve } from 'node:path';
import type { Activation, ActivationRegistry } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { loadActivationPluginFile } from '@nladmm/activations/node';
import { CliError, UsageError, messageOf } from './errors.ts';
import { type PluginRef, type PluginSubject, type RecordedPlugin, checkRecordedPluginName, isPluginPath, pluginForRecord, recordsPluginOf, runPluginRecord } from './pluginRecords.ts';

export { isPluginPath, type PluginRef };

/**
 * The activation named by --activation: a built-in name, or a plugin file that is loaded (vetted in a worker thread
 * under the time limit, then imported and validated). `expectedSha256`: refuse the file unless its bytes have this
 * hash. Returns the registry too (for listings) and the plugin's absolute path and hash.
 */
export async function resolveActivation(value: string, expectedSha256?: string): Promise<{ activation: Activation; plugin?: PluginRef; registry: ActivationRegistry }> {
  const registry = createDefaultRegistry();
  if (isPluginPath(value)) {
    try {
      const loaded = await loadActivationPluginFile(registry, resolve(value), expectedSha256 !== undefined ? { sha256: expectedSha256 } : {});
      return { activation: loaded.activation, plugin: { path: loaded.path, sha256: loaded.sha256 }, registry };
    } catch (err) {
      throw new CliError(messageOf(err));
    }
  }
  if (!registry.has(value)) {
    throw new UsageError(`unknown activation '${value}' (built in: ${registry.names().join(', ')}; or give a plugin file such as ./my-activation.mjs)`);
  }
  return { activation: registry.get(value), registry };
}

/**
 * What a model, a checkpoint or a run records about its activation. Nothing recorded is ever loaded: a plugin is
 * recorded by name and by the sha256 of its file, and used only from a file given on the command line.
 */
export type RecordedActivation = RecordedPlugin;

const ACTIVATION: PluginSubject = { noun: 'activation', flag: '--activation', builtins: new Set(createDefaultRegistry().names()) };

/** Whether a recorded activation came from a plugin (anything but a built-in name). */
export function recordsPlugin(r: RecordedActivation): boolean {
  return recordsPluginOf(ACTIVATION, r);
}

/**
 * The activation to use with a recorded one (eval, predict, --resume), from the --activation given (`flag`, a
 * built-in name or a plugin file, relative to `cwd`). A built-in record needs nothing; `override` allows another
 * activation for it (eval, predict), otherwise only the same name (a resume). A plugin record needs the plugin's
 * file: without one, or with a file whose sha256 differs from the recorded one, it is refused with one line naming
 * `what` (the model or run), the plugin and the hashes. The hash is checked before any of the file runs. Returns
 * the value for {@link resolveActivation} and the hash to expect.
 */
export function activationForRecord(recorded: RecordedActivation, flag: string | undefined, cwd: string, what: string, override: boolean): Promise<{ value: string; sha256?: string }> {
  return pluginForRecord(ACTIVATION, recorded, flag, cwd, what, override);
}

/** After loading: a plugin given for a plugin record must be the recorded activation (by name). */
export function checkRecordedName(recorded: RecordedActivation, activation: Activation, what: string, source: string): void {
  checkRecordedPluginName(ACTIVATION, recorded, activation.name, what, source);
}

/**
 * What a run's (or a comparison's) config.json records about its activation: `nladmm.activationPlugin`
 * ({ name, sha256, path }; a path string from an older nladmm) and the stored --activation.
 */
export function runActivationRecord(nladmm: unknown, storedActivation: string, configPath: string): RecordedActivation {
  return runPluginRecord(nladmm, 'activationPlugin', storedActivation, configPath);
}
