/**
 * Node-only loss plugin loading. Kept out of the main entry so that `@nladmm/losses` stays bundleable for browsers.
 *
 * A loss plugin is an ES module whose default export is a {@link Loss}. It is loaded by the plugin harness of
 * `@nladmm/activations/node` (file checks, sha256, vetting in a worker thread under the time limit, a guard against
 * process.exit): the worker first makes the calls of core's {@link validateLoss} (the exercise below), and only a
 * plugin whose calls all returned is imported in the calling thread and validated. A plugin is code that runs with
 * the rights of the user who loads it; nothing here sandboxes it.
 */
import { type Loss, DEFAULT_LOSS_VALIDATION, LOSS_VALIDATION_SEED, LossValidationError, validateLoss, validationStream, validationTargets } from '@nladmm/core';
import { type PluginKind, type PluginLoadOptions, loadPluginFile } from '@nladmm/activations/node';
import { builtinLoss } from './index.ts';

/** A loaded loss plugin: the validated loss, the file's absolute path and the sha256 (hex) of its bytes. */
export interface LoadedLossPlugin {
  readonly loss: Loss;
  readonly path: string;
  readonly sha256: string;
}

/**
 * The calls of core's `validateLoss` (packages/core/src/loss.ts), in its order and at its points: its property reads;
 * core's own seeded sample stream and candidate targets (their source text, `validationStream`, `validationTargets`)
 * filtered by checkTarget; the columns v; then for every target and
 * column value(v), gradient(v), value(v ± h e_i) for each coordinate, value at the next column, newtonSolve(v, β = 0.7)
 * with a fresh r, and gradient(v ± ε s). Keep it in step with validateLoss: a call the validation makes that is not
 * made here is not covered by the time limit.
 */
const EXERCISE_LOSS = `function (f, samples) {
  void f.name;
  for (const fn of ['value', 'gradient', 'newtonSolve']) void f[fn];
  void f.checkTarget;
  const w = f.wgsl;
  void (w && w.value); void (w && w.gradient); void (w && w.newtonSolve);
  void f.smoothness;
  void f.quadratic;
  const d = samples.width;
  const validationStream = ${validationStream.toString()};
  const validationTargets = ${validationTargets.toString()};
  const next = validationStream(${LOSS_VALIDATION_SEED});
  const candidates = validationTargets(d, next);
  const targets = candidates.filter((y) => (f.checkTarget === undefined || f.checkTarget === null ? undefined : f.checkTarget(y)) === undefined);
  const columns = Array.from({ length: samples.points }, () => Float64Array.from({ length: d }, () => samples.scale * next()));
  const h = 1e-5;
  const beta = 0.7;
  for (const y of targets) {
    for (let p = 0; p < columns.length; p++) {
      const v = columns[p];
      f.value(v, y);
      f.gradient(v, y, new Float64Array(d));
      for (let i = 0; i < d; i++) {
        const plus = Float64Array.from(v);
        const minus = Float64Array.from(v);
        plus[i] += h;
        minus[i] -= h;
        f.value(plus, y);
        f.value(minus, y);
      }
      f.value(columns[(p + 1) % columns.length], y);
      const r = Float64Array.from({ length: d }, () => next());
      const s = new Float64Array(d);
      f.newtonSolve(v, y, beta, r, s);
      let sNorm = 0;
      for (let i = 0; i < d; i++) sNorm += s[i] * s[i];
      sNorm = Math.sqrt(sNorm);
      const eps = 1e-5 / Math.max(1, sNorm);
      f.gradient(Float64Array.from(v, (x, i) => x + eps * s[i]), y, new Float64Array(d));
      f.gradient(Float64Array.from(v, (x, i) => x - eps * s[i]), y, new Float64Array(d));
    }
  }
}`;

/** Imports a vetted loss module and validates its default export; errors name the plugin file. */
async function acceptLoss(url: string, source: string): Promise<Loss> {
  let mod: { default?: unknown };
  try {
    mod = (await import(/* @vite-ignore */ url)) as { default?: unknown };
  } catch (err) {
    throw new Error(`loss plugin ${source} could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (mod.default === undefined) throw new Error(`loss plugin ${source} has no default export`);
  let loss: Loss;
  try {
    loss = validateLoss(mod.default);
  } catch (err) {
    if (err instanceof LossValidationError) err.message += ` (plugin ${source})`;
    throw err;
  }
  if (builtinLoss(loss.name)) throw new Error(`loss plugin ${source} is named '${loss.name}', the name of a built-in loss: a plugin needs a name of its own`);
  return loss;
}

/** Loss plugins as a kind of the shared plugin harness. */
export const lossPluginKind: PluginKind<Loss> = {
  noun: 'loss',
  exercise: EXERCISE_LOSS,
  exerciseData: DEFAULT_LOSS_VALIDATION,
  calls: 'value, gradient, newtonSolve',
  accept: acceptLoss,
};

/**
 * Loads a loss plugin from an ES module file whose default export is a {@link Loss}: reads the file (and checks its
 * hash when `options.sha256` is given), vets it in a worker thread under the time limit (NLADMM_PLUGIN_TIMEOUT_MS,
 * default 10 s), then imports it here and validates it with core's {@link validateLoss}. Errors are one line naming
 * the resolved path: those of the harness (`loss plugin <path> could not be loaded: …`, a time-out, a process.exit
 * call, no default export, a hash mismatch), a `LossValidationError` naming the loss, the failed check and the
 * plugin, or a name that is a built-in loss's.
 */
export async function loadLossPluginFile(filePath: string, options: PluginLoadOptions = {}): Promise<LoadedLossPlugin> {
  const { plugin, path, sha256 } = await loadPluginFile(lossPluginKind, filePath, options);
  return { loss: plugin, path, sha256 };
}

/** {@link loadLossPluginFile}, returning the loss alone. */
export async function loadLossPlugin(filePath: string, options: PluginLoadOptions = {}): Promise<Loss> {
  return (await loadLossPluginFile(filePath, options)).loss;
}
