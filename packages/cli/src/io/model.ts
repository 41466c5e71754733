/**
 * Model and checkpoint files (safetensors). A model holds W1…WN (d_i × d_{i−1}) and, with biases, b1…bN
 * (the absorbed bias column of W_i split out). A checkpoint also holds V1…VN and L1…LN (Λ) and the trainer's
 * own state in the metadata, so that a run continues bit for bit. A baseline's checkpoint (gd, sgd, adam) holds,
 * besides W and b, the optimiser's moments M1…MN (velocity or Adam's first moment) and S1…SN (Adam's second
 * moment), each the shape of [W_i b_i], and the mini-batch sampler: `order` (the epoch's sample order) and, in the
 * metadata, its position and RNG state. Every file records what is needed to use it: widths, activation, input
 * preprocessing, target kind and the run's options.
 */
import { type BackpropCheckpoint, type HostMatrix, type HostIterate, type Precision, type RngState, type TrainerCheckpoint, hostMatrix } from '@nladmm/core';
import { DataError } from '../errors.ts';
import { open } from 'node:fs/promises';
import { readFailure, readInputFile } from './files.ts';
import type { Preprocessing, TargetKind } from '../data/datasets.ts';
import { type SafetensorsFile, type TensorToWrite, encodeSafetensors, parseSafetensors, parseSafetensorsLayout, readSafetensorsLayout, verifyChecksums, verifyMetadataChecksums } from './safetensors.ts';
import { VERSION } from '../version.ts';

export interface ModelInfo {
  readonly layers: readonly number[];
  /** The activation's name. A model file records a name only: it never names code to run. */
  readonly activation: string;
  /** The sha256 (hex) of the plugin file's bytes, when the activation is a plugin (absent for a built-in one). */
  readonly activationSha256?: string;
  /**
   * Where the plugin file was loaded from, for information (config.json) only: never written to a model or
   * checkpoint file, and never loaded. Read back from the `activation_plugin` of files of an older nladmm.
   */
  readonly activationPlugin?: string;
  /** The loss's name (`squared` when a file of an older nladmm records none). */
  readonly loss?: string;
  /** The sha256 (hex) of the loss plugin file's bytes, when the loss is a plugin. */
  readonly lossSha256?: string;
  /** Where the loss plugin was loaded from, for information (config.json) only: never written to a model or checkpoint. */
  readonly lossPlugin?: string;
  readonly bias: boolean;
  readonly precision: Precision;
  readonly preprocessing: Preprocessing;
  readonly targets: TargetKind;
  /** The iteration k the weights are from. */
  readonly iteration: number;
  /** The run's options (as in its config.json). */
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface ModelFile extends ModelInfo {
  /** W_1…W_N with their bias columns when `bias`. */
  readonly weights: HostMatrix[];
  readonly kind: 'model' | 'checkpoint';
  readonly path: string;
}

function dtypeOf(precision: Precision): 'F64' | 'F32' {
  return precision === 'f32' ? 'F32' : 'F64';
}

/** W_i without its bias column, and the bias column. */
export function splitBias(w: HostMatrix, bias: boolean): { w: HostMatrix; b?: Float64Array } {
  if (!bias) return { w };
  const cols = w.cols - 1;
  const plain = hostMatrix(w.rows, cols);
  const b = new Float64Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    plain.data.set(w.data.subarray(r * w.cols, r * w.cols + cols), r * cols);
    b[r] = w.data[r * w.cols + cols];
  }
  return { w: plain, b };
}

/** [W b]: W_i with its bias column appended. */
export function joinBias(w: HostMatrix, b: ArrayLike<number>): HostMatrix {
  const cols = w.cols + 1;
  const out = hostMatrix(w.rows, cols);
  for (let r = 0; r < w.rows; r++) {
    out.data.set(w.data.subarray(r * w.cols, (r + 1) * w.cols), r * cols);
    out.data[r * cols + w.cols] = b[r];
  }
  return out;
}

