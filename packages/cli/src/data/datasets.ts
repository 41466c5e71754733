/**
 * Turns the data options into training data for Algorithm 1: reads the source (built-in IDX data sets, CSV,
 * .npy, IDX files, synthetic tasks), splits and subsets it, scales the inputs with statistics of the training
 * set, builds the targets (one-hot or raw) and lays everything out one sample per column.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Activation, type HostMatrix, Rng, drawWeights, hostMatrix, productTask, squareTask } from '@nladmm/core';
import { CliError, DataError, UsageError } from '../errors.ts';
import { readCsv } from './csv.ts';
import { readIdx } from './idx.ts';
import { readNpy } from './npy.ts';
import { type RawTensor, isIntegral, product, shapeText } from './tensor.ts';

/** Samples as rows: x is n × d (row-major), labels n × w (w = 1 for class labels). */
export interface Samples {
  readonly n: number;
  readonly d: number;
  readonly x: ArrayLike<number>;
  /** The inputs are bytes 0…255 (images): `unit` scaling divides by 255. */
  readonly bytes: boolean;
  readonly labels?: { readonly values: ArrayLike<number>; readonly width: number; readonly integral: boolean };
  /** Where the samples came from, for messages. */
  readonly source: string;
}

/** How inputs are transformed before training; stored with a model so that eval/predict do the same. */
export type Preprocessing =
  | { readonly kind: 'none' }
  | { readonly kind: 'divide'; readonly by: number }
  | { readonly kind: 'affine'; readonly shift: readonly number[]; readonly scale: readonly number[] };

/** What the outputs mean: one-hot classes or raw regression targets. */
export type TargetKind = { readonly kind: 'onehot'; readonly classes: number } | { readonly kind: 'raw'; readonly outputs: number };

export interface DataOptions {
  readonly dataset: string;
  readonly dataDir?: string;
  readonly labels?: string;
  readonly testDataset?: string;
  readonly testLabels?: string;
  readonly labelColumn?: string;
  readonly csvHeader: 'auto' | 'yes' | 'no';
  readonly delimiter: string;
  readonly targets: 'auto' | 'onehot' | 'raw';
  readonly scale: 'auto' | 'none' | 'unit' | 'standard';
  readonly testSplit: number;
  readonly nTrain?: number;
  readonly nTest?: number;
  readonly dataSeed: number;
  readonly teacherLayers?: readonly number[];
  readonly layers?: readonly number[];
}

export interface LoadedData {
  readonly train: { readonly x: HostMatrix; readonly y: HostMatrix };
  readonly test?: { readonly x: HostMatrix; readonly y: HostMatrix };
  readonly features: number;
  readonly preprocessing: Preprocessing;
  readonly targets: TargetKind;
  /** One line saying what was loaded. */
  readonly description: string;
}

export const BUILTIN_IDX = ['fashion-mnist', 'mnist'] as const;
export const SYNTHETIC = ['square', 'product', 'teacher'] as const;

function idxFile(dir: string, stem: string, dataset: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  const hint = dataset === 'fashion-mnist' ? " (run 'bash scripts/setup.sh', which installs Debian's dataset-fashion-mnist, or pass --data-dir)" : ' (pass --data-dir DIR with the IDX files)';
  throw new CliError(`${dataset}: ${join(dir, stem)}[.gz] not found${hint}`);
}

/** Images (n × …) and labels (n) from IDX or .npy tensors, checked against each other. */
function samplesFromTensors(x: RawTensor, xPath: string, labels: RawTensor | undefined, labelsPath: string | undefined): Samples {
  if (x.shape.length < 1) throw new DataError(xPath, 'holds a scalar, expected one sample per row');
  const n = x.shape[0];
  const d = x.shape.length === 1 ? 1 : product(x.shape.slice(1));
  if (n === 0) throw new DataError(xPath, 'holds no samples');
  checkFinite(x.data, xPath, d);
  let lab: Samples['labels'];
  if (labels && labelsPath) {
    if (labels.shape.length < 1 || labels.shape.length > 2) throw new DataError(labelsPath, `labels must be 1-D (classes) or 2-D (targets), got shape ${shapeText(labels.shape)}`);
    if (labels.shape[0] !== n) throw new DataError(labelsPath, `has ${labels.shape[0]} labels but ${xPath} has ${n} samples`);
    checkFinite(labels.data, labelsPath, labels.shape.length === 2 ? labels.shape[1] : 1);
    lab = { values: labels.data, width: labels.shape.length === 2 ? labels.shape[1] : 1, integral: isIntegral(labels) };
  }
  return { n, d, x: x.data, bytes: x.dtype === 'u8', labels: lab, source: xPath };
}

