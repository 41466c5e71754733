/**
 * Finding and binding a CBLAS + LAPACK shared library through koffi (prebuilt from npm: no compiler step).
 * Default: Debian's OpenBLAS (`libopenblas0-pthread`); `NLADMM_BLAS=/path/lib.so` (or the `library` option) names
 * any other one that exports CBLAS and LAPACK's Fortran potrf (MKL's mkl_rt, BLIS with LAPACK, Accelerate).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

const require = createRequire(import.meta.url);

/** Why the blas backend cannot run: the library is missing, unreadable or lacks a routine. One line. */
export class BlasUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlasUnavailableError';
  }
}

/** CBLAS enum values (cblas.h). */
export const CBLAS = { RowMajor: 101, NoTrans: 111, Trans: 112, Upper: 121, Lower: 122, Left: 141, Right: 142, NonUnit: 131 } as const;

/** The typed array a precision computes in. */
export type Real = Float64Array | Float32Array;

/** The routines of one precision (d… or s…), with typed-array pointers passed without a copy. */
export interface PrecisionRoutines {
  gemm(order: number, transA: number, transB: number, m: number, n: number, k: number, alpha: number, a: Real, lda: number, b: Real, ldb: number, beta: number, c: Real, ldc: number): void;
  syrk(order: number, uplo: number, trans: number, n: number, k: number, alpha: number, a: Real, lda: number, beta: number, c: Real, ldc: number): void;
  trsm(order: number, side: number, uplo: number, transA: number, diag: number, m: number, n: number, alpha: number, a: Real, lda: number, b: Real, ldb: number): void;
  /** LAPACK's Fortran ?potrf_: (uplo, n, a, lda, info), every scalar by reference. */
  potrf(uplo: string, n: Int32Array, a: Real, lda: Int32Array, info: Int32Array): void;
  /** Σ xᵢ yᵢ, accumulated in double (f32: cblas_dsdot). */
  dot(n: number, x: Real, incx: number, y: Real, incy: number): number;
}

/** A loaded library: its routines in both precisions, what it says about itself, and its thread control. */
export interface BlasLibrary {
  /** The file that was loaded (resolved through the process's mappings where the loader found it by name). */
  readonly path: string;
  /** `OpenBLAS`, `MKL`, `BLIS` or `CBLAS` (unknown vendor). */
  readonly vendor: string;
  /** The library's own description of its build (OpenBLAS: openblas_get_config), or ''. */
  readonly config: string;
  /** How it threads: `pthreads`, `OpenMP`, `sequential` or `unknown`. */
  readonly threading: string;
  readonly f64: PrecisionRoutines;
  readonly f32: PrecisionRoutines;
  /** Whether {@link setThreads} has an effect (the vendor's thread-count call was found). */
  readonly threadsControllable: boolean;
  /** Sets the thread count of the library's routines (no-op when not controllable). */
  setThreads(threads: number): void;
  /** The thread count the library reports (or the last one set). */
  getThreads(): number;
}

/** Names tried, in order, when neither `NLADMM_BLAS` nor the `library` option names one. */
export const DEFAULT_LIBRARIES: readonly string[] =
  process.platform === 'darwin'
    ? ['/System/Library/Frameworks/Accelerate.framework/Accelerate', 'libopenblas.dylib']
    : ['libopenblas.so.0', 'libopenblas.so'];

const REQUIRED = ['cblas_dgemm', 'cblas_sgemm', 'cblas_dsyrk', 'cblas_ssyrk', 'cblas_dtrsm', 'cblas_strsm', 'cblas_ddot', 'cblas_dsdot', 'dpotrf_', 'spotrf_'];

const loaded = new Map<string, BlasLibrary>();

let koffiModule: typeof Koffi | undefined;
function koffi(): typeof Koffi {
  try {
    koffiModule ??= require('koffi') as typeof Koffi;
  } catch (err) {
    throw new BlasUnavailableError(`blas backend: the koffi module (the FFI it calls the library through) cannot be loaded: ${firstLine(err)}`);
  }
  return koffiModule;
}

/**
 * The library named by `path`, else by `NLADMM_BLAS`, else the first of {@link DEFAULT_LIBRARIES} that loads.
 * Loaded once per path. Throws {@link BlasUnavailableError} with one line saying what was tried and why it failed.
 */