function weightTensors(weights: readonly HostMatrix[], bias: boolean, dtype: 'F64' | 'F32'): TensorToWrite[] {
  const out: TensorToWrite[] = [];
  weights.forEach((full, k) => {
    const { w, b } = splitBias(full, bias);
    out.push({ name: `W${k + 1}`, dtype, shape: [w.rows, w.cols], data: w.data });
    if (b) out.push({ name: `b${k + 1}`, dtype, shape: [b.length], data: b });
  });
  return out;
}

function infoMetadata(info: ModelInfo, format: string): Record<string, string> {
  const meta: Record<string, string> = {
    format,
    nladmm_version: VERSION,
    layers: JSON.stringify(info.layers),
    activation: info.activation,
    loss: info.loss ?? 'squared',
    bias: String(info.bias),
    precision: info.precision,
    preprocessing: JSON.stringify(info.preprocessing),
    targets: JSON.stringify(info.targets),
    k: String(info.iteration),
  };
  // The plugin by its content hash only: a model file never names a path or module to load.
  if (info.activationSha256) meta.activation_sha256 = info.activationSha256;
  if (info.lossSha256) meta.loss_sha256 = info.lossSha256;
  // The options, with a plugin's path (the --activation or --loss of the run) replaced by its name.
  if (info.options) {
    const options: Record<string, unknown> = { ...info.options };
    if (info.activationSha256 && 'activation' in options) options.activation = info.activation;
    if (info.lossSha256 && 'loss' in options) options.loss = info.loss;
    meta.config = JSON.stringify(options);
  }
  return meta;
}

export function encodeModel(weights: readonly HostMatrix[], info: ModelInfo): Uint8Array {
  return encodeSafetensors(weightTensors(weights, info.bias, dtypeOf(info.precision)), infoMetadata(info, 'nladmm-model'));
}

/** What the process writing a checkpoint records about itself (checked when the run is resumed). */
export interface CheckpointWriter {
  /** The iteration this process started from (0 for a fresh run, the checkpoint's k for a resumed one). */
  readonly resumedFrom?: number;
}

/**
 * A checkpoint: the model tensors, V1…VN and L1…LN, and the trainer's state (exact decimal strings), with the
 * sha256 of every tensor and metadata entry (see safetensors.ts).
 */
export function encodeCheckpoint(cp: TrainerCheckpoint, info: ModelInfo, writer: CheckpointWriter = {}): Uint8Array {
  const dtype = dtypeOf(info.precision);
  const depth = info.layers.length - 1;
  const tensors = weightTensors(cp.iterate.W.slice(1, depth + 1), info.bias, dtype);
  for (let i = 1; i <= depth; i++) tensors.push({ name: `V${i}`, dtype, shape: [cp.iterate.V[i].rows, cp.iterate.V[i].cols], data: cp.iterate.V[i].data });
  for (let i = 1; i <= depth; i++) tensors.push({ name: `L${i}`, dtype, shape: [cp.iterate.Lambda[i].rows, cp.iterate.Lambda[i].cols], data: cp.iterate.Lambda[i].data });
  const meta = infoMetadata({ ...info, iteration: cp.iterate.iteration }, 'nladmm-checkpoint');
  meta.gradSqSum = String(cp.gradSqSum);
  meta.gradSqCount = String(cp.gradSqCount);
  meta.elapsedMs = String(cp.elapsedMs);
  if (writer.resumedFrom !== undefined) meta.resumedFrom = String(writer.resumedFrom);
  return encodeSafetensors(tensors, meta, { checksums: true });
}

/**
 * A baseline's checkpoint: the model tensors, the moments and the sampler. Moments and order are stored in F64
 * whatever the precision, so that the state (and so the continued run) is exact.
 */
