/**
 * The options of `nladmm train`: their specs (shared by the command line, JSON configs and the help), the
 * presets, and the resolution defaults < preset < --config file < command-line flags.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type OptionSpec, type OptionValue, type ParsedOptions, camelToKebab, coerce, suggest } from './args.ts';
import { type BackendChoice, backendOption, defaultThreads, mayUseBlas, threadsOption } from './backends.ts';
import type { DataOptions } from './data/datasets.ts';
import { UsageError } from './errors.ts';
import { readFailure } from './io/files.ts';

const DATA = 'Data';
const MODEL = 'Model and Algorithm 1';
const STOP = 'Stopping';
const RUN = 'Run';

/** Options that choose and shape the data set (shared with eval/predict). */
export const DATA_OPTIONS: readonly OptionSpec[] = [
  { name: 'dataset', type: 'string', group: DATA, placeholder: 'NAME|FILE', inputPath: true, description: 'fashion-mnist, mnist, square, product, teacher, or a .csv / .npy / IDX file' },
  { name: 'data-dir', type: 'string', group: DATA, placeholder: 'DIR', inputPath: true, description: 'folder of the IDX files of fashion-mnist / mnist', defaultText: '/usr/share/datasets/<name>' },
  { name: 'labels', type: 'string', group: DATA, placeholder: 'FILE', inputPath: true, description: 'labels or targets (.npy / IDX) for a .npy / IDX --dataset' },
  { name: 'test-dataset', type: 'string', group: DATA, placeholder: 'FILE', inputPath: true, description: 'a held-out test file in the same format' },
  { name: 'test-labels', type: 'string', group: DATA, placeholder: 'FILE', inputPath: true, description: 'labels of --test-dataset' },
  { name: 'label-column', type: 'string', group: DATA, placeholder: 'COL', description: 'CSV: label column, a 0-based index (negative counts from the end) or a header name', defaultText: 'last column' },
  { name: 'csv-header', type: 'string', group: DATA, placeholder: 'MODE', choices: ['auto', 'yes', 'no'], description: 'CSV: whether the first line is a header', defaultText: 'auto' },
  { name: 'delimiter', type: 'string', group: DATA, placeholder: 'CHAR', description: 'CSV: cell delimiter', defaultText: ',' },
  { name: 'targets', type: 'string', group: DATA, placeholder: 'KIND', choices: ['auto', 'onehot', 'raw'], description: 'one-hot class targets or raw regression targets (auto: one-hot when the labels are integers and d_N > 1)', defaultText: 'auto' },
  { name: 'scale', type: 'string', group: DATA, placeholder: 'KIND', choices: ['auto', 'none', 'unit', 'standard'], description: 'input scaling: unit = [0,1] (÷255 for bytes, else min-max), standard = zero mean, unit variance (statistics of the training set)', defaultText: 'auto: unit for images, none otherwise' },
  { name: 'test-split', type: 'number', group: DATA, placeholder: 'FRACTION', description: 'hold out this fraction of a file data set as the test set (shuffled with --data-seed)', defaultText: '0' },
  { name: 'n-train', type: 'integer', group: DATA, placeholder: 'N', description: 'use the first N training samples (synthetic: draw N)' },
  { name: 'n-test', type: 'integer', group: DATA, placeholder: 'N', description: 'use the first N test samples (synthetic: draw N; 0: no test set)' },
  { name: 'data-seed', type: 'integer', group: DATA, placeholder: 'N', description: 'seed of synthetic data and of --test-split', defaultText: '2024' },
  { name: 'teacher-layers', type: 'integers', group: DATA, placeholder: 'D0,…,DN', description: 'teacher: widths of the random teacher network', defaultText: '--layers' },
];

