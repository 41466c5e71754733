/**
 * What a training run allocates, before anything is allocated: every matrix {@link AdmmSolver} (and the
 * {@link Trainer}'s metrics) or {@link BackpropTrainer} makes on its backend, by shape, so that a caller can refuse
 * a problem that cannot fit (a 100000-wide layer needs a 100001² system matrix) with the estimate, instead of failing
 * inside an allocation. Pure functions of the widths and sample counts; the counts follow the constructors of
 * admm.ts, metrics.ts and baselines.ts (test/memory-estimate.test.ts checks them against a backend's allocations).
 */
import type { Precision } from './backend.ts';

/** One matrix (or `count` of them) of a given shape, with what it is. */
export interface MatrixShape {
  readonly label: string;
  readonly rows: number;
  readonly cols: number;
}

/** The matrices of a run on its backend. */
export interface SolverMatrices {
  /** Allocated when the trainer is made and kept until it is disposed. */
  readonly persistent: readonly MatrixShape[];
  /** The most allocated at once on top of them, while the metrics are evaluated (freed afterwards). */
  readonly transient: readonly MatrixShape[];
  /**
   * The host's f64 copy of the state a checkpoint holds (downloaded, then encoded), and the dtype the file stores
   * it in: what a checkpoint write (and a resume's read) needs on the host besides the data.
   */
  readonly checkpoint: readonly MatrixShape[];
}

/** The shape of a run: widths d_0…d_N, biases, n training samples and the test samples the metrics evaluate. */
export interface RunShape {
  readonly layers: readonly number[];
  readonly bias: boolean;
  readonly samples: number;
  /** Samples of the test set (0: none). */
  readonly testSamples: number;
}

/** A baseline's optimiser: which moments it keeps and its mini-batch size (n for the full batch). */
export interface BackpropShape extends RunShape {
  readonly optimizer: 'gd' | 'sgd' | 'adam';
  /** Heavy-ball momentum μ (gd, sgd): a velocity is kept when μ > 0. */
  readonly momentum: number;
  readonly batchSize: number;
}

/** Bytes per stored element of a backend's matrices. */
export function bytesPerElement(precision: Precision): number {
  return precision === 'f32' ? 4 : 8;
}

/** Σ rows·cols of the matrices. */
export function elementCount(list: readonly MatrixShape[]): number {
  return list.reduce((sum, m) => sum + m.rows * m.cols, 0);
}

/** The matrix with the most elements (undefined for an empty list). */
export function largestMatrix(list: readonly MatrixShape[]): MatrixShape | undefined {
  return list.reduce<MatrixShape | undefined>((best, m) => (!best || m.rows * m.cols > best.rows * best.cols ? m : best), undefined);
}

/** The hidden activations forwardPass (metrics.ts) keeps alive at once for `cols` samples, and its output. */
function forwardPass(layers: readonly number[], extra: number, cols: number, what: string): { temporaries: MatrixShape[]; out: MatrixShape } {
  const depth = layers.length - 1;
  const temporaries: MatrixShape[] = [];
  for (let i = 1; i < depth; i++) temporaries.push({ label: `${what} activation ${i}`, rows: layers[i] + extra, cols });
  return { temporaries, out: { label: `${what} output`, rows: layers[depth], cols } };
}

/** The larger (by elements) of two sets of matrices alive at different moments. */
function larger(a: MatrixShape[], b: MatrixShape[]): MatrixShape[] {
  return elementCount(a) >= elementCount(b) ? a : b;
}

/**
 * The matrices of Algorithm 1 ({@link AdmmSolver}) and its {@link Trainer} on a backend: Ṽ_j = [V_j; 1ᵀ], V_N, W_i,
 * Λ_i, S_i, the W systems and right-hand sides, the V systems (V_{N−1}'s of order d_N when solved by Woodbury, d_N <
 * d_{N−1}), two maxWidth × n work buffers, Y, X̃X̃ᵀ and the uploaded test inputs; the metrics' work buffers and
 * forward passes on top.
 */