function checkFinite(values: ArrayLike<number>, path: string, width: number): void {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) {
      throw new DataError(path, `${values[k]} in the data at sample ${Math.floor(k / width)}, feature ${k % width} (every value must be finite)`);
    }
  }
}

async function readTensor(path: string): Promise<RawTensor> {
  return /\.npy$/i.test(path) ? readNpy(path) : readIdx(path);
}

/** Reads a file data set: CSV (features + a label column) or .npy / IDX features with a labels file. */
async function readFileSamples(path: string, labelsPath: string | undefined, o: DataOptions, requireLabels: boolean): Promise<Samples> {
  if (/\.(csv|tsv|txt)$/i.test(path)) {
    if (labelsPath) throw new UsageError(`--labels is for .npy / IDX data; a CSV file holds its labels in a column (--label-column)`);
    const delimiter = /\.tsv$/i.test(path) && o.delimiter === ',' ? '\t' : o.delimiter;
    const table = await readCsv(path, { delimiter, header: o.csvHeader });
    if (o.labelColumn === 'none' || (!requireLabels && o.layers && table.cols === o.layers[0])) {
      return { n: table.rows, d: table.cols, x: table.data, bytes: false, source: path };
    }
    let column: number;
    const asNumber = Number(o.labelColumn ?? -1);
    if (Number.isInteger(asNumber)) column = asNumber < 0 ? table.cols + asNumber : asNumber;
    else {
      column = table.header?.indexOf(o.labelColumn!) ?? -1;
      if (column < 0) throw new DataError(path, `no column named '${o.labelColumn}'${table.header ? ` (columns: ${table.header.join(', ')})` : ' (the file has no header)'}`);
    }
    if (column < 0 || column >= table.cols) throw new DataError(path, `--label-column ${o.labelColumn} is outside the ${table.cols} columns`);
    if (table.cols < 2) throw new DataError(path, 'needs at least one feature column besides the label column');
    const d = table.cols - 1;
    const x = new Float64Array(table.rows * d);
    const labels = new Float64Array(table.rows);
    for (let r = 0; r < table.rows; r++) {
      let f = 0;
      for (let c = 0; c < table.cols; c++) {
        const v = table.data[r * table.cols + c];
        if (c === column) labels[r] = v;
        else x[r * d + f++] = v;
      }
    }
    return { n: table.rows, d, x, bytes: false, labels: { values: labels, width: 1, integral: labels.every(Number.isInteger) }, source: path };
  }
  if (!/\.npy$/i.test(path) && !/(ubyte|idx\d?)(\.gz)?$/i.test(path) && !/\.gz$/i.test(path)) {
    throw new UsageError(`--dataset ${path}: unknown file type (expected .csv, .tsv, .npy or an IDX file such as train-images-idx3-ubyte[.gz]); built-in data sets: ${[...BUILTIN_IDX, ...SYNTHETIC].join(', ')}`);
  }
  if (!labelsPath && requireLabels) throw new UsageError(`--dataset ${path}: give its labels with --labels FILE`);
  const x = await readTensor(path);
  const labels = labelsPath ? await readTensor(labelsPath) : undefined;
  return samplesFromTensors(x, path, labels, labelsPath);
}

