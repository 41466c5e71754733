/**
 * Refuses a training run that cannot fit, before it allocates: core's estimate of every matrix the trainer makes
 * (admmMatrices / backpropMatrices) times the bytes per element, plus what the CLI holds on the host (the data, a
 * checkpoint's copy of the state and its encoded file), against the memory available now. On the CPU backends (cpu,
 * blas) the matrices are host memory too, and one matrix must also fit a single JavaScript typed array. On webgpu the
 * device's memory is not known (WebGPU does not report it): only the host side and the per-buffer limit (one column
 * of a matrix within maxStorageBufferBindingSize; longer matrices are split by columns) are checked.
 */
import { constants } from 'node:buffer';
import { freemem } from 'node:os';
import { type Backend, type MatrixShape, type SolverMatrices, admmMatrices, backpropMatrices, estimateMemory } from '@nladmm/core';
import { BUILTIN_IDX, SYNTHETIC, type LoadedData } from './data/datasets.ts';
import { CliError } from './errors.ts';
import type { TrainSettings } from './trainOptions.ts';

/** The memory the process may still use: os.freemem() (MemAvailable on Linux), within a cgroup limit if any. */
export function availableMemory(): number {
  const free = freemem();
  const fromProcess = (process as { availableMemory?: () => number }).availableMemory?.();
  return typeof fromProcess === 'number' && fromProcess > 0 ? Math.min(free, fromProcess) : free;
}

/** The most elements one typed array may hold in this JavaScript engine (Node 20: 2³²). */
export const MAX_ARRAY_ELEMENTS: number = constants.MAX_LENGTH;

/** What is known of a run's size: the sample counts (lower bounds before the data is loaded). */
export interface RunSize {
  readonly samples: number;
  readonly testSamples: number;
  /** Whether the counts are exact (false: lower bounds, the data not yet loaded). */
  readonly exact: boolean;
  /** Bytes of the data still to be loaded on the host (0 once it is). */
  readonly dataBytes: number;
}

/**
 * The sample counts a run's options fix before its data is read: a synthetic data set draws --n-train (1000) and
 * --n-test (1000); any other takes the first --n-train samples (more is an error), else at least 1.
 */
export function sizeFromSettings(s: TrainSettings, layers: readonly number[]): RunSize {
  const synthetic = (SYNTHETIC as readonly string[]).includes(s.dataset);
  const idx = (BUILTIN_IDX as readonly string[]).includes(s.dataset);
  const samples = synthetic ? (s.nTrain ?? 1000) : (s.nTrain ?? 1);
  const hasTest = synthetic || idx || s.testDataset !== undefined || s.testSplit > 0;
  const testSamples = synthetic ? (s.nTest ?? 1000) : hasTest && s.nTest !== undefined ? s.nTest : 0;
  const exact = synthetic || (s.nTrain !== undefined && (!hasTest || s.nTest !== undefined));
  return { samples, testSamples, exact, dataBytes: 8 * (layers[0] + layers[layers.length - 1]) * (samples + testSamples) };
}

/** The size of loaded data (exact; its bytes are already in use). */
export function sizeFromData(data: LoadedData): RunSize {
  return { samples: data.train.x.cols, testSamples: data.test?.x.cols ?? 0, exact: true, dataBytes: 0 };
}

function matricesOf(s: TrainSettings, layers: readonly number[], size: RunSize): SolverMatrices {
  const shape = { layers, bias: s.bias, samples: size.samples, testSamples: size.testSamples };
  if (s.optimizer === 'admm') return admmMatrices(shape);
  const momentum = s.optimizer === 'adam' ? 0 : (s.momentum ?? (s.optimizer === 'sgd' ? 0.9 : 0));
  return backpropMatrices({ ...shape, optimizer: s.optimizer, momentum, batchSize: Math.min(s.batchSize ?? size.samples, size.samples) });
}