export const TRAIN_OPTIONS: readonly OptionSpec[] = [
  { name: 'preset', type: 'string', group: RUN, placeholder: 'NAME', choices: ['fashion-mnist', 'fashion-mnist-best', 'paper-square', 'paper-product', 'theory'], description: 'start from a preset (flags override it)', defaultText: 'fashion-mnist when no --dataset is given' },
  { name: 'config', type: 'string', group: RUN, placeholder: 'FILE.json', cliOnly: true, description: 'read options from a JSON file (keys are option names; flags override it; a UTF-8 byte order mark is skipped)' },
  { name: 'resume', type: 'string', group: RUN, placeholder: 'RUN_DIR', cliOnly: true, description: 'continue the run in RUN_DIR from its checkpoint, whose checksums and options are verified (only stopping and output options and --threads may change)' },
  { name: 'out', type: 'string', group: RUN, placeholder: 'DIR', description: 'run directory (must not exist or be empty)', defaultText: 'runs/<timestamp>-<name>' },
  backendOption(RUN),
  { name: 'precision', type: 'string', group: RUN, placeholder: 'P', choices: ['f64', 'f32'], description: 'storage precision of the backend', defaultText: 'f64' },
  threadsOption(RUN, "; a resume keeps the run's count unless given (blas results are bit-identical only for the same count)"),
  { name: 'metrics-every', type: 'integer', group: RUN, placeholder: 'M', description: 'evaluate and log the metrics every M iterations (and at the first and last)', defaultText: '1' },
  { name: 'checkpoint-every', type: 'integer', group: RUN, placeholder: 'M', description: 'write checkpoint.safetensors every M iterations (and on exit)', defaultText: '10' },
  { name: 'plots', type: 'boolean', group: RUN, description: 'write the plots at the end (--no-plots to skip)', defaultText: 'true' },
  { name: 'quiet', type: 'boolean', group: RUN, cliOnly: true, description: 'no progress output' },
  { name: 'debug', type: 'boolean', group: RUN, cliOnly: true, description: 'print stack traces of errors' },
  ...DATA_OPTIONS,
  { name: 'optimizer', type: 'string', group: MODEL, placeholder: 'NAME', choices: ['admm', 'gd', 'sgd', 'adam'], description: 'admm (Algorithm 1), or a backpropagation baseline: gd (full batch) or sgd (mini-batch), both with momentum, or adam (full batch, or mini-batch with --batch-size)', defaultText: 'admm' },
  { name: 'learning-rate', type: 'number', group: MODEL, placeholder: 'ETA', description: 'gd/sgd/adam: step size η > 0', defaultText: '0.1 (adam: 1e-3)' },
  { name: 'momentum', type: 'number', group: MODEL, placeholder: 'MU', description: 'gd/sgd: heavy-ball momentum μ in [0, 1)', defaultText: '0 for gd, 0.9 for sgd' },
  { name: 'batch-size', type: 'integer', group: MODEL, placeholder: 'B', description: 'sgd: mini-batch size (required for sgd; gd uses the full batch)' },
  { name: 'layers', type: 'integers', group: MODEL, placeholder: 'D0,…,DN', description: 'widths d_0 (inputs) … d_N (outputs), at least one hidden layer' },
  { name: 'activation', type: 'string', group: MODEL, placeholder: 'NAME|FILE', description: 'hidden activation: sigmoid, tanh, atan, softplus, silu (these two lie outside Assumption 1: σ unbounded; they need --step-rule authors), or a plugin .mjs file', defaultText: 'sigmoid' },
  { name: 'loss', type: 'string', group: MODEL, placeholder: 'NAME|FILE', description: "loss ℓ(V_N; Y): squared (the paper's ½‖V_N − Y‖²), cross-entropy (softmax; one-hot targets), or a plugin .mjs file", defaultText: 'squared' },
  { name: 'beta', type: 'numbers', group: MODEL, placeholder: 'B|B1,…,BN', description: 'penalty β, one value or one per layer', defaultText: '1' },
  { name: 'beta-factor', type: 'number', group: MODEL, placeholder: 'F', description: 'β schedule (with --beta-every and --beta-cap, all three or none): multiply every β by F > 0 every M iterations' },
  { name: 'beta-every', type: 'integer', group: MODEL, placeholder: 'M', description: 'β schedule: iterations between two multiplications (an integer ≥ 1)' },
  { name: 'beta-cap', type: 'number', group: MODEL, placeholder: 'C', description: 'β schedule: the largest β (≥ the largest --beta)' },
  { name: 'lambda', type: 'number', group: MODEL, placeholder: 'L', description: 'weight decay λ > 0 of (5)', defaultText: '1e-4' },
  { name: 'theory-parameters', type: 'boolean', group: MODEL, description: 'replace β and λ by the smallest values meeting (42)-(45) of Theorem 3 for the data and W^0 (see nladmm theory --suggest); --beta and --lambda flags are then refused', defaultText: 'false' },
  { name: 'bias', type: 'boolean', group: MODEL, description: 'biases in every layer (--no-bias to drop them)', defaultText: 'true' },
  { name: 'step-rule', type: 'string', group: MODEL, placeholder: 'RULE', choices: ['paper', 'authors'], description: "proximal step rule: the paper's (22) or the authors' code's", defaultText: 'paper' },
  { name: 'init', type: 'string', group: MODEL, placeholder: 'SCHEME', choices: ['msra', 'xavier', 'lecun'], description: 'weight initialisation', defaultText: 'msra' },
  { name: 'init-scale', type: 'number', group: MODEL, placeholder: 'S', description: 'multiplies the initial weights', defaultText: '1' },
  { name: 'init-mode', type: 'string', group: MODEL, placeholder: 'MODE', choices: ['fan_in', 'fan_out'], description: 'fan used by msra', defaultText: 'fan_in' },
  { name: 'seed', type: 'integer', group: MODEL, placeholder: 'N', description: 'seed of the initial weights', defaultText: '1' },
  { name: 'init-weights', type: 'string', group: MODEL, placeholder: 'FILE', inputPath: true, description: 'initial weights from a .safetensors file (W1…WN, optional b1…bN); --init, --init-scale, --init-mode and (unless sgd or adam shuffles mini-batches with it) --seed are then refused' },
  { name: 'iterations', type: 'integer', group: STOP, placeholder: 'K', description: 'stop after K iterations in total', defaultText: '100' },
  { name: 'grad-tol', type: 'number', group: STOP, placeholder: 'EPS', description: 'stop once ‖∇𝓛(Q^k)‖ ≤ EPS (checked when metrics are evaluated)' },
  { name: 'time-limit', type: 'number', group: STOP, placeholder: 'SECONDS', description: 'stop after this much training time' },
];

