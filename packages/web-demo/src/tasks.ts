/**
 * The demo's tasks and how a form's settings become a {@link Trainer} configuration. Browser-safe and free of
 * DOM access, so that the browser tests can build the very same run in Node (CpuBackend, f64) and compare.
 */
import {
  type Activation,
  type AdmmConfig,
  type HostMatrix,
  type InitScheme,
  type TrainingData,
  hostMatrix,
  productTask,
  squareTask,
  stepRuleByName,
} from '@nladmm/core';

export type TaskName = 'product' | 'square' | 'fashion-mnist';

export interface TaskInfo {
  readonly name: TaskName;
  readonly label: string;
  /** Input and output widths d_0 and d_N the task fixes. */
  readonly inputs: number;
  readonly outputs: number;
  readonly synthetic: boolean;
  /** Defaults the form starts from for this task. */
  readonly defaults: DemoSettings;
}

/** What the demo's form holds. */
export interface DemoSettings {
  readonly task: TaskName;
  /** Training samples of a synthetic task (Fashion-MNIST uses the subset prepared at build time). */
  readonly samples: number;
  /** d_0, …, d_N. */
  readonly layers: readonly number[];
  readonly activation: string;
  readonly beta: number;
  readonly lambda: number;
  readonly iterations: number;
  readonly stepRule: 'paper' | 'authors';
  readonly init: InitScheme;
  readonly initScale: number;
  readonly seed: number;
  readonly metricsEvery: number;
}

const synthetic = (task: 'product' | 'square', inputs: number): DemoSettings => ({
  task,
  samples: 200,
  layers: [inputs, 32, 32, 1],
  activation: 'sigmoid',
  beta: 1,
  lambda: 1e-3,
  iterations: 60,
  stepRule: 'paper',
  init: 'msra',
  initScale: 4,
  seed: 1,
  metricsEvery: 1,
});

export const TASKS: Readonly<Record<TaskName, TaskInfo>> = {
  product: { name: 'product', label: 'y = x₁·x₂ (synthetic)', inputs: 2, outputs: 1, synthetic: true, defaults: synthetic('product', 2) },
  square: { name: 'square', label: 'y = x² (synthetic)', inputs: 1, outputs: 1, synthetic: true, defaults: synthetic('square', 1) },
  'fashion-mnist': {
    name: 'fashion-mnist',
    label: 'Fashion-MNIST subset (10 classes)',
    inputs: 784,
    outputs: 10,
    synthetic: false,
    defaults: {
      task: 'fashion-mnist',
      samples: 2000,
      layers: [784, 64, 64, 10],
      activation: 'sigmoid',
      beta: 1,
      lambda: 1,
      iterations: 30,
      stepRule: 'paper',
      init: 'msra',
      initScale: 1,
      seed: 1,
      metricsEvery: 1,
    },
  },
};

/** Held-out samples drawn for a synthetic task: a quarter of the training set (at least 16). */
export function syntheticTestSize(samples: number): number {
  return Math.max(16, Math.round(samples / 4));
}

/**
 * The data of a synthetic task: `samples` training points from `seed` and a held-out set from `seed + 1` (the
 * generators of @nladmm/core, the authors' demo tasks).
 */
export function syntheticData(task: 'product' | 'square', samples: number, seed: number): TrainingData {
  const make = task === 'product' ? productTask : squareTask;
  const train = make(samples, seed);
  const test = make(syntheticTestSize(samples), seed + 1);
  return { x: train.x, y: train.y, xTest: test.x, yTest: test.y };
}

/**
 * Parses "784, 64, 64, 10" (or "784 64 10", "784×64×10", "784-64-10") into widths; throws a RangeError naming the
 * entry that is not a positive integer. A minus sign is never a separator next to a number it could negate, so
 * "2, -5, 1" is refused rather than read as 2-5-1, and an empty entry ("2,,1", a trailing comma) is refused too.
 */
export function parseLayers(text: string): number[] {
  const trimmed = text.trim();
  const parts = trimmed === '' ? [] : trimmed.split(/\s*[,×x]\s*|\s+|(?<=\d)-(?=\d)/);
  if (parts.length < 3) throw new RangeError(`layers: give d_0, hidden widths and d_N (at least 3 numbers), got "${text}"`);
  return parts.map((part, i) => {
    if (part === '') throw new RangeError(`layers: entry ${i + 1} of "${text}" is empty`);
    if (!/^[0-9]+$/.test(part) || Number(part) < 1) throw new RangeError(`layers: "${part}" (entry ${i + 1}) is not a positive integer`);
    return Number(part);
  });
}