export function encodeBaselineCheckpoint(cp: BackpropCheckpoint, info: ModelInfo, optimizer: string, writer: CheckpointWriter = {}): Uint8Array {
  const tensors = weightTensors(cp.weights, info.bias, dtypeOf(info.precision));
  cp.firstMoment.forEach((m, k) => tensors.push({ name: `M${k + 1}`, dtype: 'F64', shape: [m.rows, m.cols], data: m.data }));
  cp.secondMoment.forEach((m, k) => tensors.push({ name: `S${k + 1}`, dtype: 'F64', shape: [m.rows, m.cols], data: m.data }));
  tensors.push({ name: 'order', dtype: 'F64', shape: [cp.order.length], data: Float64Array.from(cp.order) });
  const meta = infoMetadata({ ...info, iteration: cp.iteration }, 'nladmm-baseline-checkpoint');
  meta.optimizer = optimizer;
  meta.elapsedMs = String(cp.elapsedMs);
  meta.cursor = String(cp.cursor);
  meta.rng = JSON.stringify(cp.rng);
  if (writer.resumedFrom !== undefined) meta.resumedFrom = String(writer.resumedFrom);
  return encodeSafetensors(tensors, meta, { checksums: true });
}

function parseJson<T>(file: SafetensorsFile, key: string, path: string): T {
  const text = file.metadata[key];
  if (text === undefined) throw new DataError(path, `no '${key}' in the metadata (not an nladmm model file?)`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new DataError(path, `metadata '${key}' is not valid JSON`);
  }
}

function matrix(file: SafetensorsFile, name: string, path: string, rows: number, cols: number): HostMatrix {
  const t = file.get(name);
  if (!t) throw new DataError(path, `has no tensor ${name}`);
  const shapeOk = t.shape.length === 2 ? t.shape[0] === rows && t.shape[1] === cols : t.shape.length === 1 && cols === 1 && t.shape[0] === rows;
  if (!shapeOk) throw new DataError(path, `tensor ${name} has shape [${t.shape.join(', ')}], expected [${rows}, ${cols}]`);
  return { rows, cols, data: t.data };
}

/** Fails on the first NaN or ±Infinity of a tensor, naming it with the row and column (counted from 0). */
function checkFiniteTensor(data: ArrayLike<number>, name: string, path: string, cols: number, vector: boolean): void {
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      const at = vector ? `at row ${k}` : `at row ${Math.floor(k / cols)}, column ${k % cols}`;
      throw new DataError(path, `${name} holds ${data[k]} ${at} (a model's weights must be finite)`);
    }
  }
}

const ACTIVATION_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * Reads a model (or a checkpoint, used as a model) written by nladmm. The activation is a name, and a plugin's is
 * recorded with its sha256 (`activation_sha256`); a path in `activation_plugin` (older files) is kept for messages
 * and never loaded. So is the loss (`loss`, `loss_sha256`; a file without `loss` was trained with the squared loss). A NaN or infinite weight is an error naming the tensor, its row and its column.
 */
