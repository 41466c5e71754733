/**
 * Which compute backend a run uses. This is the one place that knows the backends: `cpu` is the JavaScript f64/f32
 * reference; `blas` is the native CPU backend over the system's CBLAS + LAPACK (Debian's OpenBLAS by default,
 * `NLADMM_BLAS=/path/lib.so` names another), f64 and f32, on `--threads` threads; `webgpu` runs on a WebGPU adapter
 * through Dawn (a GPU, or SwiftShader's software Vulkan when there is none). `auto` picks a hardware WebGPU adapter
 * for f32 runs when one exists (never SwiftShader), else `blas`, else `cpu` — falling back from blas with one
 * notice saying why.
 */
import type { Backend, Precision } from '@nladmm/core';
import { BlasBackend, BlasUnavailableError, loadBlas, resolveThreads } from '@nladmm/blas-backend';
import { CpuBackend } from '@nladmm/cpu-backend';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { type NodeDevice, type SoftwarePolicy, createNodeDevice } from '@nladmm/webgpu-backend/node';
import type { OptionSpec } from './args.ts';
import { CliError, UsageError, messageOf } from './errors.ts';

export const BACKEND_CHOICES = ['auto', 'cpu', 'blas', 'webgpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The `--backend` option of the commands that compute (train, compare, eval, predict). */
export function backendOption(group: string): OptionSpec {
  return {
    name: 'backend',
    type: 'string',
    group,
    placeholder: 'NAME',
    choices: BACKEND_CHOICES,
    description: "compute backend: cpu (the JavaScript reference), blas (the system's BLAS + LAPACK; NLADMM_BLAS=/path/lib.so picks the library), webgpu (f32); auto: a hardware WebGPU adapter for f32, else blas, else cpu",
    defaultText: 'auto',
  };
}

/** The `--threads` option next to `--backend` (`note`: what else the help says about it). */
export function threadsOption(group: string, note = ''): OptionSpec {
  return {
    name: 'threads',
    type: 'integer',
    group,
    placeholder: 'N',
    description: `threads of the blas backend (its library and elementwise loops; unused by cpu and webgpu)${note}`,
    defaultText: 'NLADMM_THREADS, else the number of cores',
  };
}

/** Whether a backend choice may run on the blas backend (and so needs a thread count). */
export function mayUseBlas(choice: BackendChoice | undefined): boolean {
  return choice === 'blas' || choice === 'auto';
}

/** The thread count of a run that gives no --threads: NLADMM_THREADS, else the cores (a bad NLADMM_THREADS: usage error). */
export function defaultThreads(): number {
  try {
    return resolveThreads(undefined);
  } catch (err) {
    throw new UsageError(withoutPrefix(err));
  }
}

export interface BackendOptions {
  /** Threads of the blas backend (default: NLADMM_THREADS, else the cores). */
  readonly threads?: number;
  /** Receives a one-line notice when `auto` cannot use a backend it prefers (the blas library does not load). */
  readonly notice?: (text: string) => void;
}

/** The backend library's message without its "blas backend: " prefix. */
function withoutPrefix(err: unknown): string {
  return messageOf(err).replace(/^blas backend: /, '');
}

/** A BlasBackend; a bad thread count (from NLADMM_THREADS) is a usage error, a missing library a BlasUnavailableError. */
function createBlas(precision: Precision, threads: number | undefined): Backend {
  try {
    return new BlasBackend({ precision, threads });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(withoutPrefix(err));
    throw err;
  }
}

/** A WebGPU backend on a Dawn device; disposing it also destroys the device (a live one keeps a core busy). */
async function createWebGpu(software: SoftwarePolicy): Promise<Backend> {
  let node: NodeDevice;
  try {
    node = await createNodeDevice({ software });
  } catch (err) {
    throw new CliError(`webgpu backend not available: ${(err as Error).message}`);
  }
  const backend = await WebGpuBackend.create({ device: node.device, adapterInfo: node.info });
  const disposeBackend = backend.dispose.bind(backend);
  backend.dispose = () => {
    disposeBackend();
    node.destroy();
  };
  return backend;
}

export async function createBackend(choice: BackendChoice, precision: Precision, options: BackendOptions = {}): Promise<Backend> {
  switch (choice) {
    case 'cpu':
      return new CpuBackend({ precision });
    case 'blas':
      try {
        return createBlas(precision, options.threads);
      } catch (err) {
        if (err instanceof BlasUnavailableError) throw new CliError(err.message);
        throw err;
      }
    case 'webgpu':
      // A contradiction of two options: a usage error (train and compare find it in their options, before any data).
      if (precision !== 'f32') throw new UsageError('the webgpu backend computes in f32: add --precision f32');
      return createWebGpu('auto');
    case 'auto':
      if (precision === 'f32') {
        try {
          return await createWebGpu('forbid');
        } catch {
          // no hardware adapter: the CPU
        }
      }
      try {
        return createBlas(precision, options.threads);
      } catch (err) {
        if (!(err instanceof BlasUnavailableError)) throw err;
        options.notice?.(`blas backend unavailable (${withoutPrefix(err)}); using the JavaScript reference (cpu)`);
      }
      return new CpuBackend({ precision });
  }
}

/** The blas library as `nladmm info` shows it. */
export interface BlasInfo {
  readonly path: string;
  readonly vendor: string;
  /** The library's description of its build (OpenBLAS: openblas_get_config). */
  readonly config: string;
  readonly threading: string;
  /** The thread count a run uses without --threads (null: NLADMM_THREADS is not valid, see the detail). */
  readonly threads: number | null;
  readonly threadsControllable: boolean;
}

export interface BackendDescription {
  readonly name: string;
  readonly available: boolean;
  /** One line: what the backend runs on, or why it is unavailable. */
  readonly detail: string;
  /** blas, when available: its library. */
  readonly library?: BlasInfo;
}

function describeBlas(): BackendDescription {
  let library;
  try {
    library = loadBlas();
  } catch (err) {
    if (!(err instanceof BlasUnavailableError)) throw err;
    return { name: 'blas', available: false, detail: withoutPrefix(err) };
  }
  let threads: number | null = null;
  let threadsText: string;
  try {
    threads = resolveThreads(undefined);
    threadsText = `${threads} thread${threads === 1 ? '' : 's'}`;
  } catch (err) {
    threadsText = withoutPrefix(err);
  }
  const { path, vendor, config, threading, threadsControllable } = library;
  return {
    name: 'blas',
    available: true,
    detail: `${vendor} (${threading} threading, ${threadsText}): ${path}`,
    library: { path, vendor, config, threading, threads, threadsControllable },
  };
}

/** What `nladmm info` lists. */
export async function describeBackends(): Promise<BackendDescription[]> {
  const cpu = new CpuBackend();
  const list: BackendDescription[] = [{ name: 'cpu', available: true, detail: cpu.describe() }];
  cpu.dispose();
  list.push(describeBlas());
  try {
    const node = await createNodeDevice({ software: 'auto' });
    list.push({ name: 'webgpu', available: true, detail: `${node.isSoftware ? 'software adapter (never chosen by --backend auto): ' : ''}${node.info.vendor} ${node.info.architecture} ${node.info.description}`.trim() });
    node.destroy();
  } catch (err) {
    list.push({ name: 'webgpu', available: false, detail: (err as Error).message });
  }
  return list;
}
