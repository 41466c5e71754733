/**
 * The Communicator of a sample-sharded run over MPI_COMM_WORLD (see @nladmm/core's communicator.ts). Its
 * collectives serve Algorithm 1's W updates (8)/(18), whose sums over samples of Ã Ãᵀ and G Ãᵀ every rank adds up,
 * the max-norms of (20)/(21), and the metrics' sums.
 *
 * Faults: every collective is non-blocking (MPI_I…) and polled with MPI_Test from the event loop, so Node stays
 * responsive and a collective can give up. After `timeoutMs` the rank takes a census: it sends a tiny message on a
 * reserved tag to every other rank and waits a few seconds for theirs; a rank that never answers is named lost in
 * the thrown {@link MpiTimeoutError}. A rank that sees another's census message while waiting gives up at once and
 * joins it, so the survivors fail together, seconds after the first one's timeout.
 */
import { writeSync } from 'node:fs';
import type { Communicator } from '@nladmm/core';
import { resolveTimeoutMs } from './environment.ts';
import { loadMpi, MPI, MpiError, type MpiFunctions, type MpiLibrary } from './library.ts';
import { fromMaxKeys, toMaxKeys } from './orderedKeys.ts';

/** A collective did not complete in time (or another rank gave up on it); `lost`: the ranks that did not answer. */
export class MpiTimeoutError extends MpiError {
  constructor(
    message: string,
    readonly collective: string,
    readonly sequence: number,
    readonly waitedMs: number,
    readonly lost: readonly number[],
  ) {
    super(message);
    this.name = 'MpiTimeoutError';
  }
}

/** The collectives, by name in messages; the index is what a census message carries. */
const KINDS = ['all-reduce', 'broadcast', 'gather', 'barrier', 'barrier before MPI_Finalize'] as const;
type Kind = (typeof KINDS)[number];

/** The tag of census messages. No other point-to-point message is sent on MPI_COMM_WORLD (collectives have their own
 *  context in MPI, so they never match it); 32 767 is the least MPI_TAG_UB the standard allows. */
const CENSUS_TAG = 32_001;
/** A census waits for the other ranks' answers min(max(timeout, 1 s), 5 s). */
const CENSUS_MIN_MS = 1_000;
const CENSUS_MAX_MS = 5_000;
/** Polling: MPI_Test in a loop for up to SLICE_MS, then yield to the event loop: with setImmediate during the first
 *  SPIN_MS of a collective (a 1000×1000 sum takes a few ms: finished at full speed), afterwards with setTimeout(1)
 *  (a rank waiting for a slower one polls 0.25 ms of every ~1.3 ms: a fifth of a core, where MPI_Wait spins a whole one). */
const SLICE_MS = 0.25;
const SPIN_MS = 20;
/** MPI counts are C ints. */
const INT_MAX = 2 ** 31 - 1;

interface Operation {
  readonly kind: Kind;
  readonly sequence: number;
  readonly start: number;
  readonly deadline: number;
}

type Failure =
  | { readonly type: 'timeout' }
  | { readonly type: 'peer'; readonly rank: number }
  | { readonly type: 'signal' }
  | { readonly type: 'error'; readonly code: number };

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;

