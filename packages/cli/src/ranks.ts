/**
 * The processes of a sample-sharded run (`mpirun -np P nladmm train …`): the communicator of this process (MPI when
 * mpirun or mpiexec started it, else a single process), what each rank prints (rank 0 everything; the others only
 * the line of an error of their own, prefixed by their rank), and the slice of the samples each rank trains on.
 */
import { type Communicator, columnSlice, shardRange, singleProcess } from '@nladmm/core';
import type { CliContext } from './context.ts';
import type { LoadedData } from './data/datasets.ts';
import { CliError } from './errors.ts';

/** MPI's communicator when this process was started by mpirun / mpiexec (P > 1), else {@link singleProcess}. */
export async function processCommunicator(env: NodeJS.ProcessEnv = process.env): Promise<Communicator> {
  // Imported here, not at the top: a command run in-process (tests, an app calling runCli) never loads it.
  const { createMpiCommunicator, launchedByMpi } = await import('@nladmm/mpi');
  if (!launchedByMpi(env)) return singleProcess;
  const communicator = await createMpiCommunicator();
  if (communicator.size > 1) return communicator;
  await communicator.close();
  return singleProcess;
}

/**
 * The output of a rank: rank 0 writes as a single process does; another rank keeps its stderr and, when its command
 * fails, writes the last line it kept (its error) prefixed by `rank r of P:` (`flushError`).
 */
export function rankOutput(communicator: Communicator): Pick<CliContext, 'stdout' | 'stderr'> & { flushError(): void } {
  if (communicator.rank === 0) return { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), flushError: () => {} };
  let last = '';
  return {
    stdout: () => {},
    stderr: (t) => {
      if (t.trim() !== '') last = t;
    },
    flushError: () => {
      if (last !== '') process.stderr.write(`rank ${communicator.rank} of ${communicator.size}: ${last.endsWith('\n') ? last : `${last}\n`}`);
    },
  };
}

/** The commands that run sharded; any other command runs on rank 0 alone (the other ranks exit at once). */
export const SHARDED_COMMANDS: ReadonlySet<string> = new Set(['train']);

/** This rank's contiguous slice of the training and test samples (the whole data for a single process). */
export function shardData(data: LoadedData, communicator: Communicator): LoadedData {
  if (communicator.size === 1) return data;
  const { rank, size } = communicator;
  const slice = (set: { x: LoadedData['train']['x']; y: LoadedData['train']['y'] }, what: string) => {
    if (set.x.cols < size) throw new CliError(`the ${what} set has ${set.x.cols} samples: too few for ${size} processes (each needs at least one)`);
    const { start, count } = shardRange(set.x.cols, rank, size);
    return { x: columnSlice(set.x, start, count), y: columnSlice(set.y, start, count) };
  };
  return { ...data, train: slice(data.train, 'training'), ...(data.test ? { test: slice(data.test, 'test') } : {}) };
}

/**
 * Runs `work` (what only rank 0 does: the run directory, its lock) and tells every rank how it went, so that a failure
 * on rank 0 ends the others at once instead of at their next collective's timeout.
 */
export async function onRootAgreed<T>(communicator: Communicator, work: () => Promise<T>): Promise<T | undefined> {
  if (communicator.size === 1) return work();
  const status = new Float64Array(1);
  let result: T | undefined;
  let failure: unknown;
  if (communicator.rank === 0) {
    try {
      result = await work();
      status[0] = 1;
    } catch (err) {
      failure = err;
    }
  }
  await communicator.broadcast(status, 0);
  if (failure !== undefined) throw failure;
  if (status[0] !== 1) throw new CliError('rank 0 could not set up the run directory (its message says why)');
  return result;
}