/**
 * Options that may change when a run is resumed: they do not change the iterates (--threads only their rounding on
 * the blas backend; a resume without it keeps the count in the run's config.json).
 */
export const RESUMABLE = new Set(['iterations', 'grad-tol', 'time-limit', 'metrics-every', 'checkpoint-every', 'plots', 'threads', 'quiet', 'debug', 'resume']);

/** The options every run records in its config.json (everything that influences the run). */
export interface TrainSettings extends DataOptions {
  readonly preset?: string;
  readonly teacherLayers?: number[];
  readonly layers?: number[];
  readonly optimizer: 'admm' | 'gd' | 'sgd' | 'adam';
  readonly learningRate?: number;
  readonly momentum?: number;
  readonly batchSize?: number;
  readonly activation: string;
  /** squared, cross-entropy, or a plugin file (an absolute path once the settings are resolved). */
  readonly loss: string;
  readonly beta: number | number[];
  /** The β schedule (all three or none): β_i^k = min(cap, β_i · factor^⌊(k − 1)/every⌋). */
  readonly betaFactor?: number;
  readonly betaEvery?: number;
  readonly betaCap?: number;
  readonly lambda: number;
  readonly theoryParameters: boolean;
  readonly bias: boolean;
  readonly stepRule: 'paper' | 'authors';
  readonly init: 'msra' | 'xavier' | 'lecun';
  readonly initScale: number;
  readonly initMode: 'fan_in' | 'fan_out';
  readonly seed: number;
  readonly initWeights?: string;
  readonly iterations: number;
  readonly gradTol?: number;
  readonly timeLimit?: number;
  readonly backend: BackendChoice;
  readonly precision: 'f64' | 'f32';
  /** Threads of the blas backend: given, or (for blas and auto) NLADMM_THREADS / the cores when the run starts. */
  readonly threads?: number;
  readonly metricsEvery: number;
  readonly checkpointEvery: number;
  readonly plots: boolean;
  readonly out?: string;
}

export const DEFAULTS: ParsedOptions = {
  'csv-header': 'auto',
  delimiter: ',',
  targets: 'auto',
  scale: 'auto',
  'test-split': 0,
  'data-seed': 2024,
  activation: 'sigmoid',
  loss: 'squared',
  beta: [1],
  lambda: 1e-4,
  'theory-parameters': false,
  optimizer: 'admm',
  bias: true,
  'step-rule': 'paper',
  init: 'msra',
  'init-scale': 1,
  'init-mode': 'fan_in',
  seed: 1,
  iterations: 100,
  backend: 'auto',
  precision: 'f64',
  'metrics-every': 1,
  'checkpoint-every': 10,
  plots: true,
};

/** What the authors' two demos share: 1000 samples, sigmoid, β = 1, λ = 1e-6, MSRA×8 fan_out init, their step rule. */
const PAPER_DEMO: ParsedOptions = {
  'n-train': 1000,
  'n-test': 1000,
  activation: 'sigmoid',
  beta: [1],
  lambda: 1e-6,
  init: 'msra',
  'init-scale': 8,
  'init-mode': 'fan_out',
  seed: 1,
  'step-rule': 'authors',
  'checkpoint-every': 10,
};