export function admmMatrices(shape: RunShape): SolverMatrices {
  const { layers, bias, samples: n, testSamples } = shape;
  const depth = layers.length - 1;
  const extra = bias ? 1 : 0;
  const woodbury = layers[depth] < layers[depth - 1];
  const maxWidth = Math.max(...layers.slice(1));
  const persistent: MatrixShape[] = [];
  for (let j = 0; j < depth; j++) persistent.push({ label: j === 0 ? 'X̃' : `Ṽ${j}`, rows: layers[j] + extra, cols: n });
  persistent.push({ label: `V${depth}`, rows: layers[depth], cols: n });
  for (let i = 1; i <= depth; i++) {
    const cols = layers[i - 1] + extra;
    persistent.push({ label: `W${i}`, rows: layers[i], cols });
    persistent.push({ label: `Λ${i}`, rows: layers[i], cols: n });
    persistent.push({ label: `S${i}`, rows: layers[i], cols: n });
    persistent.push({ label: `W${i}'s system`, rows: cols, cols });
    persistent.push({ label: `W${i}'s right-hand side`, rows: layers[i], cols });
    if (i < depth) {
      const order = i === depth - 1 && woodbury ? layers[depth] : layers[i];
      persistent.push({ label: `V${i}'s system`, rows: order, cols: order });
    }
  }
  persistent.push({ label: 'work G', rows: maxWidth, cols: n }, { label: 'work R', rows: maxWidth, cols: n });
  persistent.push({ label: 'Y', rows: layers[depth], cols: n });
  persistent.push({ label: 'X̃X̃ᵀ', rows: layers[0] + extra, cols: layers[0] + extra });
  if (testSamples > 0) persistent.push({ label: 'test X̃', rows: layers[0] + extra, cols: testSamples });

  // MetricsEvaluator.evaluate: two maxWidth × n buffers and one the size of the largest W, then the network on the
  // training set (its activations freed before its output is read) and, while that output is alive, on the test set.
  const wRows = Math.max(...layers.slice(1));
  const wCols = Math.max(...layers.slice(0, depth)) + extra;
  const base: MatrixShape[] = [
    { label: 'metrics work', rows: maxWidth, cols: n },
    { label: 'metrics work E', rows: maxWidth, cols: n },
    { label: 'metrics ∂𝓛/∂W', rows: wRows, cols: wCols },
  ];
  const train = forwardPass(layers, extra, n, 'train');
  const test = testSamples > 0 ? forwardPass(layers, extra, testSamples, 'test') : undefined;
  const duringTrain = [...train.temporaries, train.out];
  const duringTest = test ? [train.out, ...test.temporaries, test.out] : [];
  const transient = [...base, ...larger(duringTrain, duringTest)];

  const checkpoint: MatrixShape[] = [];
  for (let i = 1; i <= depth; i++) {
    checkpoint.push({ label: `W${i}`, rows: layers[i], cols: layers[i - 1] + extra });
    checkpoint.push({ label: `V${i}`, rows: layers[i], cols: n });
    checkpoint.push({ label: `Λ${i}`, rows: layers[i], cols: n });
  }
  return { persistent, transient, checkpoint };
}

/**
 * The matrices of a backpropagation baseline ({@link BackpropTrainer}): per layer W_i, its gradient, the velocity
 * (μ > 0 or Adam) and Adam's second moment; the buffers of a full-batch pass (Ã_0…Ã_{N−1}, Z_1…Z_{N−1}, δ_1…δ_N, Y)
 * and of a mini-batch pass when b < n; the test inputs. The metrics add a forward pass on the test set.
 */
export function backpropMatrices(shape: BackpropShape): SolverMatrices {
  const { layers, bias, samples: n, testSamples, optimizer, momentum, batchSize } = shape;
  const depth = layers.length - 1;
  const extra = bias ? 1 : 0;
  const adam = optimizer === 'adam';
  const persistent: MatrixShape[] = [];
  const checkpoint: MatrixShape[] = [];
  for (let i = 1; i <= depth; i++) {
    const cols = layers[i - 1] + extra;
    persistent.push({ label: `W${i}`, rows: layers[i], cols }, { label: `∇W${i}`, rows: layers[i], cols });
    checkpoint.push({ label: `W${i}`, rows: layers[i], cols });
    if (momentum > 0 || adam) {
      persistent.push({ label: `M${i}`, rows: layers[i], cols });
      checkpoint.push({ label: `M${i}`, rows: layers[i], cols });
    }
    if (adam) {
      persistent.push({ label: `S${i}`, rows: layers[i], cols });
      checkpoint.push({ label: `S${i}`, rows: layers[i], cols });
    }
  }
  const pass = (cols: number, what: string) => {
    persistent.push({ label: `${what} Ã0`, rows: layers[0] + extra, cols });
    for (let i = 1; i < depth; i++) persistent.push({ label: `${what} Ã${i}`, rows: layers[i] + extra, cols }, { label: `${what} Z${i}`, rows: layers[i], cols });
    for (let i = 1; i <= depth; i++) persistent.push({ label: `${what} δ${i}`, rows: layers[i], cols });
    persistent.push({ label: `${what} Y`, rows: layers[depth], cols });
  };
  pass(n, 'full-batch');
  if (batchSize < n) pass(batchSize, 'mini-batch');
  if (testSamples > 0) persistent.push({ label: 'test X̃', rows: layers[0] + extra, cols: testSamples });
  const test = testSamples > 0 ? forwardPass(layers, extra, testSamples, 'test') : undefined;
  const transient = test ? [...test.temporaries, test.out] : [];
  checkpoint.push({ label: 'order', rows: n, cols: 1 });
  return { persistent, transient, checkpoint };
}

/** A run's memory, in bytes. */
export interface MemoryEstimate {
  /** The backend's matrices: kept for the run, and the most added at once while measuring. */
  readonly solverBytes: number;
  readonly transientBytes: number;
  /** On the host besides the data: a checkpoint's f64 copy of the state and its encoded file. */
  readonly checkpointBytes: number;
  /** The largest single matrix on the backend. */
  readonly largest: MatrixShape & { readonly bytes: number };
}

/**
 * The bytes of a run's matrices at `precision` (4 or 8 bytes per element on the backend; the host's checkpoint copy
 * is f64, and the file stores the state in the run's precision, baselines' moments in f64).
 */
export function estimateMemory(matrices: SolverMatrices, precision: Precision, options: { fileDtypeBytes?: number } = {}): MemoryEstimate {
  const bytes = bytesPerElement(precision);
  const largest = largestMatrix(matrices.persistent)!;
  const state = elementCount(matrices.checkpoint);
  return {
    solverBytes: elementCount(matrices.persistent) * bytes,
    transientBytes: elementCount(matrices.transient) * bytes,
    checkpointBytes: state * (8 + (options.fileDtypeBytes ?? bytes)),
    largest: { ...largest, bytes: largest.rows * largest.cols * bytes },
  };
}
