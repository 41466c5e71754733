/**
 * The collectives under `mpirun -np 2` and `-np 3` (fixtures/collectives.ts): sums and maxes (NaN, ±0, ±∞) of a
 * 300×300 matrix and of scalars equal to a serial computation on every rank and identical bit for bit across ranks;
 * broadcast; gather with different lengths; barrier.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mpirun, requireMpi } from './support.ts';

interface Result {
  rank: number;
  size: number;
  describe: string;
  failures: string[];
  digests: Record<string, string>;
}
interface BarrierTimes {
  rank: number;
  entered: number;
  left: number;
}

const lines = (output: string, prefix: string): unknown[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith(`${prefix} `))
    .map((line) => JSON.parse(line.slice(prefix.length + 1)));

beforeAll(requireMpi);

describe.each([2, 3])('MpiCommunicator under mpirun -np %i', (ranks) => {
  it('computes every collective as the serial reference, the same bits on every rank', async () => {
    const run = await mpirun(ranks, 'collectives.ts', { NLADMM_MPI_TIMEOUT: '60' }, 100);
    expect(run.timedOut, run.output).toBe(false);
    expect(run.code, run.output).toBe(0);
    const results = (lines(run.stdout, 'RESULT') as Result[]).sort((a, b) => a.rank - b.rank);
    expect(results.map((r) => r.rank)).toEqual(Array.from({ length: ranks }, (_, r) => r));
    for (const result of results) {
      expect(result.size).toBe(ranks);
      expect(result.describe).toMatch(new RegExp(`^MPICH \\d+\\.\\d+.*, rank ${result.rank} of ${ranks}$`));
      expect(result.failures, `rank ${result.rank}`).toEqual([]);
      expect(result.digests, `rank ${result.rank} against rank 0`).toEqual(results[0].digests);
    }
    expect(Object.keys(results[0].digests).sort()).toEqual(['broadcast', 'max', 'maxOne', 'sumDyadic', 'sumOne', 'sumRandom', 'sumScalars']);
    // Nobody left the barrier before the last rank (300 ms late) entered it.
    const barrier = lines(run.stdout, 'BARRIER') as BarrierTimes[];
    expect(barrier).toHaveLength(ranks);
    const lastEntered = Math.max(...barrier.map((b) => b.entered));
    for (const b of barrier) expect(b.left, `rank ${b.rank}`).toBeGreaterThanOrEqual(lastEntered);
  });
});
