/** `nladmm eval` and `nladmm predict`: use a saved model on a data set. */
import { existsSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { type Activation, type HostMatrix, type Loss, type Precision, lossAndAccuracy } from '@nladmm/core';
import { type OptionSpec, type ParsedOptions, formatOptions, parseArgs } from '../args.ts';
import { activationForRecord, checkRecordedName, resolveActivation } from '../activations.ts';
import { DEFAULT_LOSS, checkLossTargets, checkRecordedLossName, lossForRecord, resolveLoss } from '../losses.ts';
import { type BackendChoice, backendOption, createBackend, threadsOption } from '../backends.ts';
import { type CliContext, noticePrinter } from '../context.ts';
import { type DataOptions, type Samples, first, readSamples, toInputMatrix, toTargetMatrix } from '../data/datasets.ts';
import { encodeNpy } from '../data/npy.ts';
import { CliError, DataError, UsageError } from '../errors.ts';
import { lossNameSuffix, percent, sci } from '../format.ts';
import { forward } from '../forward.ts';
import { type InputFile, checkOutputFile, writeOutputFile } from '../io/files.ts';
import { type ModelFile, readModel } from '../io/model.ts';
import { DATA_OPTIONS, DEFAULTS, optionsFromJson } from '../trainOptions.ts';

const COMMON: readonly OptionSpec[] = [
  { name: 'split', type: 'string', placeholder: 'WHICH', choices: ['train', 'test', 'all'], description: 'which part of the data set to use', group: 'Model' },
  { name: 'activation', type: 'string', placeholder: 'NAME|FILE', description: "the plugin file of a model trained with a plugin (its sha256 must be the recorded one; a model never loads code itself), or another activation for a model with a built-in one", group: 'Model' },
  backendOption('Model'),
  { name: 'precision', type: 'string', placeholder: 'P', choices: ['f64', 'f32'], description: 'backend precision', defaultText: "the model's", group: 'Model' },
  threadsOption('Model'),
  { name: 'debug', type: 'boolean', description: 'print stack traces of errors', group: 'Model' },
  ...DATA_OPTIONS,
];

export const EVAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'json', type: 'boolean', description: 'print the results as JSON', group: 'Model' },
  { name: 'loss', type: 'string', placeholder: 'NAME|FILE', description: "the plugin file of a model trained with a loss plugin (its sha256 must be the recorded one), or another built-in loss for a model with a built-in one", defaultText: "the model's", group: 'Model' },
  ...COMMON,
];
export const PREDICT_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', type: 'string', placeholder: 'FILE', description: 'where to write the predictions: .csv, .npy, or - for CSV on stdout', group: 'Model' },
  { name: 'labels-only', type: 'boolean', description: 'write only the predicted class of each sample', group: 'Model' },
  { name: 'force', type: 'boolean', description: 'overwrite an existing --out file (never one of the inputs: the model, data, labels or plugin)', group: 'Model' },
  ...COMMON,
];

export const EVAL_HELP = `Usage: nladmm eval MODEL|RUN_DIR [options]

Loads a model (model.safetensors or checkpoint.safetensors, or a run directory) and reports its loss
n⁻¹ Σ_c ℓ(Φ(x_c; W); y_c) (the loss it was trained with: ½n⁻¹‖Φ(X; W) − Y‖² for the squared loss) and, for classes,
the accuracy. Without data options it uses the run's own data (training and test sets, as in training, so the
numbers equal the run's final metrics).

Examples:
  nladmm eval runs/fashion                       # the run's training and test sets
  nladmm eval runs/fashion/model.safetensors --split test --json
  nladmm eval model.safetensors --dataset test.csv --label-column label
${formatOptions(EVAL_OPTIONS)}
`;

export const PREDICT_HELP = `Usage: nladmm predict MODEL|RUN_DIR --out FILE.csv|FILE.npy [options]

Writes the network's outputs Φ(X; W) for each sample: CSV (one row per sample; for classes a 'prediction'
column with the arg-max first) or .npy (n × d_N float64, or n int32 classes with --labels-only). Labels in the
data are not needed (a CSV may lack its label column). The file is written atomically; an existing one is
replaced only with --force, and never one of the command's inputs (the model, data, labels or plugin, also
through a symbolic or hard link).

Examples:
  nladmm predict runs/fashion --split test --out predictions.csv
  nladmm predict model.safetensors --dataset new.npy --out outputs.npy
${formatOptions(PREDICT_OPTIONS)}
`;