export function loadBlas(path: string | undefined = process.env.NLADMM_BLAS || undefined): BlasLibrary {
  const named = path !== undefined && path !== '';
  const candidates = named ? [path] : DEFAULT_LIBRARIES;
  const failures: string[] = [];
  // OpenBLAS's idle threads spin for 2^28 cycles by default after each call, taking the cores from the elementwise
  // loops that follow (measured here: 784-256-256-10 iterations 15 % slower). 2^4: they sleep at once. Read by
  // OpenBLAS when it loads; a value the user set is kept.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  const ffi = koffi();
  for (const candidate of candidates) {
    const cached = loaded.get(candidate);
    if (cached) return cached;
    let lib: Koffi.LibraryHandle;
    try {
      lib = ffi.load(candidate);
    } catch (err) {
      failures.push(`${candidate}: ${firstLine(err)}`);
      continue;
    }
    const library = bind(lib, candidate);
    loaded.set(candidate, library);
    return library;
  }
  if (named) {
    const source = path === process.env.NLADMM_BLAS ? `NLADMM_BLAS=${path}` : path;
    throw new BlasUnavailableError(`blas backend: cannot load ${source} (${failures[0]?.slice(path.length + 2)})`);
  }
  throw new BlasUnavailableError(
    `blas backend: no BLAS library found (tried ${candidates.join(', ')}): install Debian's libopenblas0-pthread, or set NLADMM_BLAS=/path/to/libblas.so (a CBLAS + LAPACK library)`,
  );
}

function bind(lib: Koffi.LibraryHandle, name: string): BlasLibrary {
  const has = (symbol: string): boolean => {
    try {
      lib.func(`void ${symbol}()`);
      return true;
    } catch {
      return false;
    }
  };
  const missing = REQUIRED.filter((symbol) => !has(symbol));
  if (missing.length > 0) {
    throw new BlasUnavailableError(`blas backend: ${name} is not a CBLAS + LAPACK library: it lacks ${missing.join(', ')}`);
  }
  const routines = (p: 'd' | 's'): PrecisionRoutines => {
    const t = p === 'd' ? 'double' : 'float';
    return {
      gemm: lib.func(`void cblas_${p}gemm(int, int, int, int, int, int, ${t}, ${t}*, int, ${t}*, int, ${t}, ${t}*, int)`),
      syrk: lib.func(`void cblas_${p}syrk(int, int, int, int, int, ${t}, ${t}*, int, ${t}, ${t}*, int)`),
      trsm: lib.func(`void cblas_${p}trsm(int, int, int, int, int, int, int, ${t}, ${t}*, int, ${t}*, int)`),
      potrf: lib.func(`void ${p}potrf_(const char*, int*, ${t}*, int*, int*)`),
      // f32: dsdot accumulates the float products in double.
      dot: lib.func(p === 'd' ? 'double cblas_ddot(int, double*, int, double*, int)' : 'double cblas_dsdot(int, float*, int, float*, int)'),
    } as PrecisionRoutines;
  };
  const vendor = has('openblas_get_config') ? 'OpenBLAS' : has('MKL_Get_Version_String') ? 'MKL' : has('bli_info_get_version_str') ? 'BLIS' : 'CBLAS';
  let config = '';
  let threading = 'unknown';
  let setThreads: (threads: number) => void = () => {};
  let getThreads: (() => number) | undefined;
  if (vendor === 'OpenBLAS') {
    config = (lib.func('const char* openblas_get_config()') as () => string)().trim();
    if (has('openblas_get_parallel')) threading = ['sequential', 'pthreads', 'OpenMP'][(lib.func('int openblas_get_parallel()') as () => number)()] ?? 'unknown';
    setThreads = lib.func('void openblas_set_num_threads(int)') as (threads: number) => void;
    getThreads = lib.func('int openblas_get_num_threads()') as () => number;
  } else if (vendor === 'MKL') {
    const buffer = Buffer.alloc(256);
    (lib.func('void MKL_Get_Version_String(_Out_ uint8_t*, int)') as (b: Buffer, n: number) => void)(buffer, buffer.length);
    config = buffer.toString('latin1').replace(/\0.*$/s, '').trim();
    threading = 'OpenMP';
    setThreads = lib.func('void MKL_Set_Num_Threads(int)') as (threads: number) => void;
    getThreads = lib.func('int MKL_Get_Max_Threads()') as () => number;
  } else if (vendor === 'BLIS') {
    config = `BLIS ${(lib.func('const char* bli_info_get_version_str()') as () => string)()}`;
    setThreads = lib.func('void bli_thread_set_num_threads(int64_t)') as (threads: number) => void;
  }
  const controllable = vendor !== 'CBLAS';
  let lastSet = 0;
  return {
    path: resolvePath(name),
    vendor,
    config,
    threading,
    f64: routines('d'),
    f32: routines('s'),
    threadsControllable: controllable,
    setThreads(threads) {
      if (threads === lastSet) return;
      setThreads(threads);
      lastSet = threads;
    },
    getThreads: () => getThreads?.() ?? lastSet,
  };
}

/** The file the dynamic loader mapped for `name` (Linux: /proc/self/maps), or `name` itself. */
function resolvePath(name: string): string {
  if (name.includes('/')) return name;
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const line = maps.split('\n').find((l) => l.endsWith(`/${name}`) || l.includes(`/${name.replace(/\.so.*$/, '')}`));
    const file = line?.slice(line.indexOf('/'));
    if (file) return file;
  } catch {
    // not Linux: keep the name
  }
  return name;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
