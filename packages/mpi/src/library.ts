/**
 * Finding and binding an MPI library of the MPICH ABI through koffi (prebuilt from npm: no compiler step).
 * Default: Debian's MPICH (`libmpich.so.12` of the `libmpich12` package, which `mpich` depends on);
 * `NLADMM_MPI=/path/libmpi.so` (or the `library` option) names another one. The handles of the MPICH ABI are plain
 * ints (below, from MPICH 4.0.2's mpi.h); Open MPI's are pointers to its own globals, so it is refused by name.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

const require = createRequire(import.meta.url);

/** Why MPI cannot be used: the library is missing, is not an MPI library, or is not of the MPICH ABI. */
export class MpiUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MpiUnavailableError';
  }
}

/** An MPI call returned an error code (MPI_ERRORS_RETURN is set on MPI_COMM_WORLD); the text is MPI_Error_string's. */
export class MpiError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'MpiError';
  }
}

/** The MPICH ABI's constants used here (mpi.h of MPICH 4.0.2; the same in MPICH ≥ 3.1, Intel MPI and MVAPICH). */
export const MPI = {
  SUCCESS: 0,
  COMM_WORLD: 0x44000000,
  DOUBLE: 0x4c00080b,
  INT: 0x4c000405,
  INT64_T: 0x4c00083a,
  SUM: 0x58000003,
  MAX: 0x58000001,
  ERRORS_RETURN: 0x54000001,
  ANY_SOURCE: -2,
  THREAD_FUNNELED: 1,
  /** (void *) -1: koffi takes a number as a pointer value. */
  IN_PLACE: -1,
  /** (MPI_Status *) 1. */
  STATUS_IGNORE: 1,
  /** MPI_Status is 5 ints: count_lo, count_hi_and_cancelled, MPI_SOURCE, MPI_TAG, MPI_ERROR. */
  STATUS_INTS: 5,
  STATUS_SOURCE: 2,
  MAX_LIBRARY_VERSION_STRING: 8192,
  MAX_ERROR_STRING: 512,
} as const;

/** A pointer argument: a typed array (its memory, no copy), a Buffer, null, or a number (MPI_IN_PLACE, MPI_STATUS_IGNORE). */
type Ptr = ArrayBufferView | number | null;

/**
 * The MPI functions used, every one returning MPI's error code. Typed arrays are passed to koffi as pointers to their
 * own memory (koffi copies nothing for a `void *` / `int *` parameter without direction qualifier).
 */
export interface MpiFunctions {
  /** Whether MPI_Init ran in this process (a second MPI_Init is an error). */
  MPI_Initialized(flag: Int32Array): number;
  /** Whether MPI_Finalize ran (MPI cannot be initialized again afterwards). */
  MPI_Finalized(flag: Int32Array): number;
  /** Starts MPI; argc/argv may be NULL. `required`: MPI_THREAD_FUNNELED (only Node's main thread calls MPI). */
  MPI_Init_thread(argc: null, argv: null, required: number, provided: Int32Array): number;
  /** The implementation's description (callable before MPI_Init: used to refuse Open MPI before it could crash). */
  MPI_Get_library_version(version: Buffer, resultlen: Int32Array): number;
  MPI_Comm_rank(comm: number, rank: Int32Array): number;
  MPI_Comm_size(comm: number, size: Int32Array): number;
  /** MPI_ERRORS_RETURN on MPI_COMM_WORLD: an error becomes a return code (thrown as {@link MpiError}), not an abort. */
  MPI_Comm_set_errhandler(comm: number, errhandler: number): number;
  MPI_Error_string(code: number, text: Buffer, resultlen: Int32Array): number;
  /** The sums (W updates (8)/(18): Σ over samples of Ã Ãᵀ and G Ãᵀ; the metrics), block r of them to rank r alone. */
  MPI_Ireduce_scatter(sendbuf: Ptr, recvbuf: Ptr, recvcounts: Int32Array, datatype: number, op: number, comm: number, request: Int32Array): number;
  /** Every rank's block of the sums, to every rank (a copy of the bits). */
  MPI_Iallgatherv(sendbuf: Ptr, sendcount: number, sendtype: number, recvbuf: Ptr, recvcounts: Int32Array, displs: Int32Array, recvtype: number, comm: number, request: Int32Array): number;
  /** Max of the order-preserving int64 keys of the max-norms (20)/(21) (see mpiCommunicator.ts). */
  MPI_Iallreduce(sendbuf: Ptr, recvbuf: Ptr, count: number, datatype: number, op: number, comm: number, request: Int32Array): number;
  /** Blocking all-reduce: only the benchmark's reference for the cost of the non-blocking, polled path. */
  MPI_Allreduce(sendbuf: Ptr, recvbuf: Ptr, count: number, datatype: number, op: number, comm: number): number;
  MPI_Ibcast(buffer: Ptr, count: number, datatype: number, root: number, comm: number, request: Int32Array): number;
  /** The per-rank lengths of a gather, to the root. */
  MPI_Igather(sendbuf: Ptr, sendcount: number, sendtype: number, recvbuf: Ptr, recvcount: number, recvtype: number, root: number, comm: number, request: Int32Array): number;
  /** The gathered data, lengths differing per rank. */
  MPI_Igatherv(sendbuf: Ptr, sendcount: number, sendtype: number, recvbuf: Ptr, recvcounts: Int32Array | null, displs: Int32Array | null, recvtype: number, root: number, comm: number, request: Int32Array): number;
  MPI_Ibarrier(comm: number, request: Int32Array): number;
  /** Completes a request if it is done (flag ≠ 0), driving MPI's progress; never blocks. */
  MPI_Test(request: Int32Array, flag: Int32Array, status: Ptr): number;
  /** Whether a message (the liveness answer of a rank that gave up) is waiting, without receiving it. */
  MPI_Iprobe(source: number, tag: number, comm: number, flag: Int32Array, status: Ptr): number;
  /** The liveness messages of a failed collective (reserved tag). */
  MPI_Isend(buf: Ptr, count: number, datatype: number, dest: number, tag: number, comm: number, request: Int32Array): number;
  MPI_Irecv(buf: Ptr, count: number, datatype: number, source: number, tag: number, comm: number, request: Int32Array): number;
  /** Ends every rank (hydra kills the job). */
  MPI_Abort(comm: number, errorcode: number): number;
  MPI_Finalize(): number;
}