export class MpiCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  /** How long a collective waits for the other ranks before it takes the census. */
  readonly timeoutMs: number;
  readonly library: MpiLibrary;
  private readonly fn: MpiFunctions;
  private sequence = 0;
  /** Collectives run one after the other, in call order, so every rank starts them in the same order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set once a collective failed: this rank's collectives no longer match the others'. */
  private broken: string | undefined;
  private finished = false;
  /** Set by {@link notifyFailedProcess}: hydra said a process of the job failed. */
  private failedProcess = false;
  /** Buffers of requests that never completed (a failed collective, census messages): MPI may still write or read
   *  them, so they stay referenced (a typed array's memory does not move while it lives; koffi passes it uncopied). */
  private readonly abandoned: object[] = [];
  /** Scratch outputs of the synchronous MPI_Test / MPI_Iprobe calls. */
  private readonly flag = new Int32Array(1);
  private readonly status = new Int32Array(MPI.STATUS_INTS);

  constructor(library: MpiLibrary, rank: number, size: number, timeoutMs: number) {
    this.library = library;
    this.fn = library.fn;
    this.rank = rank;
    this.size = size;
    this.timeoutMs = timeoutMs;
  }

  describe(): string {
    return `${this.library.implementation}, rank ${this.rank} of ${this.size}`;
  }

  /**
   * In place, the sum over ranks, as MPI_Ireduce_scatter then MPI_Iallgatherv, not MPI_Iallreduce: MPI does not
   * promise that an all-reduce of doubles gives every rank the same bits (MPICH picks among algorithms by size and
   * rank count, and one may add the partial sums in a rank-dependent order), and the replicated W_i must stay
   * identical. Here block r of the sums (a balanced split of the elements) is delivered to rank r alone, and the
   * all-gather copies its bits to every rank. Same traffic as MPICH's large all-reduce (measured: as fast at 1000×1000
   * on 2 ranks, where MPI_Reduce + MPI_Bcast took 5× longer).
   */
  async allReduceSum(data: Float64Array): Promise<void> {
    checkData(data, 'allReduceSum');
    return this.run('all-reduce', async (op, request) => {
      const counts = new Int32Array(this.size);
      const displacements = new Int32Array(this.size);
      for (let r = 0, offset = 0; r < this.size; offset += counts[r++]) {
        counts[r] = Math.floor(data.length / this.size) + (r < data.length % this.size ? 1 : 0);
        displacements[r] = offset;
      }
      const buffers = [data, counts, displacements];
      // In place: the input is the whole of `data`, this rank's block of the sums lands at its start.
      this.start(op, 'MPI_Ireduce_scatter', this.fn.MPI_Ireduce_scatter(MPI.IN_PLACE, data, counts, MPI.DOUBLE, MPI.SUM, MPI.COMM_WORLD, request));
      await this.wait(op, request, buffers);
      data.copyWithin(displacements[this.rank], 0, counts[this.rank]);
      // In place: every rank's block is read from its place in `data`.
      this.start(op, 'MPI_Iallgatherv', this.fn.MPI_Iallgatherv(MPI.IN_PLACE, 0, MPI.DOUBLE, data, counts, displacements, MPI.DOUBLE, MPI.COMM_WORLD, request));
      await this.wait(op, request, buffers);
    });
  }

  /**
   * In place, the max over ranks (NaN anywhere gives NaN, max(−0, +0) = +0), as an MPI_Iallreduce of order-preserving
   * int64 keys (orderedKeys.ts): an integer max is exact, so every rank gets the same bits from any algorithm.
   * After a thrown error `data` holds keys, not values.
   */
  async allReduceMax(data: Float64Array): Promise<void> {
    checkData(data, 'allReduceMax');
    return this.run('all-reduce', async (op, request) => {
      toMaxKeys(data);
      this.start(op, 'MPI_Iallreduce', this.fn.MPI_Iallreduce(MPI.IN_PLACE, data, data.length, MPI.INT64_T, MPI.MAX, MPI.COMM_WORLD, request));
      await this.wait(op, request, [data]);
      fromMaxKeys(data);
    });
  }

  async broadcast(data: Float64Array, root = 0): Promise<void> {
    checkData(data, 'broadcast');
    this.checkRoot(root, 'broadcast');
    return this.run('broadcast', async (op, request) => {
      this.start(op, 'MPI_Ibcast', this.fn.MPI_Ibcast(data, data.length, MPI.DOUBLE, root, MPI.COMM_WORLD, request));
      await this.wait(op, request, [data]);
    });
  }

  /** The lengths first (MPI_Igather of one int per rank), then the data (MPI_Igatherv) into one array at the root,
   *  returned as one subarray per rank. */
  async gather(data: Float64Array, root = 0): Promise<Float64Array[] | undefined> {
    checkData(data, 'gather');
    this.checkRoot(root, 'gather');
    return this.run('gather', async (op, request) => {
      const atRoot = this.rank === root;
      const length = new Int32Array([data.length]);
      const counts = atRoot ? new Int32Array(this.size) : null;
      this.start(op, 'MPI_Igather', this.fn.MPI_Igather(length, 1, MPI.INT, counts, 1, MPI.INT, root, MPI.COMM_WORLD, request));
      await this.wait(op, request, counts ? [length, counts] : [length]);
      let displacements: Int32Array | null = null;
      let all: Float64Array | null = null;
      if (counts) {
        displacements = new Int32Array(this.size);
        let total = 0;
        for (let r = 0; r < this.size; r++) {
          displacements[r] = total;
          total += counts[r];
          if (total > INT_MAX) {
            this.broken = `MPI gather #${op.sequence}: the ranks' data add up to more than ${INT_MAX} elements`;
            throw new RangeError(this.broken);
          }
        }
        all = new Float64Array(total);
      }
      this.start(op, 'MPI_Igatherv', this.fn.MPI_Igatherv(data, data.length, MPI.DOUBLE, all, counts, displacements, MPI.DOUBLE, root, MPI.COMM_WORLD, request));
      await this.wait(op, request, all && counts && displacements ? [data, all, counts, displacements] : [data]);
      if (!all || !counts || !displacements) return undefined;
      return Array.from(counts, (count, r) => all.subarray(displacements[r], displacements[r] + count));
    });
  }

  barrier(): Promise<void> {
    return this.run('barrier', (op, request) => this.ibarrier(op, request));
  }

  /**
   * A barrier (with the timeout: a lost rank is named rather than waited for), then MPI_Finalize. After a failed
   * collective it only marks the communicator closed: MPI_Finalize could wait forever for the lost rank, and the
   * process exits anyway (hydra then ends the other ranks); it does not throw again, so a `finally` keeps the first
   * error.
   */
  async close(): Promise<void> {
    if (this.finished) return;
    if (this.broken === undefined) {
      try {
        await this.run('barrier before MPI_Finalize', (op, request) => this.ibarrier(op, request));
      } finally {
        this.finished = true;
      }
      this.check('MPI_Finalize', this.fn.MPI_Finalize());
    }
    this.finished = true;
  }

  /**
   * Hydra's notice that a process of the job failed (it sends SIGUSR1 to the others when it does not kill them, e.g.
   * under `mpirun -disable-auto-cleanup`): the current or next collective gives up at once and takes the census.
   */
  notifyFailedProcess(): void {
    this.failedProcess = true;
  }

  /** Whether close() was called (MPI cannot be started again in this process). */
  get closed(): boolean {
    return this.finished;
  }

  /** Ends every rank with exit code `code` (MPI_Abort on MPI_COMM_WORLD: hydra kills the job). */
  abort(code = 1): never {
    this.check('MPI_Abort', this.fn.MPI_Abort(MPI.COMM_WORLD, code));
    throw new MpiError(`MPI_Abort(${code}) returned`);
  }

  private async ibarrier(op: Operation, request: Int32Array): Promise<void> {
    this.start(op, 'MPI_Ibarrier', this.fn.MPI_Ibarrier(MPI.COMM_WORLD, request));
    await this.wait(op, request, []);
  }

  /** Queues a collective after the previous ones; its timeout counts from when it starts. */
  private run<T>(kind: Kind, body: (op: Operation, request: Int32Array) => Promise<T>): Promise<T> {
    const sequence = ++this.sequence;
    const task = this.queue.then(() => {
      if (this.finished) throw new MpiError(`MPI ${kind} #${sequence}: the communicator is closed`);
      if (this.broken !== undefined) throw new MpiError(`MPI ${kind} #${sequence}: the communicator is unusable after an earlier failure (${this.broken})`);
      const start = performance.now();
      return body({ kind, sequence, start, deadline: start + this.timeoutMs }, new Int32Array(1));
    });
    this.queue = task.catch(() => {});
    return task;
  }

  /** The return code of a call that starts a collective: an error leaves this rank out of step with the others. */
  private start(op: Operation, call: string, code: number): void {
    if (code === MPI.SUCCESS) return;
    this.broken = `MPI ${op.kind} #${op.sequence}: ${call} failed: ${this.errorText(code)}`;
    throw new MpiError(this.broken, code);
  }

  private check(call: string, code: number): void {
    if (code !== MPI.SUCCESS) throw new MpiError(`${call} failed: ${this.errorText(code)}`, code);
  }

  /** MPI_Error_string's text for an error code. */
  private errorText(code: number): string {
    const text = Buffer.alloc(MPI.MAX_ERROR_STRING);
    const length = new Int32Array(1);
    if (this.fn.MPI_Error_string(code, text, length) !== MPI.SUCCESS) return `MPI error ${code}`;
    return text.toString('latin1', 0, Math.min(length[0], text.length)).trim().replace(/\s*\n\s*/g, '; ');
  }

  private checkRoot(root: number, name: string): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new RangeError(`${name}: root ${root} is not a rank (0 … ${this.size - 1})`);
  }

  /** Polls `request` until it completes; on a timeout, an MPI error or another rank's census, fails (throws). */
  private async wait(op: Operation, request: Int32Array, buffers: readonly object[]): Promise<void> {
    const { fn, flag, status } = this;
    for (;;) {
      const sliceEnd = performance.now() + SLICE_MS;
      do {
        // MPI_Test drives MPI's progress engine (nothing progresses between MPI calls) and completes the request.
        const code = fn.MPI_Test(request, flag, MPI.STATUS_IGNORE);
        if (code !== MPI.SUCCESS) return this.fail(op, buffers, { type: 'error', code });
        if (flag[0] !== 0) return;
      } while (performance.now() < sliceEnd);
      // Another rank's census message: it gave up on a collective, so this one cannot complete either.
      if (fn.MPI_Iprobe(MPI.ANY_SOURCE, CENSUS_TAG, MPI.COMM_WORLD, flag, status) === MPI.SUCCESS && flag[0] !== 0) {
        return this.fail(op, buffers, { type: 'peer', rank: status[MPI.STATUS_SOURCE] });
      }
      if (this.failedProcess) return this.fail(op, buffers, { type: 'signal' });
      const now = performance.now();
      if (now >= op.deadline) return this.fail(op, buffers, { type: 'timeout' });
      await (now - op.start < SPIN_MS ? immediate() : sleep(1));
    }
  }

  private async fail(op: Operation, buffers: readonly object[], failure: Failure): Promise<never> {
    this.abandoned.push(...buffers);
    const waitedMs = performance.now() - op.start;
    const name = `MPI ${op.kind} #${op.sequence}`;
    this.broken = `${name} did not complete`;
    const { lost, elsewhere } = await this.census(op);
    const who =
      lost.length === 0 ? 'every rank answered' : `${lost.length === 1 ? 'rank' : 'ranks'} ${lost.join(', ')} of ${this.size} did not answer (lost)`;
    const where = elsewhere.length === 0 ? '' : `; ${elsewhere.join(', ')}`;
    let message: string;
    if (failure.type === 'error') {
      message = `${name} failed after ${seconds(waitedMs)}: ${this.errorText(failure.code)}; ${who}${where}`;
    } else if (failure.type === 'peer') {
      message = `${name} abandoned after ${seconds(waitedMs)} (rank ${failure.rank} gave up waiting): ${who}${where}`;
    } else if (failure.type === 'signal') {
      message = `${name} abandoned after ${seconds(waitedMs)} (mpirun reported a failed process): ${who}${where}`;
    } else {
      message = `${name} timed out after ${seconds(waitedMs)}: ${who}${where}`;
    }
    this.broken = message;
    if (failure.type === 'error') throw new MpiError(message, failure.code);
    throw new MpiTimeoutError(message, op.kind, op.sequence, waitedMs, lost);
  }

  /**
   * Which ranks are alive: an MPI_Isend of [collective, sequence] to every other rank on the census tag, an
   * MPI_Irecv from each, polled for up to min(max(timeout, 1 s), 5 s). `elsewhere` says where answering ranks were
   * when they differ from this one (one collective ahead is normal: a gather's non-roots finish early).
   */
  private async census(op: Operation): Promise<{ lost: number[]; elsewhere: string[] }> {
    const { fn, flag } = this;
    const mine = new Int32Array([KINDS.indexOf(op.kind), op.sequence]);
    this.abandoned.push(mine);
    const sends: Int32Array[] = [];
    const receives = new Map<number, { request: Int32Array; answer: Int32Array }>();
    const answers = new Map<number, Int32Array>();
    for (let r = 0; r < this.size; r++) {
      if (r === this.rank) continue;
      const send = new Int32Array(1);
      if (fn.MPI_Isend(mine, 2, MPI.INT, r, CENSUS_TAG, MPI.COMM_WORLD, send) === MPI.SUCCESS) sends.push(send);
      const answer = new Int32Array(2);
      const request = new Int32Array(1);
      this.abandoned.push(answer);
      if (fn.MPI_Irecv(answer, 2, MPI.INT, r, CENSUS_TAG, MPI.COMM_WORLD, request) === MPI.SUCCESS) receives.set(r, { request, answer });
    }
    const end = performance.now() + Math.min(CENSUS_MAX_MS, Math.max(CENSUS_MIN_MS, this.timeoutMs));
    let pendingSends = sends;
    // Polls until every rank answered and this rank's messages left, or the time is up.
    while ((receives.size > 0 || pendingSends.length > 0) && performance.now() < end) {
      for (const [r, { request, answer }] of receives) {
        const code = fn.MPI_Test(request, flag, MPI.STATUS_IGNORE);
        if (code !== MPI.SUCCESS) receives.delete(r);
        else if (flag[0] !== 0) {
          receives.delete(r);
          answers.set(r, answer);
        }
      }
      pendingSends = pendingSends.filter((request) => fn.MPI_Test(request, flag, MPI.STATUS_IGNORE) === MPI.SUCCESS && flag[0] === 0);
      await sleep(1);
    }
    const lost: number[] = [];
    const elsewhere: string[] = [];
    for (let r = 0; r < this.size; r++) {
      if (r === this.rank) continue;
      const answer = answers.get(r);
      if (!answer) lost.push(r);
      else if (answer[0] !== mine[0] || answer[1] !== mine[1]) {
        const order = answer[1] === mine[1] ? ' (the ranks call collectives in different orders)' : '';
        elsewhere.push(`rank ${r} was in ${KINDS[answer[0]] ?? 'an unknown collective'} #${answer[1]}${order}`);
      }
    }
    return { lost, elsewhere };
  }
}