/** The synthetic tasks: y = x², y = x₁x₂ (the authors' demos) and a random teacher network. */
function syntheticSamples(name: string, n: number, seed: number, o: DataOptions, activation: Activation): Samples {
  if (name === 'square' || name === 'product') {
    const task = name === 'square' ? squareTask(n, seed) : productTask(n, seed);
    const d = task.x.rows;
    const x = new Float64Array(n * d);
    for (let s = 0; s < n; s++) for (let f = 0; f < d; f++) x[s * d + f] = task.x.data[f * n + s];
    return { n, d, x, bytes: false, labels: { values: task.y.data, width: 1, integral: false }, source: `${name} (seed ${seed})` };
  }
  const layers = o.teacherLayers ?? o.layers;
  if (!layers || layers.length < 2) throw new UsageError('the teacher data set needs --layers (or --teacher-layers) to build its random teacher network');
  // The teacher depends on --data-seed only; the inputs on `seed` (different for the training and test sets).
  const rng = new Rng(seed);
  const d = layers[0];
  const x = new Float64Array(n * d);
  for (let k = 0; k < x.length; k++) x[k] = 2 * rng.uniform() - 1;
  const weights = drawWeights(layers, { scheme: 'xavier', seed: o.dataSeed + 7919, scale: 2, bias: true });
  const biasRng = new Rng(o.dataSeed + 7920);
  for (const w of weights) for (let r = 0; r < w.rows; r++) w.data[r * w.cols + w.cols - 1] = 0.5 * biasRng.normal();
  const out = teacherForward(weights, x, n, activation);
  return { n, d, x, bytes: false, labels: { values: out.values, width: out.width, integral: false }, source: `teacher ${layers.join('-')} (seed ${seed})` };
}

/** Φ(x) of a network given as weights with bias columns, on the host, samples as rows. */
function teacherForward(weights: readonly HostMatrix[], x: Float64Array, n: number, activation: Activation): { values: Float64Array; width: number } {
  let input = x;
  let width = weights[0].cols - 1;
  weights.forEach((w, index) => {
    const next = new Float64Array(n * w.rows);
    const last = index === weights.length - 1;
    for (let s = 0; s < n; s++) {
      for (let r = 0; r < w.rows; r++) {
        let acc = w.data[r * w.cols + width];
        for (let c = 0; c < width; c++) acc += w.data[r * w.cols + c] * input[s * width + c];
        next[s * w.rows + r] = last ? acc : activation.sigma(acc);
      }
    }
    input = next;
    width = w.rows;
  });
  return { values: input, width };
}

/** Rows `indices` of the samples. */
function take(s: Samples, indices: ArrayLike<number>, source: string): Samples {
  const n = indices.length;
  const x = s.bytes ? new Uint8Array(n * s.d) : new Float64Array(n * s.d);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    for (let f = 0; f < s.d; f++) x[k * s.d + f] = s.x[i * s.d + f];
  }
  let labels: Samples['labels'];
  if (s.labels) {
    const w = s.labels.width;
    const values = new Float64Array(n * w);
    for (let k = 0; k < n; k++) for (let c = 0; c < w; c++) values[k * w + c] = s.labels.values[indices[k] * w + c];
    labels = { ...s.labels, values };
  }
  return { n, d: s.d, x, bytes: s.bytes, labels, source };
}

/** The first `count` samples (a view when the storage allows). */
export function first(s: Samples, count: number): Samples {
  if (count === s.n) return s;
  const slice = <T extends ArrayLike<number>>(a: T, len: number): ArrayLike<number> =>
    ArrayBuffer.isView(a) ? (a as unknown as Float64Array).subarray(0, len) : Array.prototype.slice.call(a, 0, len);
  return {
    ...s,
    n: count,
    x: slice(s.x, count * s.d),
    labels: s.labels ? { ...s.labels, values: slice(s.labels.values, count * s.labels.width) } : undefined,
  };
}

function shuffled(n: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  const p = new Uint32Array(n);
  for (let k = 0; k < n; k++) p[k] = k;
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(rng.uniform() * (k + 1));
    const t = p[k];
    p[k] = p[j];
    p[j] = t;
  }
  return p;
}

