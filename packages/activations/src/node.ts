/**
 * Node-only plugin loading. Kept out of the main entry so that `@nladmm/activations` stays bundleable for
 * browsers.
 *
 * A plugin is code that runs with the rights of the user who loads it; nothing here sandboxes it. What the loader
 * guards against is a careless plugin: one whose module body never finishes (an endless loop, a top-level `await`
 * that never settles) or ends the process (`process.exit`). Each plugin is first vetted in a worker thread, which
 * imports it and calls its functions as the validation does, under a time limit; only a plugin that passed is
 * imported in the calling thread, validated and registered.
 *
 * The harness (file checks, hashing, the vetting worker, the time limits) is shared by every kind of plugin: a
 * {@link PluginKind} brings its noun for messages, its "exercise" routine (the validation's calls, run in the
 * worker) and how the vetted module is accepted in the calling thread. Activations are one kind
 * ({@link loadActivationPluginFile}); loss plugins (`@nladmm/losses/node`) are another.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Activation, type ActivationRegistry, DEFAULT_VALIDATION_GRID } from '@nladmm/core';

/** The time limit of loading a plugin when neither the caller nor NLADMM_PLUGIN_TIMEOUT_MS sets one. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 10_000;

/** The environment variable that sets the plugin time limit (in milliseconds). */
export const PLUGIN_TIMEOUT_ENV = 'NLADMM_PLUGIN_TIMEOUT_MS';

export interface PluginLoadOptions {
  /**
   * Time limit in milliseconds of the vetting (the import and the validation calls, in a worker thread) and, again,
   * of the import in the calling thread. Default: NLADMM_PLUGIN_TIMEOUT_MS, else {@link DEFAULT_PLUGIN_TIMEOUT_MS}.
   */
  readonly timeoutMs?: number;
  /** Refuse the file ({@link PluginHashMismatchError}) unless the sha256 of its bytes is this (hex); checked before any of it runs. */
  readonly sha256?: string;
}

/** A loaded plugin: the registered activation, the file's absolute path and the sha256 (hex) of its bytes. */
export interface LoadedPlugin {
  readonly activation: Activation;
  readonly path: string;
  readonly sha256: string;
}

/** The file is not the one expected: its content hash differs. */
export class PluginHashMismatchError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly actual: string,
    /** The kind of plugin, as messages name it (`activation`, `loss`). */
    readonly noun = 'activation',
  ) {
    super(`${noun} plugin ${path} has sha256 ${hashPrefix(actual)}, expected ${hashPrefix(expected)}`);
    this.name = 'PluginHashMismatchError';
  }
}

/** The first 12 hex digits of a hash and an ellipsis, as messages show it. */
export function hashPrefix(sha256: string): string {
  return `${sha256.slice(0, 12)}…`;
}

/** The sha256 (hex) of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The plugin time limit: NLADMM_PLUGIN_TIMEOUT_MS (a positive number of milliseconds) or the default. */
export function pluginTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[PLUGIN_TIMEOUT_ENV];
  if (text === undefined || text.trim() === '') return DEFAULT_PLUGIN_TIMEOUT_MS;
  const ms = Number(text);
  if (!(Number.isFinite(ms) && ms > 0)) throw new Error(`${PLUGIN_TIMEOUT_ENV} must be a positive number of milliseconds, got '${text}'`);
  return ms;
}