/** A model path, or a run directory holding model.safetensors (or at least a checkpoint). */
export function modelPath(arg: string, cwd: string): string {
  const path = resolve(cwd, arg);
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const name of ['model.safetensors', 'checkpoint.safetensors']) if (existsSync(join(path, name))) return join(path, name);
    throw new CliError(`${path}: no model.safetensors or checkpoint.safetensors in this directory`);
  }
  return path;
}

const DATA_KEYS = new Set(DATA_OPTIONS.map((s) => s.name));

/** The data options: the run's (from the model's metadata) unless any data option is given. */
function dataOptions(model: ModelFile, flags: ParsedOptions): DataOptions {
  const given = Object.keys(flags).some((k) => DATA_KEYS.has(k));
  let o: ParsedOptions;
  if (given) o = { ...DEFAULTS, ...flags };
  else {
    if (!model.options) throw new UsageError(`${model.path} records no data set: give --dataset`);
    o = { ...DEFAULTS, ...optionsFromJson(model.options as Record<string, unknown>, model.path) };
  }
  return {
    dataset: o.dataset as string,
    dataDir: o['data-dir'] as string | undefined,
    labels: o.labels as string | undefined,
    testDataset: o['test-dataset'] as string | undefined,
    testLabels: o['test-labels'] as string | undefined,
    labelColumn: o['label-column'] as string | undefined,
    csvHeader: o['csv-header'] as DataOptions['csvHeader'],
    delimiter: o.delimiter as string,
    targets: o.targets as DataOptions['targets'],
    scale: o.scale as DataOptions['scale'],
    testSplit: o['test-split'] as number,
    nTrain: o['n-train'] as number | undefined,
    nTest: o['n-test'] as number | undefined,
    dataSeed: o['data-seed'] as number,
    teacherLayers: o['teacher-layers'] as number[] | undefined,
    layers: model.layers,
  };
}

interface EvalSet {
  readonly name: string;
  readonly x: HostMatrix;
  readonly y?: HostMatrix;
}

async function loadSets(model: ModelFile, flags: ParsedOptions, activation: Activation, requireLabels: boolean, defaultSplit: 'all' | 'test'): Promise<EvalSet[]> {
  const o = dataOptions(model, flags);
  if (o.dataset === undefined) throw new UsageError('give --dataset (or a model that records its run)');
  const raw = await readSamples(o, activation, requireLabels);
  // predict defaults to the test part when there is one; eval to everything.
  const split = (flags.split as string | undefined) ?? (defaultSplit === 'test' && raw.test ? 'test' : 'all');
  const parts: { name: string; samples: Samples; limit?: number }[] = [];
  if (split !== 'test') parts.push({ name: raw.test ? 'train' : 'data', samples: raw.train, limit: o.nTrain });
  if (split !== 'train' && raw.test) parts.push({ name: 'test', samples: raw.test, limit: o.nTest });
  if (parts.length === 0) throw new UsageError(`--split test: the data set has no test part`);
  const d0 = model.layers[0];
  return parts.map(({ name, samples, limit }) => {
    if (samples.d !== d0) throw new DataError(samples.source, `has ${samples.d} features but the model expects d_0 = ${d0}`);
    const synthetic = ['square', 'product', 'teacher'].includes(o.dataset);
    const s = limit !== undefined && limit > 0 && !synthetic && limit < samples.n ? first(samples, limit) : samples;
    const x = toInputMatrix(s, model.preprocessing);
    const y = s.labels ? toTargetMatrix(s, model.targets) : undefined;
    if (requireLabels && !y) throw new DataError(s.source, 'has no labels to evaluate against');
    return { name, x, y };
  });
}

/**
 * The model, its activation and a backend; with `withLoss` (eval) also its loss: the recorded one (squared when the
 * model records none), a plugin only from the file given with --loss, if its hash is the recorded one.
 */