function checkData(data: Float64Array, name: string): void {
  if (!(data instanceof Float64Array)) throw new TypeError(`${name}: data must be a Float64Array`);
  if (data.length > INT_MAX) throw new RangeError(`${name}: ${data.length} elements exceed MPI's int count (${INT_MAX})`);
}

let active: MpiCommunicator | undefined;

/**
 * Starts MPI (MPI_Init_thread, once per process) over the library of {@link loadMpi} and returns the communicator of
 * MPI_COMM_WORLD. Throws MpiUnavailableError when no MPICH-ABI library loads. A later call returns the same
 * communicator; after its close() MPI cannot be started again (an MpiError).
 */
export async function createMpiCommunicator(options: { library?: string; timeoutMs?: number } = {}): Promise<MpiCommunicator> {
  const timeoutMs = resolveTimeoutMs(options.timeoutMs);
  if (active) {
    if (active.closed) throw new MpiError('mpi: MPI was finalized in this process; it cannot be started again');
    if ((options.library !== undefined && options.library !== active.library.path) || timeoutMs !== active.timeoutMs) {
      throw new MpiError(`mpi: MPI is already started in this process (${active.library.path}, timeout ${active.timeoutMs} ms); a second communicator with other options cannot be made`);
    }
    return active;
  }
  const library = loadMpi(options.library);
  const { fn } = library;
  const out = new Int32Array(1);
  if (fn.MPI_Finalized(out) === MPI.SUCCESS && out[0] !== 0) throw new MpiError('mpi: MPI was finalized in this process; it cannot be started again');
  if (fn.MPI_Initialized(out) === MPI.SUCCESS && out[0] !== 0) throw new MpiError('mpi: MPI was started in this process by other code');
  // FUNNELED: Node has other threads, but only its main thread calls MPI.
  const initCode = fn.MPI_Init_thread(null, null, MPI.THREAD_FUNNELED, out);
  if (initCode !== MPI.SUCCESS) throw new MpiError(`mpi: MPI_Init_thread failed with code ${initCode}`, initCode);
  // Errors of calls on MPI_COMM_WORLD return a code (thrown with MPI_Error_string's text) instead of aborting.
  const handlerCode = fn.MPI_Comm_set_errhandler(MPI.COMM_WORLD, MPI.ERRORS_RETURN);
  if (handlerCode !== MPI.SUCCESS) throw new MpiError(`mpi: MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN) failed with code ${handlerCode}`, handlerCode);
  const rank = new Int32Array(1);
  const size = new Int32Array(1);
  const rankCode = fn.MPI_Comm_rank(MPI.COMM_WORLD, rank);
  const sizeCode = fn.MPI_Comm_size(MPI.COMM_WORLD, size);
  if (rankCode !== MPI.SUCCESS || sizeCode !== MPI.SUCCESS) throw new MpiError(`mpi: MPI_Comm_rank/MPI_Comm_size failed (codes ${rankCode}, ${sizeCode})`);
  const communicator = new MpiCommunicator(library, rank[0], size[0], timeoutMs);
  // Hydra signals SIGUSR1 to the ranks when a process of the job failed and it does not kill them. Node's default for
  // SIGUSR1 is to open its inspector on 127.0.0.1:9229; under mpirun it means a lost rank instead (use --inspect).
  if (process.env.PMI_RANK !== undefined) process.on('SIGUSR1', () => communicator.notifyFailedProcess());
  // A rank that exits before close() (process.exit, an uncaught exception) says so: hydra then kills the other ranks
  // at once (SIGKILL), before they could name it, and its own banner names the PID of any rank of the job.
  process.once('exit', (code) => {
    if (!communicator.closed) writeSync(2, `mpi: rank ${communicator.rank} of ${communicator.size} (pid ${process.pid}) exits with code ${code} before close(): the other ranks lose it\n`);
  });
  active = communicator;
  return communicator;
}