/** A loaded MPI library. */
export interface MpiLibrary {
  /** The name or path that was loaded. */
  readonly path: string;
  /** MPI_Get_library_version's text (several lines for MPICH). */
  readonly version: string;
  /** A short name, e.g. `MPICH 4.0.2`. */
  readonly implementation: string;
  /**
   * The bound MPI functions, for {@link MpiCommunicator}; like the ABI's constants they are not part of the package's
   * exports.
   * @internal
   */
  readonly fn: MpiFunctions;
}

/** Names tried, in order, when neither `NLADMM_MPI` nor the `library` option names one. */
export const DEFAULT_LIBRARIES: readonly string[] = ['libmpich.so.12', 'libmpich.so', 'libmpi.so.12', 'libmpi.so'];

const DECLARATIONS: readonly string[] = [
  'int MPI_Initialized(int *flag)',
  'int MPI_Finalized(int *flag)',
  'int MPI_Init_thread(int *argc, void *argv, int required, int *provided)',
  'int MPI_Get_library_version(char *version, int *resultlen)',
  'int MPI_Comm_rank(int comm, int *rank)',
  'int MPI_Comm_size(int comm, int *size)',
  'int MPI_Comm_set_errhandler(int comm, int errhandler)',
  'int MPI_Error_string(int errorcode, char *string, int *resultlen)',
  'int MPI_Ireduce_scatter(void *sendbuf, void *recvbuf, int *recvcounts, int datatype, int op, int comm, int *request)',
  'int MPI_Iallgatherv(void *sendbuf, int sendcount, int sendtype, void *recvbuf, int *recvcounts, int *displs, int recvtype, int comm, int *request)',
  'int MPI_Iallreduce(void *sendbuf, void *recvbuf, int count, int datatype, int op, int comm, int *request)',
  'int MPI_Allreduce(void *sendbuf, void *recvbuf, int count, int datatype, int op, int comm)',
  'int MPI_Ibcast(void *buffer, int count, int datatype, int root, int comm, int *request)',
  'int MPI_Igather(void *sendbuf, int sendcount, int sendtype, void *recvbuf, int recvcount, int recvtype, int root, int comm, int *request)',
  'int MPI_Igatherv(void *sendbuf, int sendcount, int sendtype, void *recvbuf, int *recvcounts, int *displs, int recvtype, int root, int comm, int *request)',
  'int MPI_Ibarrier(int comm, int *request)',
  'int MPI_Test(int *request, int *flag, void *status)',
  'int MPI_Iprobe(int source, int tag, int comm, int *flag, void *status)',
  'int MPI_Isend(void *buf, int count, int datatype, int dest, int tag, int comm, int *request)',
  'int MPI_Irecv(void *buf, int count, int datatype, int source, int tag, int comm, int *request)',
  'int MPI_Abort(int comm, int errorcode)',
  'int MPI_Finalize()',
];

