import { resolve } from 'node:path';
import type { Activation, ActivationRegistry } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { hashPrefix, loadActivationPluginFile, pluginFileSha256 } from '@nladmm/activations/node';
import { CliError, UsageError, messageOf } from './errors.ts';

/** Whether an --activation value is a plugin file rather than a registered name. */
export function isPluginPath(value: string): boolean {
  return /[\\/]/.test(value) || /\.(m?js|ts|mts)$/i.test(value);
}

/** A plugin that was loaded: its absolute path (for information) and the sha256 of the file's bytes (hex). */
export interface PluginRef {
  readonly path: string;
  readonly sha256: string;
}

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
    throw new CliError(`unknown activation '${value}' (built in: ${registry.names().join(', ')}; or give a plugin file such as ./my-activation.mjs)`);
  }
  return { activation: registry.get(value), registry };
}

/**
 * What a model, a checkpoint or a run records about its activation. Nothing recorded is ever loaded: a plugin is
 * recorded by name and by the sha256 of its file, and used only from a file given on the command line.
 */
export interface RecordedActivation {
  /** The activation's name (unknown for a run recorded by an older nladmm with a plugin path only). */
  readonly name?: string;
  /** The sha256 (hex) of the plugin file's bytes; absent for a built-in activation. */
  readonly sha256?: string;
  /** A plugin path recorded, without a hash, by an older nladmm: shown in messages, never imported. */
  readonly legacyPath?: string;
}

const BUILTIN = new Set(createDefaultRegistry().names());

/** Whether a recorded activation came from a plugin (anything but a built-in name). */
export function recordsPlugin(r: RecordedActivation): boolean {
  return r.sha256 !== undefined || r.legacyPath !== undefined || r.name === undefined || !BUILTIN.has(r.name);
}

function describePlugin(r: RecordedActivation): string {
  const name = r.name !== undefined ? ` '${r.name}'` : '';
  if (r.sha256 !== undefined) return `the activation plugin${name} (sha256 ${hashPrefix(r.sha256)})`;
  if (r.legacyPath !== undefined) return `the activation plugin${name} from ${r.legacyPath} (recorded without a hash by an older nladmm)`;
  return `the activation${name}, which is not built in`;
}

/**
 * The activation to use with a recorded one (eval, predict, --resume), from the --activation given (`flag`, a
 * built-in name or a plugin file, relative to `cwd`). A built-in record needs nothing; `override` allows another
 * activation for it (eval, predict), otherwise only the same name (a resume). A plugin record needs the plugin's
 * file: without one, or with a file whose sha256 differs from the recorded one, it is refused with one line naming
 * `what` (the model or run), the plugin and the hashes. The hash is checked before any of the file runs. Returns
 * the value for {@link resolveActivation} and the hash to expect.
 */
export async function activationForRecord(recorded: RecordedActivation, flag: string | undefined, cwd: string, what: string, override: boolean): Promise<{ value: string; sha256?: string }> {
  if (!recordsPlugin(recorded)) {
    const name = recorded.name as string;
    if (flag === undefined || flag === name) return { value: name };
    if (!override) throw new UsageError(`--activation cannot change when resuming: ${what} uses the built-in activation '${name}'`);
    return { value: isPluginPath(flag) ? resolve(cwd, flag) : flag };
  }
  const plugin = describePlugin(recorded);
  if (flag === undefined) throw new CliError(`${what} was trained with ${plugin}; nladmm never runs code named by a model or run: pass that plugin's file with --activation FILE`);
  if (!isPluginPath(flag)) throw new CliError(`--activation ${flag}: ${what} was trained with ${plugin}; pass that plugin's file with --activation FILE`);
  const path = resolve(cwd, flag);
  if (recorded.sha256 === undefined) return { value: path };
  let actual: string;
  try {
    actual = await pluginFileSha256(path);
  } catch (err) {
    throw new CliError(`--activation: ${messageOf(err)}`);
  }
  if (actual !== recorded.sha256) {
    throw new CliError(`--activation ${path}: its sha256 ${hashPrefix(actual)} does not match ${what}, trained with the plugin${recorded.name !== undefined ? ` '${recorded.name}'` : ''} of sha256 ${hashPrefix(recorded.sha256)} (a different or modified file)`);
  }
  return { value: path, sha256: recorded.sha256 };
}

/** After loading: a plugin given for a plugin record must be the recorded activation (by name). */
export function checkRecordedName(recorded: RecordedActivation, activation: Activation, what: string, source: string): void {
  if (recordsPlugin(recorded) && recorded.name !== undefined && activation.name !== recorded.name) {
    throw new CliError(`--activation ${source} is the activation '${activation.name}', but ${what} was trained with '${recorded.name}'`);
  }
}

/**
 * What a run's (or a comparison's) config.json records about its activation: `nladmm.activationPlugin`
 * ({ name, sha256, path }; a path string from an older nladmm) and the stored --activation.
 */
export function runActivationRecord(nladmm: unknown, storedActivation: string, configPath: string): RecordedActivation {
  const pin = (nladmm as { activationPlugin?: unknown } | undefined)?.activationPlugin;
  if (pin !== undefined && pin !== null && typeof pin === 'object') {
    const { name, sha256 } = pin as { name?: unknown; sha256?: unknown };
    if (typeof name !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new CliError(`${configPath}: nladmm.activationPlugin is not { name, sha256 }`);
    return { name, sha256 };
  }
  if (typeof pin === 'string') return { legacyPath: pin };
  if (isPluginPath(storedActivation)) return { legacyPath: storedActivation };
  return { name: storedActivation };
}