/**
 * The presets. fashion-mnist and fashion-mnist-best were chosen by the tuning study (scripts/tune-fashion-mnist.ts,
 * the README's "Accuracy on Fashion-MNIST"): all 60 000 training images, one wide sigmoid layer with MSRA ×3
 * initial weights, and few iterations — the test accuracy of Algorithm 1 peaks at k = 2…4 (when W_N has been fitted
 * to the hidden features) and then falls slowly. fashion-mnist finishes in about a minute on a 2-core machine with the
 * blas backend (f32); fashion-mnist-best is four times the width.
 */
const FASHION_MNIST_FULL: ParsedOptions = {
  dataset: 'fashion-mnist',
  'n-train': 60000,
  'n-test': 10000,
  scale: 'unit',
  targets: 'onehot',
  activation: 'sigmoid',
  beta: [1],
  lambda: 1,
  'step-rule': 'paper',
  init: 'msra',
  'init-scale': 3,
  seed: 1,
  precision: 'f32',
};

export const PRESETS: Readonly<Record<string, ParsedOptions>> = {
  'fashion-mnist': {
    ...FASHION_MNIST_FULL,
    layers: [784, 2048, 10],
    iterations: 4,
    'metrics-every': 1,
    'checkpoint-every': 2,
  },
  'fashion-mnist-best': {
    ...FASHION_MNIST_FULL,
    layers: [784, 4096, 10],
    iterations: 4,
    'metrics-every': 1,
    'checkpoint-every': 1,
  },
  'paper-square': {
    ...PAPER_DEMO,
    dataset: 'square',
    layers: [1, 100, 100, 1],
    iterations: 50,
  },
  'paper-product': {
    ...PAPER_DEMO,
    dataset: 'product',
    layers: [2, 300, 300, 1],
    iterations: 30,
  },
  // Theorem 3 in practice: a tiny teacher task trained with the smallest β and λ meeting (42)-(45), computed at
  // the start of the run from the data and W^0 (recorded in config.json).
  theory: {
    dataset: 'teacher',
    'n-train': 8,
    'n-test': 0,
    layers: [2, 3, 1],
    activation: 'sigmoid',
    bias: false,
    'theory-parameters': true,
    'step-rule': 'paper',
    init: 'xavier',
    seed: 1,
    iterations: 200,
    'checkpoint-every': 50,
  },
};

const SPEC_BY_NAME = new Map(TRAIN_OPTIONS.map((s) => [s.name, s]));

/** Whether a --dataset value names a file rather than a built-in data set. */
export function isFileDataset(dataset: string): boolean {
  return /[\\/]/.test(dataset) || /\.(csv|tsv|txt|npy|gz|idx\d?|[a-z0-9-]*ubyte)$/i.test(dataset);
}

/**
 * Reads a JSON config: a flat object of options (kebab-case or camelCase keys), or a run's config.json with
 * the options under "options". Input paths are resolved against the file's folder.
 */
export async function readConfigFile(path: string): Promise<ParsedOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${path}: ${readFailure(err)}`);
  }
  let json: unknown;
  try {
    // A UTF-8 byte order mark (some editors write one) is not part of the JSON: skipped, as in CSV files.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`--config ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`--config ${path}: expected a JSON object of options`);
  const source = 'options' in json && typeof (json as { options: unknown }).options === 'object' ? (json as { options: Record<string, unknown> }).options : (json as Record<string, unknown>);
  return optionsFromJson(source, path);
}