export function decodeModel(bytes: Uint8Array, path: string): ModelFile {
  const file = parseSafetensors(bytes, path);
  const format = file.metadata.format;
  if (format !== 'nladmm-model' && format !== 'nladmm-checkpoint' && format !== 'nladmm-baseline-checkpoint') throw new DataError(path, 'not an nladmm model or checkpoint (no format metadata); to start training from foreign weights use --init-weights');
  const layers = parseJson<number[]>(file, 'layers', path);
  if (!Array.isArray(layers) || layers.length < 2 || !layers.every((d) => Number.isInteger(d) && d > 0)) throw new DataError(path, 'metadata layers is not a list of widths');
  const activation = file.metadata.activation ?? 'sigmoid';
  if (!ACTIVATION_NAME.test(activation)) throw new DataError(path, `metadata activation ${JSON.stringify(activation.slice(0, 80))} is not an activation name (a model file never names code to run; a plugin is given with --activation FILE)`);
  const activationSha256 = file.metadata.activation_sha256;
  if (activationSha256 !== undefined && !/^[0-9a-f]{64}$/.test(activationSha256)) throw new DataError(path, 'metadata activation_sha256 is not a sha256 (64 hex digits)');
  // No loss recorded: a file of an older nladmm, trained with the squared loss.
  const loss = file.metadata.loss ?? 'squared';
  if (!ACTIVATION_NAME.test(loss)) throw new DataError(path, `metadata loss ${JSON.stringify(loss.slice(0, 80))} is not a loss name (a model file never names code to run; a plugin is given with --loss FILE)`);
  const lossSha256 = file.metadata.loss_sha256;
  if (lossSha256 !== undefined && !/^[0-9a-f]{64}$/.test(lossSha256)) throw new DataError(path, 'metadata loss_sha256 is not a sha256 (64 hex digits)');
  const bias = file.metadata.bias !== 'false';
  const weights: HostMatrix[] = [];
  for (let i = 1; i < layers.length; i++) {
    const w = matrix(file, `W${i}`, path, layers[i], layers[i - 1]);
    checkFiniteTensor(w.data, `W${i}`, path, w.cols, false);
    if (!bias) {
      weights.push(w);
      continue;
    }
    const b = matrix(file, `b${i}`, path, layers[i], 1);
    checkFiniteTensor(b.data, `b${i}`, path, 1, true);
    weights.push(joinBias(w, b.data));
  }
  const precision = file.metadata.precision === 'f32' ? 'f32' : 'f64';
  return {
    kind: format === 'nladmm-model' ? 'model' : 'checkpoint',
    path,
    layers,
    activation,
    ...(activationSha256 !== undefined ? { activationSha256 } : {}),
    ...(file.metadata.activation_plugin !== undefined ? { activationPlugin: file.metadata.activation_plugin } : {}),
    loss,
    ...(lossSha256 !== undefined ? { lossSha256 } : {}),
    bias,
    precision,
    preprocessing: parseJson<Preprocessing>(file, 'preprocessing', path),
    targets: parseJson<TargetKind>(file, 'targets', path),
    iteration: Number(file.metadata.k ?? 0),
    options: file.metadata.config ? parseJson<Record<string, unknown>>(file, 'config', path) : undefined,
    weights,
  };
}

export async function readModel(path: string): Promise<ModelFile> {
  return decodeModel(await readInputFile(path, 'model'), path);
}

type CheckpointFormat = 'nladmm-checkpoint' | 'nladmm-baseline-checkpoint';

/** A checkpoint's metadata, range-checked (see {@link checkCheckpointMetadata}). */
export interface CheckpointMetadata {
  readonly format: CheckpointFormat;
  /** The iteration k of the state. */
  readonly k: number;
  readonly elapsedMs: number;
  /** The iteration the writing process started from (absent in files of an older nladmm). */
  readonly resumedFrom?: number;
  /** The options of the run that wrote it (its `config`). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** The sha256 of the activation plugin, when the run used one. */
  readonly activationSha256?: string;
  /** The sha256 of the loss plugin, when the run used one. */
  readonly lossSha256?: string;
  /** ADMM: Σ‖∇𝓛‖² and the number of evaluated iterations in it. */
  readonly gradSqSum?: number;
  readonly gradSqCount?: number;
  /** Baselines: the optimiser, the sampler's position and RNG state. */
  readonly optimizer?: string;
  readonly cursor?: number;
  readonly rng?: RngState;
}

/** A checkpoint's metadata read from its header alone, with whether its checksums are there (and matched). */
export interface CheckpointHeader extends CheckpointMetadata {
  /** false: a file of an older nladmm, without checksums. */
  readonly verified: boolean;
}

/**
 * Range-checks the metadata of a checkpoint: every field the trainer's state comes from, with one line naming the
 * first that is missing or out of range (k an integer ≥ 0, elapsedMs finite ≥ 0, gradSqSum finite ≥ 0,
 * gradSqCount an integer in [0, k], resumedFrom an integer in [0, k], cursor an integer ≥ 0, rng and config JSON).
 */
