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
import { type SafetensorsFile, type TensorToWrite, encodeSafetensors, parseSafetensors } from './safetensors.ts';
import { VERSION } from '../version.ts';

export interface ModelInfo {
  readonly layers: readonly number[];
  readonly activation: string;
  /** Absolute path of the activation plugin file, when the activation is not built in. */
  readonly activationPlugin?: string;
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
    bias: String(info.bias),
    precision: info.precision,
    preprocessing: JSON.stringify(info.preprocessing),
    targets: JSON.stringify(info.targets),
    k: String(info.iteration),
  };
  if (info.activationPlugin) meta.activation_plugin = info.activationPlugin;
  if (info.options) meta.config = JSON.stringify(info.options);
  return meta;
}

export function encodeModel(weights: readonly HostMatrix[], info: ModelInfo): Uint8Array {
  return encodeSafetensors(weightTensors(weights, info.bias, dtypeOf(info.precision)), infoMetadata(info, 'nladmm-model'));
}

/** A checkpoint: the model tensors, V1…VN and L1…LN, and the trainer's state (exact decimal strings). */
export function encodeCheckpoint(cp: TrainerCheckpoint, info: ModelInfo): Uint8Array {
  const dtype = dtypeOf(info.precision);
  const depth = info.layers.length - 1;
  const tensors = weightTensors(cp.iterate.W.slice(1, depth + 1), info.bias, dtype);
  for (let i = 1; i <= depth; i++) tensors.push({ name: `V${i}`, dtype, shape: [cp.iterate.V[i].rows, cp.iterate.V[i].cols], data: cp.iterate.V[i].data });
  for (let i = 1; i <= depth; i++) tensors.push({ name: `L${i}`, dtype, shape: [cp.iterate.Lambda[i].rows, cp.iterate.Lambda[i].cols], data: cp.iterate.Lambda[i].data });
  const meta = infoMetadata({ ...info, iteration: cp.iterate.iteration }, 'nladmm-checkpoint');
  meta.gradSqSum = String(cp.gradSqSum);
  meta.gradSqCount = String(cp.gradSqCount);
  meta.elapsedMs = String(cp.elapsedMs);
  return encodeSafetensors(tensors, meta);
}

/**
 * A baseline's checkpoint: the model tensors, the moments and the sampler. Moments and order are stored in F64
 * whatever the precision, so that the state (and so the continued run) is exact.
 */