/** Reads a plugin file after checking that it is a readable file; errors name the kind and the resolved path. */
async function readPluginFile(absolutePath: string, noun: string): Promise<Uint8Array> {
  let isFile: boolean;
  try {
    isFile = (await stat(absolutePath)).isFile();
  } catch (err) {
    throw new Error(`${noun} plugin ${absolutePath} does not exist (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  if (!isFile) throw new Error(`${noun} plugin ${absolutePath} is not a file`);
  try {
    await access(absolutePath, constants.R_OK);
    return await readFile(absolutePath);
  } catch (err) {
    throw new Error(`${noun} plugin ${absolutePath} is not readable (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/** The sha256 (hex) of a plugin file's bytes (the file is only read); `noun` names the kind in errors. */
export async function pluginFileSha256(filePath: string, noun = 'activation'): Promise<string> {
  return sha256Hex(await readPluginFile(resolve(filePath), noun));
}

/**
 * A kind of plugin for {@link loadPluginFile}. The kind's validation runs in the calling thread ({@link accept});
 * the worker thread that vets the file first runs {@link exercise}, which must make the validation's calls, in its
 * order and at its points, without judging the values: the validation then makes no call that did not return in the
 * worker. A call that throws ends the calls (the validation would stop there too).
 */
export interface PluginKind<T> {
  /** The kind as messages name it: `activation` gives "activation plugin <path> …". */
  readonly noun: string;
  /**
   * The source text of a JavaScript function expression `(plugin, data) => void` (or `function (plugin, data) {…}`),
   * run in the worker on the module's default export with {@link exerciseData}. It may use only JavaScript builtins
   * (it is compiled from its text in the worker).
   */
  readonly exercise: string;
  /** The data handed to {@link exercise} (structured-cloneable, e.g. the validation's grid). */
  readonly exerciseData: unknown;
  /** The functions the calls of the validation exercise, for the time-out message, e.g. `sigma, dsigma, d2sigma`. */
  readonly calls: string;
  /**
   * Imports the vetted module (by `url`) in the calling thread, validates its default export and returns the plugin
   * (an activation registers it); errors name `source` (the file's path). Runs under the time limit too.
   */
  accept(url: string, source: string): Promise<T>;
}

/** A plugin of some kind loaded from a file: the plugin, the file's absolute path and the sha256 (hex) of its bytes. */
export interface LoadedPluginFile<T> {
  readonly plugin: T;
  readonly path: string;
  readonly sha256: string;
}

/**
 * The vetting worker (a CommonJS script, run with `eval`), with a kind's exercise routine in place of
 * `EXERCISE`. It records its phase and any process.exit call in shared memory (read by the parent whatever way the
 * worker ends), imports the plugin and runs the exercise on the default export.
 */
const VETTING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const state = new Int32Array(workerData.state);
const exit = process.exit;
process.exit = function (code) {
  Atomics.store(state, 1, 1);
  Atomics.store(state, 2, Number(code === undefined ? process.exitCode ?? 0 : code) | 0);
  return exit.call(process, code);
};
const exercise = (EXERCISE);
Atomics.store(state, 0, 1);
import(workerData.url).then(
  (mod) => {
    Atomics.store(state, 0, 2);
    if (mod.default === undefined) return parentPort.postMessage({ kind: 'no-default' });
    try {
      exercise(mod.default, workerData.data);
    } catch {}
    Atomics.store(state, 0, 3);
    parentPort.postMessage({ kind: 'ok' });
  },
  (err) => parentPort.postMessage({ kind: 'import-error', message: err instanceof Error ? err.message : String(err) }),
);
`;

function seconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toPrecision(3))} s` : `${Math.round(ms)} ms`;
}

type Vetting = { kind: 'ok' } | { kind: 'no-default' };

/**
 * Vets a plugin in a worker thread: resolves when the worker imported it and made the validation's calls; rejects
 * with one line on an import error, a time-out (the worker is terminated), an import that never settles (the
 * worker ends with its import pending) or a process.exit call (which ends only the worker).
 */
function vetInWorker(kind: PluginKind<unknown>, url: string, source: string, timeoutMs: number): Promise<Vetting> {
  const what = `${kind.noun} plugin ${source}`;
  return new Promise((resolvePromise, reject) => {
    const state = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    const flags = new Int32Array(state);
    let worker: Worker;
    try {
      // A function, not a string, as replacement: `$` sequences in the exercise's text stay as written.
      const script = VETTING_WORKER.replace('EXERCISE', () => kind.exercise);
      worker = new Worker(script, { eval: true, workerData: { url, state, data: kind.exerciseData }, stdout: true, stderr: true });
    } catch (err) {
      reject(new Error(`${what} could not be vetted: the worker thread did not start (${err instanceof Error ? err.message : String(err)})`));
      return;
    }
    // What the plugin prints while it is vetted is dropped (it prints again when it is imported for use).
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (result: Vetting | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate().catch(() => undefined);
      if (result instanceof Error) reject(result);
      else resolvePromise(result);
    };
    const timer = setTimeout(() => {
      const phase = Atomics.load(flags, 0) <= 1 ? 'its import' : `the calls of its validation (${kind.calls})`;
      finish(new Error(`${what} did not finish loading within ${seconds(timeoutMs)}: ${phase} did not return (an endless loop or a wait?); it was stopped (${PLUGIN_TIMEOUT_ENV} sets the limit in ms)`));
    }, timeoutMs);
    worker.on('message', (m: { kind: string; message?: string }) => {
      if (m.kind === 'import-error') finish(new Error(`${what} could not be loaded: ${m.message}`));
      else finish({ kind: m.kind } as Vetting);
    });
    worker.on('error', (err) => finish(new Error(`${what} could not be loaded: ${err instanceof Error ? err.message : String(err)}`)));
    worker.on('exit', (code) => {
      if (Atomics.load(flags, 1) === 1) finish(new Error(`${what} called process.exit(${Atomics.load(flags, 2)}) while it was loaded; a plugin must not end the process`));
      else if (Atomics.load(flags, 0) <= 1) finish(new Error(`${what} never finished loading: its module body waits on something that never settles (a top-level await?)`));
      else finish(new Error(`${what} ended its vetting thread (exit code ${code}) before it was loaded`));
    });
  });
}

/** A promise that rejects with `error` after `ms` unless `work` settles first (the timer is then cleared). */
async function withinTime<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Loads a plugin of some kind from an ES module file whose default export is the plugin: reads the file (and checks
 * its hash when `options.sha256` is given), vets it in a worker thread under the time limit (the kind's exercise),
 * then imports it here and accepts it (the kind's validation), under the time limit again. A relative `filePath` is
 * resolved against the current working directory. The module is imported by its file URL with the content hash as
 * query, so a file changed since an earlier load in this process is imported afresh.
 *
 * Errors (each one line naming the kind and the resolved path): a missing, non-file or unreadable path; a hash
 * mismatch ({@link PluginHashMismatchError}); `<noun> plugin <path> could not be loaded: <message>` for an error
 * thrown while the module evaluates; a module without a default export; a time-out, an import that never settles
 * or a process.exit call during the vetting; and whatever the kind's validation throws.
 */
export async function loadPluginFile<T>(kind: PluginKind<T>, filePath: string, options: PluginLoadOptions = {}): Promise<LoadedPluginFile<T>> {
  const absolutePath = resolve(filePath);
  const timeoutMs = options.timeoutMs ?? pluginTimeoutMs();
  const sha256 = sha256Hex(await readPluginFile(absolutePath, kind.noun));
  if (options.sha256 !== undefined && options.sha256.toLowerCase() !== sha256) throw new PluginHashMismatchError(absolutePath, options.sha256.toLowerCase(), sha256, kind.noun);
  const url = `${pathToFileURL(absolutePath).href}?sha256=${sha256}`;
  const vetted = await vetInWorker(kind, url, absolutePath, timeoutMs);
  if (vetted.kind === 'no-default') throw new Error(`${kind.noun} plugin ${absolutePath} has no default export`);
  const plugin = await withinTime(
    kind.accept(url, absolutePath),
    timeoutMs,
    () => new Error(`${kind.noun} plugin ${absolutePath} did not finish loading within ${seconds(timeoutMs)} (${PLUGIN_TIMEOUT_ENV} sets the limit in ms)`),
  );
  return { plugin, path: absolutePath, sha256 };
}

/**
 * The calls of core's `validateActivation`, in its order and at its points: its property reads, σ, σ′, σ″ on the
 * far tails and on the grid, and at u ± h.
 */
const EXERCISE_ACTIVATION = `function (a, grid) {
  void a.name;
  for (const fn of ['sigma', 'dsigma', 'd2sigma']) void a[fn];
  void (a.wgsl && a.wgsl.sigma);
  void (a.wgsl && a.wgsl.dsigma);
  const b = a.bounds;
  const L = [b.L0, b.L1, b.L2];
  void a.satisfiesAssumption1;
  const calls = (u) => { a.sigma(u); a.dsigma(u); a.d2sigma(u); };
  if (L.every(Number.isFinite)) for (const u of [-1e300, -1e6, -1e3, 1e3, 1e6, 1e300]) calls(u);
  const step = (2 * grid.range) / (grid.points - 1);
  const h = 1e-5;
  for (let p = 0; p < grid.points; p++) {
    const u = Number((-grid.range + p * step).toPrecision(12));
    calls(u);
    a.d2sigma(u);
    a.sigma(u + h); a.sigma(u - h);
    a.dsigma(u + h); a.dsigma(u - h);
  }
}`;

/** Activations as a {@link PluginKind}: validated and registered in `registry` (see {@link ActivationRegistry.registerModule}). */
export function activationPluginKind(registry: ActivationRegistry): PluginKind<Activation> {
  return {
    noun: 'activation',
    exercise: EXERCISE_ACTIVATION,
    exerciseData: DEFAULT_VALIDATION_GRID,
    calls: 'sigma, dsigma, d2sigma',
    accept: (url, source) => registry.registerModule(url, source),
  };
}

/**
 * Loads an activation plugin from an ES module file whose default export is an {@link Activation}: reads the file
 * (and checks its hash when `options.sha256` is given), vets it in a worker thread under the time limit, then
 * imports it here, validates it and registers it in `registry` (see {@link ActivationRegistry.registerModule}). A
 * relative `filePath` is resolved against the current working directory. The module is imported by its file URL
 * with the content hash as query, so a file changed since an earlier load in this process is imported afresh.
 *
 * Errors (each one line naming the resolved path): a missing, non-file or unreadable path; a hash mismatch
 * ({@link PluginHashMismatchError}); `activation plugin <path> could not be loaded: <message>` for an error thrown
 * while the module evaluates; a module without a default export; a time-out, an import that never settles or a
 * process.exit call during the vetting; and the `ActivationValidationError` naming the activation and the failed
 * check for a plugin that fails validation.
 */
export async function loadActivationPluginFile(registry: ActivationRegistry, filePath: string, options: PluginLoadOptions = {}): Promise<LoadedPlugin> {
  const { plugin, path, sha256 } = await loadPluginFile(activationPluginKind(registry), filePath, options);
  return { activation: plugin, path, sha256 };
}

/** {@link loadActivationPluginFile}, returning the activation alone. */
export async function loadActivationPlugin(registry: ActivationRegistry, filePath: string, options: PluginLoadOptions = {}): Promise<Activation> {
  return (await loadActivationPluginFile(registry, filePath, options)).activation;
}