export function checkCheckpointMetadata(metadata: Readonly<Record<string, string>>, path: string, format: CheckpointFormat): CheckpointMetadata {
  const bad = (key: string, rule: string): never => {
    const value = metadata[key];
    throw new DataError(path, `checkpoint metadata ${key} ${value === undefined ? 'is missing' : `= ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} is out of range`}: it must be ${rule}`);
  };
  const integer = (key: string, max?: number, maxText?: string): number => {
    const text = metadata[key];
    const rule = `an integer ≥ 0${max !== undefined ? ` and ≤ ${maxText}` : ''}`;
    if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) return bad(key, rule);
    const v = Number(text);
    if (!Number.isSafeInteger(v) || (max !== undefined && v > max)) return bad(key, rule);
    return v;
  };
  const nonNegative = (key: string): number => {
    const text = metadata[key];
    const v = text === undefined || text.trim() !== text || text === '' ? NaN : Number(text);
    if (!(Number.isFinite(v) && v >= 0)) return bad(key, 'a finite number ≥ 0');
    return v;
  };
  const json = (key: string, what: string): unknown => {
    try {
      return JSON.parse(metadata[key] ?? '');
    } catch {
      return bad(key, what);
    }
  };
  const k = integer('k');
  const elapsedMs = nonNegative('elapsedMs');
  const resumedFrom = metadata.resumedFrom !== undefined ? integer('resumedFrom', k, `k = ${k}`) : undefined;
  let options: Record<string, unknown> | undefined;
  if (metadata.config !== undefined) {
    const value = json('config', 'a JSON object of options');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) bad('config', 'a JSON object of options');
    options = value as Record<string, unknown>;
  }
  const activationSha256 = metadata.activation_sha256;
  const lossSha256 = metadata.loss_sha256;
  const common = {
    format,
    k,
    elapsedMs,
    ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    ...(options ? { options } : {}),
    ...(activationSha256 !== undefined ? { activationSha256 } : {}),
    ...(lossSha256 !== undefined ? { lossSha256 } : {}),
  };
  if (format === 'nladmm-checkpoint') {
    const gradSqSum = nonNegative('gradSqSum');
    const gradSqCount = integer('gradSqCount', k, `k = ${k}`);
    return { ...common, gradSqSum, gradSqCount };
  }
  const optimizer = metadata.optimizer;
  if (optimizer !== 'gd' && optimizer !== 'sgd' && optimizer !== 'adam') bad('optimizer', 'gd, sgd or adam');
  const cursor = integer('cursor');
  const rng = json('rng', 'a JSON RNG state') as RngState;
  return { ...common, optimizer, cursor, rng };
}

/** The one-line notice for a checkpoint without checksums (which is accepted: see the README). */
export function uncheckedNotice(path: string): string {
  return `${path} has no checksums (written by an older nladmm): it is resumed without verifying its bytes; the checkpoints this run writes carry them`;
}

function checkpointFormat(metadata: Readonly<Record<string, string>>, path: string, expected?: CheckpointFormat): CheckpointFormat {
  const format = metadata.format;
  if (expected === 'nladmm-checkpoint' && format !== expected) throw new DataError(path, 'not an nladmm checkpoint');
  if (expected === 'nladmm-baseline-checkpoint' && format !== expected) throw new DataError(path, 'not an nladmm baseline (gd, sgd, adam) checkpoint');
  if (format !== 'nladmm-checkpoint' && format !== 'nladmm-baseline-checkpoint') throw new DataError(path, 'not an nladmm checkpoint (no checkpoint format in its metadata)');
  return format;
}

/**
 * A checkpoint's header alone (its tensors are not read): the metadata checksums verified, then the fields
 * range-checked. What a resume checks before loading any data.
 */
export async function readCheckpointHeader(path: string): Promise<CheckpointHeader> {
  const layout = await readSafetensorsLayout(path, 'checkpoint');
  const format = checkpointFormat(layout.metadata, path);
  const verified = verifyMetadataChecksums(layout, path);
  return { ...checkCheckpointMetadata(layout.metadata, path, format), verified };
}

/** Parses a checkpoint, verifying every checksum before its values are used (`notice`: when it has none). */
function openCheckpoint(bytes: Uint8Array, path: string, format: CheckpointFormat, notice?: (text: string) => void): { file: SafetensorsFile; meta: CheckpointMetadata } {
  const layout = parseSafetensorsLayout(bytes, path);
  checkpointFormat(layout.metadata, path, format);
  if (!verifyChecksums(bytes, layout, path)) notice?.(uncheckedNotice(path));
  const meta = checkCheckpointMetadata(layout.metadata, path, format);
  return { file: parseSafetensors(bytes, path), meta };
}