async function loadForUse(arg: string | undefined, flags: ParsedOptions, ctx: CliContext, command: string, withLoss = false) {
  if (!arg) throw new UsageError(`give a model file or run directory (see nladmm ${command} --help)`);
  const threads = flags.threads as number | undefined;
  if (threads !== undefined && threads < 1) throw new UsageError(`--threads must be an integer ≥ 1, got ${threads}`);
  // Refuses a model with a NaN or infinite weight before anything else is loaded.
  const model = await readModel(modelPath(arg, ctx.cwd));
  // The model's activation by name; a plugin only from the file given with --activation, if its hash is the recorded one.
  const recorded = { name: model.activation, sha256: model.activationSha256, legacyPath: model.activationPlugin };
  const chosen = await activationForRecord(recorded, flags.activation as string | undefined, ctx.cwd, model.path, true);
  const { activation } = await resolveActivation(chosen.value, chosen.sha256);
  checkRecordedName(recorded, activation, model.path, chosen.value);
  let loss: Loss | undefined;
  if (withLoss) {
    const recordedLoss = { name: model.loss ?? DEFAULT_LOSS, sha256: model.lossSha256 };
    const chosenLoss = await lossForRecord(recordedLoss, flags.loss as string | undefined, ctx.cwd, model.path, true);
    loss = (await resolveLoss(chosenLoss.value, chosenLoss.sha256)).loss;
    checkRecordedLossName(recordedLoss, loss, model.path, chosenLoss.value);
  }
  const backend = await createBackend((flags.backend as BackendChoice | undefined) ?? 'auto', (flags.precision as Precision | undefined) ?? model.precision, { threads, notice: noticePrinter(ctx, command, false) });
  await backend.prepareActivation(activation);
  return { model, activation, backend, loss };
}

export async function evalCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options: flags, positionals } = parseArgs(argv, EVAL_OPTIONS, 'eval');
  if (flags.help) {
    ctx.stdout(EVAL_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const { model, activation, backend, loss: chosenLoss } = await loadForUse(positionals[0], flags, ctx, 'eval', true);
  const loss = chosenLoss!;
  try {
    const sets = await loadSets(model, flags, activation, true, 'all');
    checkLossTargets(loss, sets, model.targets.kind !== 'onehot', flags.loss !== undefined ? `--loss ${loss.name}` : `the ${loss.name} loss of ${model.path}`);
    const results = [];
    // The squared loss of regression outputs, for the MSE shown with another loss.
    const squared: number[] = [];
    for (const set of sets) {
      const out = await forward(backend, model.weights, model.bias, activation, set.x);
      const r = lossAndAccuracy(out, set.y!, model.targets.kind === 'onehot', loss);
      if (!Number.isFinite(r.loss)) throw new CliError(`${model.path}: the loss on the ${set.name} samples is ${r.loss} (the network's outputs are not finite)`);
      results.push({ set: set.name, samples: set.x.cols, loss: r.loss, ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}) });
      squared.push(loss.quadratic ? r.loss : lossAndAccuracy(out, set.y!, false).loss);
    }
    if (flags.json) {
      ctx.stdout(`${JSON.stringify({ model: model.path, iteration: model.iteration, layers: model.layers, activation: activation.name, lossFunction: loss.name, results }, null, 2)}\n`);
      return 0;
    }
    const lines = [`model ${model.path}: ${model.layers.join('-')} ${activation.name}, iteration ${model.iteration}${loss.name !== DEFAULT_LOSS ? `, loss ${loss.name}` : ''}`];
    for (const [k, r] of results.entries()) {
      const outputs = model.layers[model.layers.length - 1];
      // The mean loss n⁻¹ Σ ℓ is "loss" (named unless squared, as train and compare print it); the MSE is shown only
      // beside another loss on regression outputs, where it is a different error.
      const extra = r.accuracy !== undefined ? `  accuracy ${percent(r.accuracy)}` : loss.name === DEFAULT_LOSS ? '' : `  MSE ${sci((2 * squared[k]) / outputs)}`;
      lines.push(`${r.set.padEnd(5)} ${String(r.samples).padStart(7)} samples  loss${lossNameSuffix(loss.name)} ${sci(r.loss, 6)}${extra}`);
    }
    ctx.stdout(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    backend.dispose();
  }
}