let koffiModule: typeof Koffi | undefined;
function koffi(): typeof Koffi {
  try {
    koffiModule ??= require('koffi') as typeof Koffi;
  } catch (err) {
    throw new MpiUnavailableError(`mpi: the koffi module (the FFI it calls MPI through) cannot be loaded: ${firstLine(err)}`);
  }
  return koffiModule;
}

const HINT = "install Debian's MPICH (`apt-get install mpich`, or `bash scripts/setup.sh`), or set NLADMM_MPI=/path/to/libmpi.so (an MPICH-ABI library)";

/**
 * The library named by `path`, else by `NLADMM_MPI`, else the first of {@link DEFAULT_LIBRARIES} that loads. Throws
 * {@link MpiUnavailableError} naming what was tried. Loading does not start MPI.
 */
/**
 * UCX (the network layer of Debian's MPICH, ch4:ucx) hooks malloc and mmap to track memory it may register with a
 * network card. Inside Node those hooks crashed V8 (SIGSEGV in its compiler) or hung a job at start-up when two jobs
 * started together (measured here: 2 of 10 concurrent 3-rank jobs; none of 16 with the hooks off). nladmm registers
 * no memory with a NIC, so they are off unless the user's environment says otherwise. Set before the library loads:
 * UCX reads them when it is loaded and initialised.
 */
const UCX_DEFAULTS: Readonly<Record<string, string>> = { UCX_MEM_EVENTS: 'no', UCX_MEM_MALLOC_HOOKS: 'no', UCX_MEM_MMAP_HOOK_MODE: 'none' };

export function loadMpi(path: string | undefined = process.env.NLADMM_MPI || undefined): MpiLibrary {
  for (const [name, value] of Object.entries(UCX_DEFAULTS)) process.env[name] ??= value;
  const named = path !== undefined && path !== '';
  const candidates = named ? [path] : DEFAULT_LIBRARIES;
  const ffi = koffi();
  const failures: string[] = [];
  for (const candidate of candidates) {
    let lib: Koffi.LibraryHandle;
    try {
      lib = ffi.load(candidate);
    } catch (err) {
      failures.push(`${candidate} (${firstLine(err)})`);
      continue;
    }
    return bind(lib, candidate);
  }
  if (named) {
    const source = path === process.env.NLADMM_MPI ? `NLADMM_MPI=${path}` : path;
    throw new MpiUnavailableError(`mpi: cannot load ${source} (${failures[0].slice(path.length + 2, -1)}): ${HINT}`);
  }
  throw new MpiUnavailableError(`mpi: no MPI library found (tried ${failures.join('; ')}): ${HINT}`);
}

function bind(lib: Koffi.LibraryHandle, name: string): MpiLibrary {
  const fn: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const declaration of DECLARATIONS) {
    const symbol = /^int (\w+)\(/.exec(declaration)![1];
    try {
      fn[symbol] = lib.func(declaration);
    } catch {
      missing.push(symbol);
    }
  }
  if (missing.length > 0) {
    throw new MpiUnavailableError(`mpi: ${name} is not an MPI-3 library: it lacks ${missing.join(', ')}; ${HINT}`);
  }
  const functions = fn as unknown as MpiFunctions;
  const text = Buffer.alloc(MPI.MAX_LIBRARY_VERSION_STRING);
  const length = new Int32Array(1);
  functions.MPI_Get_library_version(text, length);
  const version = text.toString('latin1', 0, Math.max(0, Math.min(length[0], text.length))).replace(/\0.*$/s, '').trim();
  if (/Open MPI/i.test(version)) {
    throw new MpiUnavailableError(
      `mpi: ${name} is Open MPI (${firstLine(version)}), whose handles are pointers, not the MPICH ABI's ints this package uses; ${HINT}`,
    );
  }
  const mpich = /MPICH Version:\s*(\S+)/.exec(version);
  const implementation = mpich ? `MPICH ${mpich[1]}` : firstLine(version).slice(0, 60) || 'MPI';
  return { path: name, version, implementation, fn: functions };
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}