/** Fails on the first NaN or ±Infinity of a checkpoint's tensor (a checkpoint is never written with one). */
function checkFiniteState(m: HostMatrix, name: string, path: string): void {
  for (let k = 0; k < m.data.length; k++) {
    if (!Number.isFinite(m.data[k])) {
      throw new DataError(path, `tensor ${name} holds ${m.data[k]} at row ${Math.floor(k / m.cols)}, column ${k % m.cols} (nladmm never writes a checkpoint with a NaN or infinite value: the file is corrupt)`);
    }
  }
}

/** W_i and, with biases, b_i of a checkpoint, checked finite, as [W_i b_i]. */
function checkpointWeight(file: SafetensorsFile, i: number, path: string, layers: readonly number[], bias: boolean): HostMatrix {
  const w = matrix(file, `W${i}`, path, layers[i], layers[i - 1]);
  checkFiniteState(w, `W${i}`, path);
  if (!bias) return w;
  const b = matrix(file, `b${i}`, path, layers[i], 1);
  checkFiniteState(b, `b${i}`, path);
  return joinBias(w, b.data);
}

/**
 * A checkpoint's trainer state for a network of the given widths and samples n. Every checksum is verified (a
 * mismatch is one line naming the tensor or metadata entry), the metadata range-checked and every value checked
 * finite; a file without checksums (an older nladmm) is accepted with `notice`.
 */
export function decodeCheckpoint(bytes: Uint8Array, path: string, layers: readonly number[], bias: boolean, n: number, notice?: (text: string) => void): TrainerCheckpoint {
  const { file, meta } = openCheckpoint(bytes, path, 'nladmm-checkpoint', notice);
  const depth = layers.length - 1;
  const W: HostMatrix[] = [hostMatrix(0, 0)];
  const V: HostMatrix[] = [hostMatrix(0, 0)];
  const Lambda: HostMatrix[] = [hostMatrix(0, 0)];
  for (let i = 1; i <= depth; i++) {
    W.push(checkpointWeight(file, i, path, layers, bias));
    V.push(matrix(file, `V${i}`, path, layers[i], n));
    checkFiniteState(V[i], `V${i}`, path);
    Lambda.push(matrix(file, `L${i}`, path, layers[i], n));
    checkFiniteState(Lambda[i], `L${i}`, path);
  }
  const iterate: HostIterate = { iteration: meta.k, W, V, Lambda };
  return { iterate, gradSqSum: meta.gradSqSum!, gradSqCount: meta.gradSqCount!, elapsedMs: meta.elapsedMs };
}

/**
 * A baseline checkpoint's state for a network of the given widths and n samples; `optimizer` must be the run's.
 * Checked as {@link decodeCheckpoint} checks an ADMM one.
 */
export function decodeBaselineCheckpoint(bytes: Uint8Array, path: string, layers: readonly number[], bias: boolean, n: number, optimizer: string, notice?: (text: string) => void): BackpropCheckpoint {
  const { file, meta } = openCheckpoint(bytes, path, 'nladmm-baseline-checkpoint', notice);
  if (meta.optimizer !== optimizer) throw new DataError(path, `is a checkpoint of optimizer ${meta.optimizer}, the run uses ${optimizer}`);
  const depth = layers.length - 1;
  const weights: HostMatrix[] = [];
  const firstMoment: HostMatrix[] = [];
  const secondMoment: HostMatrix[] = [];
  const extra = bias ? 1 : 0;
  for (let i = 1; i <= depth; i++) {
    weights.push(checkpointWeight(file, i, path, layers, bias));
    if (file.get(`M${i}`)) firstMoment.push(matrix(file, `M${i}`, path, layers[i], layers[i - 1] + extra));
    if (file.get(`S${i}`)) secondMoment.push(matrix(file, `S${i}`, path, layers[i], layers[i - 1] + extra));
  }
  if (meta.cursor! > n) throw new DataError(path, `checkpoint metadata cursor = ${meta.cursor} is out of range: it must be an integer ≥ 0 and ≤ n = ${n}`);
  const order = matrix(file, 'order', path, n, 1).data;
  return {
    iteration: meta.k,
    elapsedMs: meta.elapsedMs,
    weights,
    firstMoment,
    secondMoment,
    order: Array.from(order),
    cursor: meta.cursor!,
    rng: meta.rng!,
  };
}