/** Fits the input scaling on the training samples. */
export function fitPreprocessing(kind: DataOptions['scale'], train: Samples): Preprocessing {
  const resolved = kind === 'auto' ? (train.bytes ? 'unit' : 'none') : kind;
  if (resolved === 'none') return { kind: 'none' };
  if (resolved === 'unit' && train.bytes) return { kind: 'divide', by: 255 };
  const { n, d, x } = train;
  const shift = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(1);
  for (let f = 0; f < d; f++) {
    if (resolved === 'unit') {
      let lo = Infinity;
      let hi = -Infinity;
      for (let s = 0; s < n; s++) {
        const v = x[s * d + f];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      shift[f] = lo;
      scale[f] = hi > lo ? 1 / (hi - lo) : 1;
    } else {
      let mean = 0;
      for (let s = 0; s < n; s++) mean += x[s * d + f];
      mean /= n;
      let sq = 0;
      for (let s = 0; s < n; s++) sq += (x[s * d + f] - mean) ** 2;
      const std = Math.sqrt(sq / n);
      shift[f] = mean;
      scale[f] = std > 0 ? 1 / std : 1;
    }
  }
  return { kind: 'affine', shift, scale };
}

/** X (d × n, one sample per column) with the preprocessing applied. */
export function toInputMatrix(s: Samples, p: Preprocessing): HostMatrix {
  const { n, d } = s;
  const m = hostMatrix(d, n);
  const out = m.data;
  for (let smp = 0; smp < n; smp++) {
    for (let f = 0; f < d; f++) {
      const v = s.x[smp * d + f];
      out[f * n + smp] = p.kind === 'none' ? v : p.kind === 'divide' ? v / p.by : (v - p.shift[f]) * p.scale[f];
    }
  }
  return m;
}

/** Decides the target kind from the labels and the wanted output width. */
export function resolveTargets(mode: DataOptions['targets'], train: Samples, outputs: number | undefined): TargetKind {
  const labels = train.labels!;
  if (labels.width > 1 || mode === 'raw' || (mode === 'auto' && (!labels.integral || outputs === 1))) {
    if (mode === 'onehot') throw new DataError(train.source, `--targets onehot needs one integer class label per sample, got ${labels.width > 1 ? `${labels.width} target columns` : 'non-integer labels'}`);
    return { kind: 'raw', outputs: labels.width };
  }
  let max = 0;
  for (let k = 0; k < labels.values.length; k++) max = Math.max(max, labels.values[k]);
  return { kind: 'onehot', classes: outputs ?? max + 1 };
}

/** Y (outputs × n) for the samples' labels. */
export function toTargetMatrix(s: Samples, t: TargetKind): HostMatrix {
  const labels = s.labels!;
  const n = s.n;
  if (t.kind === 'raw') {
    if (labels.width !== t.outputs) throw new DataError(s.source, `has ${labels.width} target columns, the model has ${t.outputs} outputs`);
    const y = hostMatrix(t.outputs, n);
    for (let smp = 0; smp < n; smp++) for (let c = 0; c < t.outputs; c++) y.data[c * n + smp] = labels.values[smp * t.outputs + c];
    return y;
  }
  const y = hostMatrix(t.classes, n);
  for (let smp = 0; smp < n; smp++) {
    const label = labels.values[smp];
    if (!Number.isInteger(label) || label < 0 || label >= t.classes) {
      throw new DataError(s.source, `label ${label} of sample ${smp} is not a class 0…${t.classes - 1} (the output layer has d_N = ${t.classes} units)`);
    }
    y.data[label * n + smp] = 1;
  }
  return y;
}

export interface RawData {
  readonly train: Samples;
  readonly test?: Samples;
  readonly name: string;
}

/** Reads the training and test samples (before scaling and targets). */
export async function readSamples(o: DataOptions, activation: Activation, requireLabels = true): Promise<RawData> {
  const name = o.dataset;
  if ((BUILTIN_IDX as readonly string[]).includes(name)) {
    const dir = o.dataDir ?? `/usr/share/datasets/${name}`;
    if (o.testDataset || o.labels || o.testLabels) throw new UsageError(`--dataset ${name} brings its own files; --labels / --test-dataset / --test-labels are for file data sets`);
    if (o.testSplit > 0) throw new UsageError(`--dataset ${name} has its own test set; --test-split is for file data sets`);
    const paths = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((stem) => idxFile(dir, stem, name));
    const [xTrain, yTrain, xTest, yTest] = await Promise.all(paths.map(readIdx));
    const wantTest = o.nTest !== 0;
    return {
      name,
      train: samplesFromTensors(xTrain, paths[0], yTrain, paths[1]),
      test: wantTest ? samplesFromTensors(xTest, paths[2], yTest, paths[3]) : undefined,
    };
  }
  if ((SYNTHETIC as readonly string[]).includes(name)) {
    if (o.testDataset || o.labels || o.testLabels) throw new UsageError(`--dataset ${name} is generated; --labels / --test-dataset / --test-labels are for file data sets`);
    const nTrain = o.nTrain ?? 1000;
    const nTest = o.nTest ?? 1000;
    return {
      name,
      train: syntheticSamples(name, nTrain, o.dataSeed, o, activation),
      test: nTest > 0 ? syntheticSamples(name, nTest, o.dataSeed + 1, o, activation) : undefined,
    };
  }
  if (!/[\\/.]/.test(name)) {
    throw new UsageError(`unknown data set '${name}' (built-in: ${[...BUILTIN_IDX, ...SYNTHETIC].join(', ')}; or a .csv / .npy / IDX file path)`);
  }
  const all = await readFileSamples(name, o.labels, o, requireLabels);
  if (o.testDataset) {
    if (o.testSplit > 0) throw new UsageError('give either --test-dataset or --test-split, not both');
    const test = await readFileSamples(o.testDataset, o.testLabels, o, requireLabels);
    if (test.d !== all.d) throw new DataError(o.testDataset, `has ${test.d} features but ${name} has ${all.d}`);
    return { name, train: all, test: o.nTest === 0 ? undefined : test };
  }
  if (o.testLabels) throw new UsageError('--test-labels needs --test-dataset');
  if (o.testSplit > 0) {
    const perm = shuffled(all.n, o.dataSeed);
    const nTest = Math.round(all.n * o.testSplit);
    if (nTest === 0 || nTest === all.n) throw new UsageError(`--test-split ${o.testSplit} of ${all.n} samples leaves an empty ${nTest === 0 ? 'test' : 'training'} set`);
    return { name, train: take(all, perm.subarray(nTest), `${name} (training split)`), test: take(all, perm.subarray(0, nTest), `${name} (test split)`) };
  }
  return { name, train: all };
}

/** Reads, splits, subsets, scales and lays out the data of a run. */
export async function loadTrainingData(o: DataOptions, activation: Activation): Promise<LoadedData> {
  const raw = await readSamples(o, activation);
  const synthetic = (SYNTHETIC as readonly string[]).includes(raw.name);
  let train = raw.train;
  let test = raw.test;
  if (!train.labels) throw new DataError(train.source, 'has no labels');
  if (!synthetic) {
    if (o.nTrain !== undefined) {
      if (o.nTrain > train.n) throw new UsageError(`--n-train ${o.nTrain} but ${raw.name} has ${train.n} training samples`);
      train = first(train, o.nTrain);
    }
    if (test && o.nTest !== undefined && o.nTest > 0) {
      if (o.nTest > test.n) throw new UsageError(`--n-test ${o.nTest} but ${raw.name} has ${test.n} test samples`);
      test = first(test, o.nTest);
    }
  }
  const preprocessing = fitPreprocessing(o.scale, train);
  const outputs = o.layers?.at(-1);
  const targets = resolveTargets(o.targets, train, outputs);
  const data: LoadedData = {
    train: { x: toInputMatrix(train, preprocessing), y: toTargetMatrix(train, targets) },
    test: test ? { x: toInputMatrix(test, preprocessing), y: toTargetMatrix(test, targets) } : undefined,
    features: train.d,
    preprocessing,
    targets,
    description: `${raw.name}: ${train.n} training${test ? ` + ${test.n} test` : ''} samples, ${train.d} feature${train.d === 1 ? '' : 's'}, ${targets.kind === 'onehot' ? `${targets.classes} classes (one-hot)` : `${targets.outputs} output${targets.outputs > 1 ? 's' : ''}`}${preprocessing.kind === 'none' ? '' : `, inputs scaled (${preprocessing.kind === 'divide' ? `÷${preprocessing.by}` : o.scale})`}`,
  };
  return data;
}