/** Every file predict reads (the model, data, labels, IDX folder, plugin), which --out must never be. */
function predictInputs(model: ModelFile, flags: ParsedOptions, cwd: string): InputFile[] {
  const o = dataOptions(model, flags);
  const inputs: InputFile[] = [{ path: model.path, what: 'model' }];
  const add = (p: string | undefined, what: string) => {
    if (p === undefined) return;
    // Data paths given on this command line are relative to its folder (a model's are absolute).
    for (const path of new Set([resolve(cwd, p), resolve(p)])) inputs.push({ path, what });
  };
  add(o.dataset, 'data set');
  add(o.dataDir ?? (['fashion-mnist', 'mnist'].includes(o.dataset) ? `/usr/share/datasets/${o.dataset}` : undefined), 'data folder');
  add(o.labels, 'labels file');
  add(o.testDataset, 'test data set');
  add(o.testLabels, 'test labels file');
  add(flags.activation as string | undefined, 'activation plugin');
  add(model.activationPlugin, 'activation plugin');
  return inputs;
}

export async function predictCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options: flags, positionals } = parseArgs(argv, PREDICT_OPTIONS, 'predict');
  if (flags.help) {
    ctx.stdout(PREDICT_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const out = flags.out as string | undefined;
  if (!out) throw new UsageError('--out FILE.csv|FILE.npy is required (or --out - for CSV on stdout)');
  const format = out === '-' ? 'csv' : extname(out).toLowerCase().slice(1);
  if (format !== 'csv' && format !== 'npy') throw new UsageError(`--out ${out}: the extension must be .csv or .npy`);
  const { model, activation, backend } = await loadForUse(positionals[0], flags, ctx, 'predict');
  try {
    const force = flags.force === true;
    const outPath = out === '-' ? undefined : resolve(ctx.cwd, out);
    const inputs = outPath ? predictInputs(model, flags, ctx.cwd) : [];
    // Before any computation: never onto an input, and onto an existing file only with --force.
    if (outPath) await checkOutputFile(outPath, inputs, force);
    const sets = await loadSets(model, flags, activation, false, 'test');
    const onehot = model.targets.kind === 'onehot';
    const labelsOnly = flags['labels-only'] === true;
    if (labelsOnly && !onehot) throw new UsageError('--labels-only needs a classification model (one-hot targets)');
    const outputs = model.layers[model.layers.length - 1];
    const rows: { scores: Float64Array; n: number }[] = [];
    for (const set of sets) rows.push({ scores: await forward(backend, model.weights, model.bias, activation, set.x), n: set.x.cols });
    // No prediction file with a NaN or infinite output (the weights are finite; an output can still overflow).
    for (const [k, r] of rows.entries()) {
      const bad = r.scores.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new CliError(`${model.path}: output ${Math.floor(bad / r.n)} of ${sets[k].name} sample ${bad % r.n} is ${r.scores[bad]} (nothing written)`);
    }
    const n = rows.reduce((a, r) => a + r.n, 0);
    // Outputs per sample (n × d_N, sample-major) and the arg-max classes.
    const scores = new Float64Array(n * outputs);
    const classes = new Int32Array(n);
    let at = 0;
    for (const r of rows) {
      for (let s = 0; s < r.n; s++, at++) {
        let best = 0;
        for (let c = 0; c < outputs; c++) {
          const v = r.scores[c * r.n + s];
          scores[at * outputs + c] = v;
          if (v > r.scores[best * r.n + s]) best = c;
        }
        classes[at] = best;
      }
    }
    let bytes: Uint8Array | string;
    if (format === 'npy') bytes = labelsOnly ? encodeNpy([n], classes, '<i4') : encodeNpy([n, outputs], scores, '<f8');
    else {
      const header = [...(onehot ? ['prediction'] : []), ...(labelsOnly ? [] : Array.from({ length: outputs }, (_, c) => `output_${c}`))];
      const lines = [header.join(',')];
      for (let s = 0; s < n; s++) {
        const cells: (string | number)[] = onehot ? [classes[s]] : [];
        if (!labelsOnly) for (let c = 0; c < outputs; c++) cells.push(String(scores[s * outputs + c]));
        lines.push(cells.join(','));
      }
      bytes = `${lines.join('\n')}\n`;
    }
    if (!outPath) ctx.stdout(bytes as string);
    else {
      const path = outPath;
      await writeOutputFile(path, bytes, inputs, force);
      ctx.stdout(`wrote ${n} predictions (${sets.map((s) => `${s.name} ${s.x.cols}`).join(', ')}) to ${path}\n`);
    }
    return 0;
  } finally {
    backend.dispose();
  }
}