/** What a checkpoint file on disk is worth: verified by its checksums, without them (older nladmm), or bad. */
export type CheckpointVerdict = { readonly state: 'verified' | 'unchecked'; readonly iteration: number } | { readonly state: 'bad'; readonly reason: string };

/** Reads a checkpoint file and checks its checksums and metadata (the divergence message says what is kept). */
export async function verifyCheckpointFile(path: string): Promise<CheckpointVerdict> {
  try {
    const bytes = await readInputFile(path, 'checkpoint');
    const layout = parseSafetensorsLayout(bytes, path);
    const format = checkpointFormat(layout.metadata, path);
    const verified = verifyChecksums(bytes, layout, path);
    const { k } = checkCheckpointMetadata(layout.metadata, path, format);
    return { state: verified ? 'verified' : 'unchecked', iteration: k };
  } catch (err) {
    return { state: 'bad', reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Initial weights from any safetensors file with tensors W1…WN (d_i × d_{i−1}, or d_i × (d_{i−1}+1) with the
 * bias column) and optionally b1…bN. Missing biases start at zero.
 */
export async function readInitWeights(path: string, layers: readonly number[], bias: boolean, what = '--init-weights'): Promise<HostMatrix[]> {
  const file = parseSafetensors(await readInputFile(path, what), path);
  const out: HostMatrix[] = [];
  for (let i = 1; i < layers.length; i++) {
    const t = file.get(`W${i}`);
    if (!t) throw new DataError(path, `has no tensor W${i} (found: ${file.tensors.map((x) => x.name).join(', ') || 'none'})`);
    const rows = layers[i];
    const fanIn = layers[i - 1];
    if (t.shape.length !== 2 || t.shape[0] !== rows || (t.shape[1] !== fanIn && !(bias && t.shape[1] === fanIn + 1))) {
      throw new DataError(path, `tensor W${i} has shape [${t.shape.join(', ')}] but layer ${i} needs [${rows}, ${fanIn}]${bias ? ` (or [${rows}, ${fanIn + 1}] with the bias column)` : ''}`);
    }
    const w: HostMatrix = { rows, cols: t.shape[1], data: t.data };
    const b = file.get(`b${i}`);
    if (b) {
      if (!bias) throw new DataError(path, `has a bias b${i} but the run has --no-bias`);
      if (t.shape[1] !== fanIn) throw new DataError(path, `has both a bias column in W${i} and a tensor b${i}`);
      if (b.shape.length !== 1 || b.shape[0] !== rows) throw new DataError(path, `tensor b${i} has shape [${b.shape.join(', ')}], expected [${rows}]`);
      out.push(joinBias(w, b.data));
    } else out.push(w);
  }
  return out;
}

/** The iteration k in the metadata of a checkpoint (or model) file, read from its header alone. */
export async function recordedIteration(path: string): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new DataError(path, readFailure(err));
  }
  try {
    const head = Buffer.alloc(8);
    const length = (await handle.read(head, 0, 8, 0)).bytesRead === 8 ? Number(head.readBigUInt64LE(0)) : 0;
    if (!(length > 0 && length <= 100 * 1024 * 1024)) throw new DataError(path, 'not a safetensors file (bad header length)');
    const header = Buffer.alloc(length);
    if ((await handle.read(header, 0, length, 8)).bytesRead !== length) throw new DataError(path, 'truncated safetensors header');
    let meta: { __metadata__?: { k?: unknown } };
    try {
      meta = JSON.parse(header.toString('utf8')) as { __metadata__?: { k?: unknown } };
    } catch (err) {
      throw new DataError(path, `the safetensors header is not JSON (${(err as Error).message})`);
    }
    const k = Number(meta.__metadata__?.k);
    if (!Number.isInteger(k) || k < 0) throw new DataError(path, 'no iteration k in the metadata');
    return k;
  } finally {
    await handle.close();
  }
}
