/**
 * A rank that hangs, exits or is killed mid-run (fixtures/faults.ts, at the 4th all-reduce): the job ends non-zero
 * within 30 s and, where a process can still speak, a line names the lost rank. What really happens under MPICH
 * 4.0.2's hydra:
 * - hang (the rank stops calling collectives): only the timeout can tell; the survivors name it after
 *   NLADMM_MPI_TIMEOUT plus the census, exit non-zero, and hydra then kills the hung rank.
 * - process.exit(7): the dying rank's exit hook names itself; hydra kills the survivors at once (SIGKILL).
 *   Under `-disable-auto-cleanup` hydra keeps them and sends SIGUSR1; they name the lost rank themselves.
 * - SIGKILL on itself: hydra kills every rank within about a second (even under -disable-auto-cleanup); no process
 *   is left to name it, and hydra's banner names the PID of whichever rank it saw first, not always the killed one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mpirun, requireMpi } from './support.ts';

const LIMIT = 30;
const survivorLine = (rank: number, ranks: number) =>
  new RegExp(`rank ${rank} of ${ranks} failed after \\d+ ms: MpiTimeoutError: MPI all-reduce #4 (timed out|abandoned) after [\\d.]+ s.*: rank 1 of ${ranks} did not answer \\(lost\\)`);

beforeAll(requireMpi);

describe('a lost rank', () => {
  it.each([2, 3])('that hangs is named by the %i-rank job’s timeout, within seconds', async (ranks) => {
    const run = await mpirun(ranks, 'faults.ts', { FAULT: 'hang', NLADMM_MPI_TIMEOUT: '3' }, LIMIT + 10);
    expect(run.timedOut, run.output).toBe(false);
    expect(run.seconds, run.output).toBeLessThan(LIMIT);
    expect(run.code, run.output).not.toBe(0);
    for (let rank = 0; rank < ranks; rank++) if (rank !== 1) expect(run.stderr).toMatch(survivorLine(rank, ranks));
    // The first to give up timed out after 3 s; the others may have joined its census earlier.
    expect(run.stderr).toMatch(/MPI all-reduce #4 timed out after 3 s: rank 1 of \d did not answer \(lost\)/);
    expect(run.stdout).not.toMatch(/: done/);
  });

  it('that calls process.exit names itself; hydra ends the others at once', async () => {
    const run = await mpirun(3, 'faults.ts', { FAULT: 'exit', NLADMM_MPI_TIMEOUT: '3' }, LIMIT + 10);
    expect(run.timedOut, run.output).toBe(false);
    expect(run.seconds, run.output).toBeLessThan(LIMIT);
    expect(run.code, run.output).not.toBe(0);
    expect(run.stderr).toMatch(/mpi: rank 1 of 3 \(pid \d+\) exits with code 7 before close\(\)/);
    expect(run.stdout).not.toMatch(/: done/);
  });

  it('that calls process.exit is named by the survivors under -disable-auto-cleanup (hydra’s SIGUSR1)', async () => {
    const run = await mpirun(3, 'faults.ts', { FAULT: 'exit', NLADMM_MPI_TIMEOUT: '20' }, LIMIT + 10, ['-disable-auto-cleanup']);
    expect(run.timedOut, run.output).toBe(false);
    expect(run.seconds, run.output).toBeLessThan(LIMIT);
    expect(run.code, run.output).not.toBe(0);
    expect(run.stderr).toMatch(/mpi: rank 1 of 3 \(pid \d+\) exits with code 7 before close\(\)/);
    for (const rank of [0, 2]) expect(run.stderr).toMatch(survivorLine(rank, 3));
    // Not the 20-s timeout: hydra's notice started the census.
    expect(run.stderr).toMatch(/abandoned after [\d.]+ s \(mpirun reported a failed process\)/);
    expect(run.stderr).not.toMatch(/Debugger listening/);
  });

  it('that is killed (SIGKILL) ends the job within seconds', async () => {
    const run = await mpirun(3, 'faults.ts', { FAULT: 'kill', NLADMM_MPI_TIMEOUT: '3' }, LIMIT + 10);
    expect(run.timedOut, run.output).toBe(false);
    expect(run.seconds, run.output).toBeLessThan(LIMIT);
    expect(run.code, run.output).not.toBe(0);
    expect(run.stdout).toMatch(/rank 1: leaving \(kill\)/);
    expect(run.output).toMatch(/BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES/);
    expect(run.stdout).not.toMatch(/: done/);
  });
});
