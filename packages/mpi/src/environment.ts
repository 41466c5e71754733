/**
 * What the launcher's environment says: whether mpirun/mpiexec started this process (so a CLI can shard without a
 * flag), the node-local rank (to pick a GPU adapter), and the collectives' timeout.
 */

/** The environment variables read: `process.env` (the default), or a stand-in. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether this process was started by an MPI launcher: MPICH's hydra (and Intel MPI's) set PMI_RANK and PMI_SIZE,
 * Open MPI sets OMPI_COMM_WORLD_SIZE, PMIx-based launchers (Open MPI 5, prrte, Slurm's pmix) set PMIX_RANK.
 */
export function launchedByMpi(env: Env = process.env): boolean {
  return (env.PMI_RANK !== undefined && env.PMI_SIZE !== undefined) || env.OMPI_COMM_WORLD_SIZE !== undefined || env.PMIX_RANK !== undefined;
}

/**
 * This process's index among the ranks on its node (hydra: MPI_LOCALRANKID; Open MPI: OMPI_COMM_WORLD_LOCAL_RANK),
 * e.g. to pick GPU adapter `localRank % adapters`; undefined when the launcher does not say.
 */
export function localRank(env: Env = process.env): number | undefined {
  for (const name of ['MPI_LOCALRANKID', 'OMPI_COMM_WORLD_LOCAL_RANK']) {
    const value = env[name];
    if (value !== undefined && /^\d+$/.test(value.trim())) return Number(value.trim());
  }
  return undefined;
}

/** The default time a collective may wait for the other ranks. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The collectives' timeout in milliseconds: the `timeoutMs` option, else `NLADMM_MPI_TIMEOUT` (seconds, may be
 * fractional), else {@link DEFAULT_TIMEOUT_MS}. Throws a RangeError on a value that is not a positive number.
 */
export function resolveTimeoutMs(timeoutMs: number | undefined, env: Env = process.env): number {
  if (timeoutMs !== undefined) {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`mpi: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    return timeoutMs;
  }
  const text = env.NLADMM_MPI_TIMEOUT?.trim();
  if (text === undefined || text === '') return DEFAULT_TIMEOUT_MS;
  const seconds = Number(text);
  if (!(Number.isFinite(seconds) && seconds > 0)) throw new RangeError(`mpi: NLADMM_MPI_TIMEOUT must be a positive number of seconds, got '${text}'`);
  return seconds * 1000;
}