export function encodeBaselineCheckpoint(cp: BackpropCheckpoint, info: ModelInfo, optimizer: string): Uint8Array {
  const tensors = weightTensors(cp.weights, info.bias, dtypeOf(info.precision));
  cp.firstMoment.forEach((m, k) => tensors.push({ name: `M${k + 1}`, dtype: 'F64', shape: [m.rows, m.cols], data: m.data }));
  cp.secondMoment.forEach((m, k) => tensors.push({ name: `S${k + 1}`, dtype: 'F64', shape: [m.rows, m.cols], data: m.data }));
  tensors.push({ name: 'order', dtype: 'F64', shape: [cp.order.length], data: Float64Array.from(cp.order) });
  const meta = infoMetadata({ ...info, iteration: cp.iteration }, 'nladmm-baseline-checkpoint');
  meta.optimizer = optimizer;
  meta.elapsedMs = String(cp.elapsedMs);
  meta.cursor = String(cp.cursor);
  meta.rng = JSON.stringify(cp.rng);
  return encodeSafetensors(tensors, meta);
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

function metadataNumber(file: SafetensorsFile, key: string, path: string): number {
  const v = Number(file.metadata[key]);
  if (file.metadata[key] === undefined || Number.isNaN(v)) throw new DataError(path, `checkpoint metadata '${key}' is missing or not a number`);
  return v;
}

/** Reads a model (or a checkpoint, used as a model) written by nladmm. */
export function decodeModel(bytes: Uint8Array, path: string): ModelFile {
  const file = parseSafetensors(bytes, path);
  const format = file.metadata.format;
  if (format !== 'nladmm-model' && format !== 'nladmm-checkpoint' && format !== 'nladmm-baseline-checkpoint') throw new DataError(path, 'not an nladmm model or checkpoint (no format metadata); to start training from foreign weights use --init-weights');
  const layers = parseJson<number[]>(file, 'layers', path);
  if (!Array.isArray(layers) || layers.length < 2 || !layers.every((d) => Number.isInteger(d) && d > 0)) throw new DataError(path, 'metadata layers is not a list of widths');
  const bias = file.metadata.bias !== 'false';
  const weights: HostMatrix[] = [];
  for (let i = 1; i < layers.length; i++) {
    const w = matrix(file, `W${i}`, path, layers[i], layers[i - 1]);
    weights.push(bias ? joinBias(w, matrix(file, `b${i}`, path, layers[i], 1).data) : w);
  }
  const precision = file.metadata.precision === 'f32' ? 'f32' : 'f64';
  return {
    kind: format === 'nladmm-model' ? 'model' : 'checkpoint',
    path,
    layers,
    activation: file.metadata.activation ?? 'sigmoid',
    activationPlugin: file.metadata.activation_plugin,
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

/** A checkpoint's trainer state for a network of the given widths and samples n. */
export function decodeCheckpoint(bytes: Uint8Array, path: string, layers: readonly number[], bias: boolean, n: number): TrainerCheckpoint {
  const file = parseSafetensors(bytes, path);
  if (file.metadata.format !== 'nladmm-checkpoint') throw new DataError(path, 'not an nladmm checkpoint');
  const depth = layers.length - 1;
  const W: HostMatrix[] = [hostMatrix(0, 0)];
  const V: HostMatrix[] = [hostMatrix(0, 0)];
  const Lambda: HostMatrix[] = [hostMatrix(0, 0)];
  for (let i = 1; i <= depth; i++) {
    const w = matrix(file, `W${i}`, path, layers[i], layers[i - 1]);
    W.push(bias ? joinBias(w, matrix(file, `b${i}`, path, layers[i], 1).data) : w);
    V.push(matrix(file, `V${i}`, path, layers[i], n));
    Lambda.push(matrix(file, `L${i}`, path, layers[i], n));
  }
  const number = (key: string): number => metadataNumber(file, key, path);
  const iterate: HostIterate = { iteration: number('k'), W, V, Lambda };
  return { iterate, gradSqSum: number('gradSqSum'), gradSqCount: number('gradSqCount'), elapsedMs: number('elapsedMs') };
}

/** A baseline checkpoint's state for a network of the given widths and n samples; `optimizer` must be the run's. */
export function decodeBaselineCheckpoint(bytes: Uint8Array, path: string, layers: readonly number[], bias: boolean, n: number, optimizer: string): BackpropCheckpoint {
  const file = parseSafetensors(bytes, path);
  if (file.metadata.format !== 'nladmm-baseline-checkpoint') throw new DataError(path, 'not an nladmm baseline (gd, sgd, adam) checkpoint');
  if (file.metadata.optimizer !== optimizer) throw new DataError(path, `is a checkpoint of optimizer ${file.metadata.optimizer}, the run uses ${optimizer}`);
  const depth = layers.length - 1;
  const weights: HostMatrix[] = [];
  const firstMoment: HostMatrix[] = [];
  const secondMoment: HostMatrix[] = [];
  const extra = bias ? 1 : 0;
  for (let i = 1; i <= depth; i++) {
    const w = matrix(file, `W${i}`, path, layers[i], layers[i - 1]);
    weights.push(bias ? joinBias(w, matrix(file, `b${i}`, path, layers[i], 1).data) : w);
    if (file.get(`M${i}`)) firstMoment.push(matrix(file, `M${i}`, path, layers[i], layers[i - 1] + extra));
    if (file.get(`S${i}`)) secondMoment.push(matrix(file, `S${i}`, path, layers[i], layers[i - 1] + extra));
  }
  const number = (key: string): number => metadataNumber(file, key, path);
  const order = matrix(file, 'order', path, n, 1).data;
  return {
    iteration: number('k'),
    elapsedMs: number('elapsedMs'),
    weights,
    firstMoment,
    secondMoment,
    order: Array.from(order),
    cursor: number('cursor'),
    rng: parseJson<RngState>(file, 'rng', path),
  };
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
