/**
 * What a model, a checkpoint or a run records about a plugin (an activation or a loss), and how a recorded plugin is
 * used again (eval, predict, --resume). Nothing recorded is ever loaded: a plugin is recorded by name and by the
 * sha256 of its file, and used only from a file given on the command line (--activation FILE, --loss FILE).
 */
import { resolve } from 'node:path';
import { hashPrefix, pluginFileSha256 } from '@nladmm/activations/node';
import { CliError, UsageError, messageOf } from './errors.ts';

/** Whether an --activation or --loss value is a plugin file rather than a built-in name. */
export function isPluginPath(value: string): boolean {
  return /[\\/]/.test(value) || /\.(m?js|ts|mts)$/i.test(value);
}

/** A plugin that was loaded: its absolute path (for information) and the sha256 of the file's bytes (hex). */
export interface PluginRef {
  readonly path: string;
  readonly sha256: string;
}

/** A kind of plugin as the command line names it. */
export interface PluginSubject {
  /** `activation` or `loss`: "the activation plugin 'x'", "the built-in loss 'squared'". */
  readonly noun: string;
  /** The option that gives it: `--activation`. */
  readonly flag: string;
  /** The built-in names (need no file). */
  readonly builtins: ReadonlySet<string>;
}

/** What is recorded about one plugin-capable choice (activation or loss). */
export interface RecordedPlugin {
  /** The name (unknown for a run recorded by an older nladmm with a plugin path only). */
  readonly name?: string;
  /** The sha256 (hex) of the plugin file's bytes; absent for a built-in. */
  readonly sha256?: string;
  /** A plugin path recorded, without a hash, by an older nladmm: shown in messages, never imported. */
  readonly legacyPath?: string;
}

/** Whether a record came from a plugin (anything but a built-in name). */
export function recordsPluginOf(subject: PluginSubject, r: RecordedPlugin): boolean {
  return r.sha256 !== undefined || r.legacyPath !== undefined || r.name === undefined || !subject.builtins.has(r.name);
}

function describePlugin(subject: PluginSubject, r: RecordedPlugin): string {
  const name = r.name !== undefined ? ` '${r.name}'` : '';
  if (r.sha256 !== undefined) return `the ${subject.noun} plugin${name} (sha256 ${hashPrefix(r.sha256)})`;
  if (r.legacyPath !== undefined) return `the ${subject.noun} plugin${name} from ${r.legacyPath} (recorded without a hash by an older nladmm)`;
  return `the ${subject.noun}${name}, which is not built in`;
}

/**
 * The value to use with a record (eval, predict, --resume), from the flag given (`flag`, a built-in name or a plugin
 * file, relative to `cwd`). A built-in record needs nothing; `override` allows another choice for it (eval, predict),
 * otherwise only the same name (a resume). A plugin record needs the plugin's file: without one, or with a file whose
 * sha256 differs from the recorded one, it is refused with one line naming `what` (the model or run), the plugin and
 * the hashes. The hash is checked before any of the file runs. Returns the value to resolve and the hash to expect.
 */
export async function pluginForRecord(subject: PluginSubject, recorded: RecordedPlugin, flag: string | undefined, cwd: string, what: string, override: boolean): Promise<{ value: string; sha256?: string }> {
  const option = subject.flag;
  if (!recordsPluginOf(subject, recorded)) {
    const name = recorded.name as string;
    if (flag === undefined || flag === name) return { value: name };
    if (!override) throw new UsageError(`${option} cannot change when resuming: ${what} uses the built-in ${subject.noun} '${name}'`);
    return { value: isPluginPath(flag) ? resolve(cwd, flag) : flag };
  }
  const plugin = describePlugin(subject, recorded);
  if (flag === undefined) throw new CliError(`${what} was trained with ${plugin}; nladmm never runs code named by a model or run: pass that plugin's file with ${option} FILE`);
  if (!isPluginPath(flag)) throw new CliError(`${option} ${flag}: ${what} was trained with ${plugin}; pass that plugin's file with ${option} FILE`);
  const path = resolve(cwd, flag);
  if (recorded.sha256 === undefined) return { value: path };
  let actual: string;
  try {
    actual = await pluginFileSha256(path, subject.noun);
  } catch (err) {
    throw new CliError(`${option}: ${messageOf(err)}`);
  }
  if (actual !== recorded.sha256) {
    throw new CliError(`${option} ${path}: its sha256 ${hashPrefix(actual)} does not match ${what}, trained with the plugin${recorded.name !== undefined ? ` '${recorded.name}'` : ''} of sha256 ${hashPrefix(recorded.sha256)} (a different or modified file)`);
  }
  return { value: path, sha256: recorded.sha256 };
}

/** After loading: a plugin given for a plugin record must be the recorded one (by name). */
export function checkRecordedPluginName(subject: PluginSubject, recorded: RecordedPlugin, loadedName: string, what: string, source: string): void {
  if (recordsPluginOf(subject, recorded) && recorded.name !== undefined && loadedName !== recorded.name) {
    throw new CliError(`${subject.flag} ${source} is the ${subject.noun} '${loadedName}', but ${what} was trained with '${recorded.name}'`);
  }
}

/**
 * What a run's (or a comparison's) config.json records about a plugin: `nladmm.<key>` ({ name, sha256, path }; a
 * path string from an older nladmm) and the stored option value.
 */
export function runPluginRecord(nladmm: unknown, key: string, storedValue: string, configPath: string): RecordedPlugin {
  const pin = (nladmm as Record<string, unknown> | undefined)?.[key];
  if (pin !== undefined && pin !== null && typeof pin === 'object') {
    const { name, sha256 } = pin as { name?: unknown; sha256?: unknown };
    if (typeof name !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new CliError(`${configPath}: nladmm.${key} is not { name, sha256 }`);
    return { name, sha256 };
  }
  if (typeof pin === 'string') return { legacyPath: pin };
  if (isPluginPath(storedValue)) return { legacyPath: storedValue };
  return { name: storedValue };
}
