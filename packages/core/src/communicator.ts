/**
 * The processes of a sample-sharded run (issue 17): P ranks, each holding a contiguous slice of the n samples
 * (columns of X, Y, V_i and Λ_i), every rank holding the same W_i. Algorithm 1's V and Λ updates are separable by
 * columns; the W updates (8)/(18) need the sums over samples of Ã Ãᵀ and G Ãᵀ and the max-norms of (20)/(21); the
 * metrics are sums over samples. Those go through a communicator, so no update knows whether it runs sharded.
 *
 * Every collective is called by every rank in the same order with arrays of the same length (gather excepted).
 * Results are identical on every rank (bit for bit), so the replicated W_i stay identical.
 */
export interface Communicator {
  /** This process's index, 0 … size − 1. Rank 0 alone prints progress and writes files. */
  readonly rank: number;
  /** The number of processes P. */
  readonly size: number;
  /** A short description for logs, e.g. `single process` or `MPICH 4.0.2, rank 1 of 3`. */
  describe(): string;
  /** In place: every element becomes its sum over all ranks. */
  allReduceSum(data: Float64Array): Promise<void>;
  /** In place: every element becomes its maximum over all ranks (NaN anywhere gives NaN). */
  allReduceMax(data: Float64Array): Promise<void>;
  /** In place: every rank's `data` becomes `root`'s (same length on every rank). */
  broadcast(data: Float64Array, root?: number): Promise<void>;
  /** Every rank's `data` (lengths may differ) at `root`, in rank order; undefined on the other ranks. */
  gather(data: Float64Array, root?: number): Promise<Float64Array[] | undefined>;
  /** Waits until every rank has called it. */
  barrier(): Promise<void>;
  /** Ends this process's part (MPI_Finalize); the communicator is unusable afterwards. */
  close(): Promise<void>;
  /** Ends every rank at once with exit code `code` (MPI_Abort): for a rank that cannot go on. */
  abort(code: number): void;
}

/** The communicator of an ordinary run: one rank, every collective the identity. */
export const singleProcess: Communicator = Object.freeze({
  rank: 0,
  size: 1,
  describe: () => 'single process',
  allReduceSum: async () => {},
  allReduceMax: async () => {},
  broadcast: async () => {},
  gather: async (data: Float64Array) => [data],
  barrier: async () => {},
  close: async () => {},
  // No other rank to end: the caller's own error handling applies.
  abort: (code: number) => {
    throw new Error(`single process: abort(${code}) has no other ranks to end`);
  },
});

/**
 * The contiguous, balanced slice of `n` samples that rank `rank` of `size` holds: the first n mod P ranks take
 * ⌈n/P⌉ samples, the others ⌊n/P⌋. Every rank must hold at least one sample.
 */
export function shardRange(n: number, rank: number, size: number): { start: number; count: number } {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`shardRange: the number of ranks must be an integer ≥ 1, got ${size}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new RangeError(`shardRange: rank ${rank} is outside 0 … ${size - 1}`);
  if (!Number.isInteger(n) || n < size) throw new RangeError(`shardRange: ${n} samples cannot be split over ${size} ranks (each needs at least one)`);
  const base = Math.floor(n / size);
  const extra = n % size;
  return { start: rank * base + Math.min(rank, extra), count: base + (rank < extra ? 1 : 0) };
}