export function bytesText(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toPrecision(3)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toPrecision(3)} MB`;
  return `${Math.ceil(bytes / 1e3)} kB`;
}

function shapeText(m: MatrixShape): string {
  return `${m.label} ${m.rows}×${m.cols}`;
}

/**
 * Throws a CliError (one line: the estimate, its parts and the memory available) when the run cannot fit. `backend`:
 * the backend when it exists (before: cpu and blas are known to compute on the host, webgpu on its device, and
 * auto with f32 may be either, so only the host side is checked).
 */
export function checkRunMemory(s: TrainSettings, layers: readonly number[], size: RunSize, backend?: Backend): void {
  const matrices = matricesOf(s, layers, size);
  const est = estimateMemory(matrices, s.precision, { fileDtypeBytes: s.optimizer === 'admm' ? undefined : 8 });
  const where = backend ? (backend.name === 'webgpu' ? 'device' : 'host') : s.backend === 'webgpu' ? 'device' : s.backend === 'auto' && s.precision === 'f32' ? 'unknown' : 'host';
  const name = backend ? backend.name : s.backend === 'auto' ? 'the CPU' : s.backend;
  const count = `n = ${size.samples}${size.exact ? '' : ' or more'} samples${size.testSamples > 0 ? ` (and ${size.testSamples} test samples)` : ''}`;
  const network = `${layers.join('-')} with ${count}`;
  // A host backend's own workspace: in f32 it factors and solves on an f64 copy of an operand (the largest at most);
  // in f64 its temporaries (packing buffers, a transposed right-hand side) are small next to the matrices.
  const workspace = where === 'host' && s.precision === 'f32' ? est.largest.rows * est.largest.cols * 8 : 0;
  const onHost = where === 'host' ? est.solverBytes + est.transientBytes + workspace : 0;
  const need = onHost + est.checkpointBytes + size.dataBytes;
  const available = availableMemory();
  if (need > available) {
    const parts = [
      ...(where === 'host' ? [`${bytesText(est.solverBytes)} for the solver's matrices (the largest ${shapeText(est.largest)}: ${bytesText(est.largest.bytes)})`, `${bytesText(est.transientBytes + workspace)} while measuring and solving`] : []),
      `${bytesText(est.checkpointBytes)} for a checkpoint's copies`,
      ...(size.dataBytes > 0 ? [`${bytesText(size.dataBytes)} for the data`] : []),
    ];
    throw new CliError(
      `${network} needs ${size.exact ? 'about' : 'at least'} ${bytesText(need)} of memory on ${name} (${s.precision}${where === 'device' ? `; besides ${bytesText(est.solverBytes + est.transientBytes)} on the GPU` : ''}): ${parts.join(', ')}; ${bytesText(available)} is available (os.freemem): use smaller --layers${s.optimizer === 'admm' || s.batchSize === undefined ? ' or --n-train' : ', --n-train or --batch-size'}${s.precision === 'f64' ? ', or --precision f32' : ''}`,
    );
  }
  if (where === 'host') {
    const tooLong = matrices.persistent.find((m) => m.rows * m.cols > MAX_ARRAY_ELEMENTS);
    if (tooLong) throw new CliError(`${network}: the matrix ${shapeText(tooLong)} has more than the ${MAX_ARRAY_ELEMENTS} elements one JavaScript array may hold: use smaller --layers or --n-train`);
  }
  const maxBinding = (backend as { maxBindingBytes?: number } | undefined)?.maxBindingBytes;
  if (where === 'device' && typeof maxBinding === 'number') {
    const tooTall = matrices.persistent.find((m) => m.rows * 4 > maxBinding);
    if (tooTall) throw new CliError(`${network}: one column of the matrix ${shapeText(tooTall)} (${bytesText(tooTall.rows * 4)}) exceeds the device's storage buffer binding limit of ${bytesText(maxBinding)}: use smaller --layers`);
  }
}