export function optionsFromJson(source: Record<string, unknown>, path: string): ParsedOptions {
  const out: ParsedOptions = {};
  const base = dirname(resolve(path));
  for (const [key, raw] of Object.entries(source)) {
    if (key.startsWith('$') || key.startsWith('_')) continue; // comments
    const name = camelToKebab(key);
    const spec = SPEC_BY_NAME.get(name);
    if (!spec || spec.cliOnly) {
      const near = suggest(name, TRAIN_OPTIONS.filter((s) => !s.cliOnly).map((s) => s.name));
      throw new UsageError(`--config ${path}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
    if (raw === null) continue;
    let value = coerce(spec, raw, `--config ${path}: "${key}"`);
    if (spec.inputPath && typeof value === 'string' && !(name === 'dataset' && !isFileDataset(value)) && !isAbsolute(value)) {
      value = resolve(base, value);
    }
    out[name] = value;
  }
  return out;
}

/** Merges the layers of options: defaults < preset < config file < flags. */
export function mergeOptions(config: ParsedOptions, flags: ParsedOptions): ParsedOptions {
  const chosen = (flags.preset ?? config.preset) as string | undefined;
  const explicitData = flags.dataset ?? config.dataset;
  const presetName = chosen ?? (explicitData === undefined ? 'fashion-mnist' : undefined);
  const preset = presetName ? PRESETS[presetName] : {};
  const merged: ParsedOptions = { ...DEFAULTS, ...preset, ...config, ...flags };
  if (presetName) merged.preset = presetName;
  // Positional arguments and CLI-only switches are not settings.
  for (const key of ['config', 'resume', 'quiet', 'debug', 'help']) delete merged[key];
  checkIgnoredFlags(flags, merged, (key) => (key in flags ? 'flags' : key in config ? 'config' : presetName && key in preset ? `--preset ${presetName}` : 'default'));
  return merged;
}

/** Where an option's value came from. */
type Source = 'flags' | 'config' | 'default' | `--preset ${string}`;

const BUILTIN_IDX_SETS = ['fashion-mnist', 'mnist'];
const SYNTHETIC_SETS = ['square', 'product', 'teacher'];

/**
 * Refuses a flag that another option would make ineffective (a usage error, exit 2, naming both): the value a user
 * typed is never silently dropped. Only flags are checked: a config file lists every option of a run (a run's own
 * config.json records the defaults too), and a flag overriding the file is the documented precedence.
 */
function checkIgnoredFlags(flags: ParsedOptions, merged: ParsedOptions, source: (key: string) => Source): void {
  const by = (key: string) => {
    const from = source(key);
    return from === 'flags' ? `--${key}` : from === 'config' ? `--${key} (from the --config file)` : from === 'default' ? `--${key}` : `--${key} (set by ${from})`;
  };
  const given = (key: string) => key in flags;
  const refuse = (flag: string, because: string, hint: string): never => {
    throw new UsageError(`--${flag} has no effect with ${because}: ${hint}`);
  };
  if (merged['theory-parameters'] === true) {
    for (const key of ['beta', 'lambda']) {
      if (given(key)) refuse(key, by('theory-parameters'), `β and λ are then the smallest values meeting (42)-(45) of Theorem 3; drop --${key}, or add --no-theory-parameters`);
    }
  }
  if (typeof merged['init-weights'] === 'string') {
    const optimizer = merged.optimizer;
    // --seed also seeds the mini-batch shuffles of sgd and adam with --batch-size.
    const seedUsed = optimizer === 'sgd' || (optimizer === 'adam' && merged['batch-size'] !== undefined);
    for (const key of ['init', 'init-scale', 'init-mode', ...(seedUsed ? [] : ['seed'])]) {
      if (given(key)) refuse(key, by('init-weights'), `the initial weights are read from the file; drop --${key} or --init-weights`);
    }
  }
  const dataset = String(merged.dataset ?? '');
  const isIdxSet = BUILTIN_IDX_SETS.includes(dataset);
  const isSynthetic = SYNTHETIC_SETS.includes(dataset);
  const isCsv = !isIdxSet && !isSynthetic && /\.(csv|tsv|txt)$/i.test(dataset);
  if (given('data-dir') && !isIdxSet) refuse('data-dir', `--dataset ${dataset}`, 'it is the folder of the IDX files of fashion-mnist or mnist');
  if (given('teacher-layers') && dataset !== 'teacher') refuse('teacher-layers', `--dataset ${dataset}`, 'it shapes the teacher network of --dataset teacher');
  for (const key of ['label-column', 'csv-header', 'delimiter']) {
    if (given(key) && !isCsv) refuse(key, `--dataset ${dataset}`, 'it applies to CSV files (.csv, .tsv, .txt)');
  }
  const split = typeof merged['test-split'] === 'number' && merged['test-split'] > 0;
  if (given('data-seed') && !isSynthetic && !split) refuse('data-seed', `--dataset ${dataset}`, 'it seeds the synthetic data sets and --test-split');
  if (given('n-test') && merged['n-test'] !== 0 && !isSynthetic && !isIdxSet && !split && merged['test-dataset'] === undefined) {
    refuse('n-test', `--dataset ${dataset} and no test set`, 'give --test-dataset FILE or --test-split FRACTION');
  }
}

/**
 * Refuses, for `nladmm train` with a backpropagation baseline, the flags only Algorithm 1 uses (a usage error
 * naming both). `nladmm compare` takes them for its ADMM run.
 */
export function checkAdmmOnlyFlags(flags: ParsedOptions, settings: TrainSettings): void {
  if (settings.optimizer === 'admm') return;
  for (const key of ['beta', 'step-rule', ...BETA_SCHEDULE_OPTIONS]) {
    if (key in flags) throw new UsageError(`--${key} has no effect with --optimizer ${settings.optimizer}: it is a parameter of Algorithm 1 (--optimizer admm)`);
  }
}

/**
 * The first option whose value differs between two sets of stored options (a missing one stands for its default),
 * skipping the names in `ignore`; values are compared as JSON.
 */
export function firstOptionDifference(a: ParsedOptions, b: ParsedOptions, ignore: ReadonlySet<string>): { name: string; a: OptionValue | undefined; b: OptionValue | undefined } | undefined {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((name) => !ignore.has(name));
  for (const name of names) {
    const va = a[name] ?? DEFAULTS[name];
    const vb = b[name] ?? DEFAULTS[name];
    if (JSON.stringify(va) !== JSON.stringify(vb)) return { name, a: va, b: vb };
  }
  return undefined;
}

function optional<T extends OptionValue>(o: ParsedOptions, key: string): T | undefined {
  return o[key] as T | undefined;
}

/** The typed settings of merged options, with the checks that need no data. */
export function toSettings(o: ParsedOptions): TrainSettings {
  const beta = o.beta as number[];
  const settings: TrainSettings = {
    preset: optional<string>(o, 'preset'),
    dataset: o.dataset as string,
    dataDir: optional<string>(o, 'data-dir'),
    labels: optional<string>(o, 'labels'),
    testDataset: optional<string>(o, 'test-dataset'),
    testLabels: optional<string>(o, 'test-labels'),
    labelColumn: optional<string>(o, 'label-column'),
    csvHeader: o['csv-header'] as TrainSettings['csvHeader'],
    delimiter: o.delimiter as string,
    targets: o.targets as TrainSettings['targets'],
    scale: o.scale as TrainSettings['scale'],
    testSplit: o['test-split'] as number,
    nTrain: optional<number>(o, 'n-train'),
    nTest: optional<number>(o, 'n-test'),
    dataSeed: o['data-seed'] as number,
    teacherLayers: optional<number[]>(o, 'teacher-layers'),
    layers: optional<number[]>(o, 'layers'),
    optimizer: (o.optimizer ?? 'admm') as TrainSettings['optimizer'],
    learningRate: optional<number>(o, 'learning-rate'),
    momentum: optional<number>(o, 'momentum'),
    batchSize: optional<number>(o, 'batch-size'),
    activation: o.activation as string,
    loss: (o.loss ?? 'squared') as string,
    beta: beta.length === 1 ? beta[0] : beta,
    betaFactor: optional<number>(o, 'beta-factor'),
    betaEvery: optional<number>(o, 'beta-every'),
    betaCap: optional<number>(o, 'beta-cap'),
    lambda: o.lambda as number,
    theoryParameters: o['theory-parameters'] === true,
    bias: o.bias as boolean,
    stepRule: o['step-rule'] as TrainSettings['stepRule'],
    init: o.init as TrainSettings['init'],
    initScale: o['init-scale'] as number,
    initMode: o['init-mode'] as TrainSettings['initMode'],
    seed: o.seed as number,
    initWeights: optional<string>(o, 'init-weights'),
    iterations: o.iterations as number,
    gradTol: optional<number>(o, 'grad-tol'),
    timeLimit: optional<number>(o, 'time-limit'),
    backend: o.backend as TrainSettings['backend'],
    precision: o.precision as TrainSettings['precision'],
    threads: optional<number>(o, 'threads'),
    metricsEvery: o['metrics-every'] as number,
    checkpointEvery: o['checkpoint-every'] as number,
    plots: o.plots as boolean,
    out: optional<string>(o, 'out'),
  };
  if (settings.dataset === undefined) throw new UsageError('no data set: give --dataset NAME|FILE or --preset NAME');
  const positiveInt = (name: string, v: number | undefined, min = 1) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
  };
  positiveInt('iterations', settings.iterations, 0);
  positiveInt('metrics-every', settings.metricsEvery);
  positiveInt('checkpoint-every', settings.checkpointEvery);
  positiveInt('threads', settings.threads);
  positiveInt('n-train', settings.nTrain);
  positiveInt('n-test', settings.nTest, 0);
  if (!(settings.testSplit >= 0 && settings.testSplit < 1)) throw new UsageError(`--test-split must be in [0, 1), got ${settings.testSplit}`);
  if (!(settings.lambda > 0)) throw new UsageError(`--lambda must be > 0, got ${settings.lambda}`);
  for (const b of beta) if (!(b > 0)) throw new UsageError(`--beta values must be > 0, got ${b}`);
  checkBetaSchedule(settings, beta);
  if (settings.theoryParameters && settings.loss !== 'squared') {
    throw new UsageError(`--loss ${settings.loss} cannot be used with --theory-parameters: Theorem 3 is stated for the squared loss of (5) (drop --loss, or add --no-theory-parameters)`);
  }
  if (!(settings.initScale > 0)) throw new UsageError(`--init-scale must be > 0, got ${settings.initScale}`);
  if (settings.gradTol !== undefined && !(settings.gradTol >= 0)) throw new UsageError(`--grad-tol must be ≥ 0, got ${settings.gradTol}`);
  if (settings.timeLimit !== undefined && !(settings.timeLimit > 0)) throw new UsageError(`--time-limit must be > 0 seconds, got ${settings.timeLimit}`);
  if (settings.layers) {
    if (settings.layers.length < 3) throw new UsageError(`--layers needs d_0, at least one hidden width and d_N (e.g. 784,128,10), got ${settings.layers.join(',')}`);
    for (const d of settings.layers) if (!(Number.isInteger(d) && d >= 1)) throw new UsageError(`--layers widths must be positive integers, got ${settings.layers.join(',')}`);
    if (Array.isArray(settings.beta) && settings.beta.length !== settings.layers.length - 1) {
      throw new UsageError(`--beta lists ${settings.beta.length} values but the network has N = ${settings.layers.length - 1} layers (give one value, or one per layer)`);
    }
  }
  checkOptimizerSettings(settings);
  if (settings.delimiter.length === 0) throw new UsageError('--delimiter must not be empty');
  // Contradictions the data loader would find only after reading the training data, and the backend only when made.
  if (settings.backend === 'webgpu' && settings.precision !== 'f32') throw new UsageError('the webgpu backend computes in f32: add --precision f32');
  if (settings.testDataset !== undefined && settings.testSplit > 0) throw new UsageError('give either --test-dataset or --test-split, not both');
  if (settings.testLabels !== undefined && settings.testDataset === undefined) throw new UsageError('--test-labels needs --test-dataset');
  // A run that may use blas records its thread count (config.json: a resume computes with the same count).
  return settings.threads === undefined && mayUseBlas(settings.backend) ? { ...settings, threads: defaultThreads() } : settings;
}

/** The β schedule options, all three or none. */
export const BETA_SCHEDULE_OPTIONS = ['beta-factor', 'beta-every', 'beta-cap'] as const;

/** Whether the settings have a β schedule. */
export function hasBetaSchedule(s: Pick<TrainSettings, 'betaFactor' | 'betaEvery' | 'betaCap'>): boolean {
  return s.betaFactor !== undefined || s.betaEvery !== undefined || s.betaCap !== undefined;
}

/** The β schedule of complete settings (undefined when there is none). */
export function betaScheduleOf(s: TrainSettings): { factor: number; every: number; cap: number } | undefined {
  return s.betaFactor !== undefined && s.betaEvery !== undefined && s.betaCap !== undefined ? { factor: s.betaFactor, every: s.betaEvery, cap: s.betaCap } : undefined;
}

/** The checks of the β schedule options that need no data (usage errors naming the option). */
function checkBetaSchedule(s: TrainSettings, beta: readonly number[]): void {
  if (!hasBetaSchedule(s)) return;
  const values = { 'beta-factor': s.betaFactor, 'beta-every': s.betaEvery, 'beta-cap': s.betaCap };
  const missing = BETA_SCHEDULE_OPTIONS.filter((k) => values[k] === undefined);
  if (missing.length > 0) {
    const given = BETA_SCHEDULE_OPTIONS.filter((k) => values[k] !== undefined);
    throw new UsageError(`the β schedule needs --beta-factor, --beta-every and --beta-cap together: ${given.map((k) => `--${k}`).join(' and ')} ${given.length === 1 ? 'is' : 'are'} given without ${missing.map((k) => `--${k}`).join(' and ')}`);
  }
  if (s.theoryParameters) {
    throw new UsageError('--beta-factor, --beta-every and --beta-cap cannot be used with --theory-parameters: Theorem 3 holds for a fixed β (drop the β schedule, or add --no-theory-parameters)');
  }
  if (!(Number.isFinite(s.betaFactor) && s.betaFactor! > 0)) throw new UsageError(`--beta-factor must be a finite number > 0, got ${s.betaFactor}`);
  if (!(Number.isInteger(s.betaEvery) && s.betaEvery! >= 1)) throw new UsageError(`--beta-every must be an integer ≥ 1, got ${s.betaEvery}`);
  const start = Math.max(...beta);
  if (!(Number.isFinite(s.betaCap) && s.betaCap! >= start)) throw new UsageError(`--beta-cap must be a finite number ≥ the largest --beta (${start}), got ${s.betaCap}`);
}

/** The checks of --optimizer and its options that need no data (the batch size against n is checked by core). */
export function checkOptimizerSettings(s: TrainSettings): void {
  if (!['admm', 'gd', 'sgd', 'adam'].includes(s.optimizer)) throw new UsageError(`--optimizer must be admm, gd, sgd or adam, got '${String(s.optimizer)}'`);
  if (s.optimizer === 'admm') {
    const given = (['learning-rate', 'momentum', 'batch-size'] as const).filter((k) => s[kebabToCamel(k)] !== undefined);
    if (given.length > 0) throw new UsageError(`--${given[0]} applies only to --optimizer gd, sgd or adam (the optimizer is admm)`);
    return;
  }
  if (s.learningRate !== undefined && !(Number.isFinite(s.learningRate) && s.learningRate > 0)) throw new UsageError(`--learning-rate must be a finite number > 0, got ${s.learningRate}`);
  if (s.momentum !== undefined && !(s.momentum >= 0 && s.momentum < 1)) throw new UsageError(`--momentum must be in [0, 1), got ${s.momentum}`);
  if (s.batchSize !== undefined && !(Number.isInteger(s.batchSize) && s.batchSize >= 1)) throw new UsageError(`--batch-size must be an integer ≥ 1, got ${s.batchSize}`);
  if (s.optimizer === 'sgd' && s.batchSize === undefined) throw new UsageError('--optimizer sgd needs --batch-size B');
  if (s.optimizer === 'adam' && s.momentum !== undefined) throw new UsageError('--momentum applies only to --optimizer gd or sgd (adam keeps its own moments)');
  if (s.optimizer === 'gd' && s.batchSize !== undefined) throw new UsageError('--batch-size applies only to --optimizer sgd or adam (gd uses the full batch)');
  if (s.theoryParameters) throw new UsageError(`--theory-parameters applies only to --optimizer admm`);
}

/**
 * The check of --step-rule against the activation's bounds (known once --activation is resolved): the paper's rule
 * (22) needs finite L0, L1, L2, which an activation outside Assumption 1 such as softplus or silu (σ unbounded,
 * L0 = ∞) lacks. Core refuses that combination too, in its own words; this one names the flag to use. Only
 * Algorithm 1 uses a step rule (the baselines ignore it).
 */
export function checkStepRuleSettings(s: TrainSettings, activation: { readonly name: string; readonly bounds: { readonly L0: number; readonly L1: number; readonly L2: number } }): void {
  if (s.optimizer !== 'admm' || s.stepRule !== 'paper') return;
  const { L0, L1, L2 } = activation.bounds;
  if (Number.isFinite(L0) && Number.isFinite(L1) && Number.isFinite(L2)) return;
  throw new UsageError(
    `--step-rule paper needs finite activation bounds, but activation '${activation.name}' has L0=${L0}, L1=${L1}, L2=${L2} (outside Assumption 1): use --step-rule authors`,
  );
}

function kebabToCamel(k: 'learning-rate' | 'momentum' | 'batch-size'): 'learningRate' | 'momentum' | 'batchSize' {
  return k === 'learning-rate' ? 'learningRate' : k === 'batch-size' ? 'batchSize' : 'momentum';
}

/** The default step size of the baselines. */
export const DEFAULT_LEARNING_RATE = 0.1;
/** Adam's usual step size. */
export const DEFAULT_ADAM_LEARNING_RATE = 1e-3;

/** The settings as the options object stored in config.json (kebab-case keys, like the flags). */
export function settingsToOptions(s: TrainSettings): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [key, value] of Object.entries(s)) {
    if (value === undefined || key === 'out') continue;
    out[camelToKebab(key)] = key === 'beta' && typeof value === 'number' ? [value] : value;
  }
  return out;
}
