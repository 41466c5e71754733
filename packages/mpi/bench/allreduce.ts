/**
 * The cost of the communicator's in-place all-reduce (the sums of Algorithm 1's W updates (8)/(18)) for a
 * 1000×1000 f64 matrix and for one scalar, against MPICH's blocking MPI_Allreduce of the same data:
 *
 *   mpirun -np 2 node --import tsx packages/mpi/bench/allreduce.ts
 *
 * Every timed call starts right after a barrier; rank 0 prints the median and the fastest of the repetitions.
 */
import { MPI } from '../src/library.ts';
import { createMpiCommunicator } from '../src/index.ts';

const comm = await createMpiCommunicator();
const { fn } = comm.library;

async function time(repetitions: number, op: () => Promise<void> | void): Promise<{ median: number; best: number }> {
  const times: number[] = [];
  for (let i = 0; i < repetitions + 3; i++) {
    await comm.barrier();
    const start = performance.now();
    await op();
    if (i >= 3) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], best: times[0] };
}

const format = (t: { median: number; best: number }): string => `${t.median.toFixed(3)} ms (best ${t.best.toFixed(3)} ms)`;
const lines: string[] = [];
for (const [label, n, repetitions] of [['1000×1000 f64', 1_000_000, 40], ['1 scalar', 1, 400]] as const) {
  const data = new Float64Array(n).fill(comm.rank + 1);
  const sum = await time(repetitions, () => comm.allReduceSum(data));
  const max = await time(repetitions, () => comm.allReduceMax(data));
  const blocking = await time(repetitions, () => {
    const code = fn.MPI_Allreduce(MPI.IN_PLACE, data, n, MPI.DOUBLE, MPI.SUM, MPI.COMM_WORLD);
    if (code !== MPI.SUCCESS) throw new Error(`MPI_Allreduce failed with code ${code}`);
  });
  lines.push(`${label}: allReduceSum ${format(sum)}, allReduceMax ${format(max)}, blocking MPI_Allreduce ${format(blocking)}`);
}
if (comm.rank === 0) console.log(`${comm.describe().replace(/, rank .*/, '')}, ${comm.size} ranks, in-place all-reduce\n  ${lines.join('\n  ')}`);
await comm.close();