/** The Trainer configuration of the demo's settings (the activation comes from the page's registry). */
export function admmConfig(settings: DemoSettings, activation: Activation): AdmmConfig {
  return {
    layers: [...settings.layers],
    activation,
    beta: settings.beta,
    lambda: settings.lambda,
    bias: true,
    stepRule: stepRuleByName(settings.stepRule),
    init: { scheme: settings.init, seed: settings.seed, scale: settings.initScale },
  };
}

// ---- the Fashion-MNIST subset file ----
//
// Written by scripts/build-web-demo.mjs next to the page (data/fashion-mnist-subset.bin), little endian:
//   bytes 0-3   "NLFM"
//   u32         format version (1)
//   u32         training images nTrain
//   u32         test images nTest
//   u32, u32    rows, cols of an image (28, 28)
//   u8[nTrain·rows·cols]  training images, one after the other, row-major pixels 0…255
//   u8[nTrain]            training labels 0…9
//   u8[nTest·rows·cols]   test images
//   u8[nTest]             test labels

export const SUBSET_MAGIC = 'NLFM';
export const SUBSET_VERSION = 1;
export const SUBSET_HEADER_BYTES = 24;

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export interface ImageSet {
  readonly count: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

export interface FashionMnistSubset {
  readonly rows: number;
  readonly cols: number;
  readonly train: ImageSet;
  readonly test: ImageSet;
}

/** Decodes the subset file; throws on a malformed one. */
export function decodeSubset(buffer: ArrayBuffer): FashionMnistSubset {
  if (buffer.byteLength < SUBSET_HEADER_BYTES) throw new Error(`Fashion-MNIST subset: ${buffer.byteLength} bytes is too short for the header`);
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== SUBSET_MAGIC) throw new Error(`Fashion-MNIST subset: bad magic ${JSON.stringify(magic)}`);
  const view = new DataView(buffer);
  const version = view.getUint32(4, true);
  if (version !== SUBSET_VERSION) throw new Error(`Fashion-MNIST subset: unsupported version ${version}`);
  const nTrain = view.getUint32(8, true);
  const nTest = view.getUint32(12, true);
  const rows = view.getUint32(16, true);
  const cols = view.getUint32(20, true);
  const size = rows * cols;
  const expected = SUBSET_HEADER_BYTES + (nTrain + nTest) * (size + 1);
  if (buffer.byteLength !== expected) throw new Error(`Fashion-MNIST subset: ${buffer.byteLength} bytes, expected ${expected}`);
  let offset = SUBSET_HEADER_BYTES;
  const take = (n: number): Uint8Array => {
    const part = bytes.subarray(offset, offset + n);
    offset += n;
    return part;
  };
  const train = { count: nTrain, pixels: take(nTrain * size), labels: take(nTrain) };
  const test = { count: nTest, pixels: take(nTest * size), labels: take(nTest) };
  for (const set of [train, test]) {
    for (const label of set.labels) if (label > 9) throw new Error(`Fashion-MNIST subset: label ${label} out of range`);
  }
  return { rows, cols, train, test };
}

/** X (pixels scaled to [0, 1], one image per column) and one-hot Y (10 × n) of an image set. */
export function imageSetMatrices(set: ImageSet, pixelsPerImage: number, count = set.count): { x: HostMatrix; y: HostMatrix } {
  const n = Math.min(count, set.count);
  const x = hostMatrix(pixelsPerImage, n);
  const y = hostMatrix(10, n);
  for (let c = 0; c < n; c++) {
    const base = c * pixelsPerImage;
    for (let r = 0; r < pixelsPerImage; r++) x.data[r * n + c] = set.pixels[base + r] / 255;
    y.data[set.labels[c] * n + c] = 1;
  }
  return { x, y };
}

/** Training data from the subset: the first `samples` training images and every test image. */
export function fashionMnistData(subset: FashionMnistSubset, samples: number): TrainingData {
  const size = subset.rows * subset.cols;
  const train = imageSetMatrices(subset.train, size, samples);
  const test = imageSetMatrices(subset.test, size);
  return { x: train.x, y: train.y, xTest: test.x, yTest: test.y };
}
