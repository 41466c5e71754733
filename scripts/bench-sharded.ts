// Per-iteration time of a sample-sharded Algorithm 1 and the share of it spent in the collectives (a benchmark:
// prints figures, asserts nothing). Run it under MPI, one BLAS thread per rank, e.g.
//   mpirun -np 2 node --import tsx scripts/bench-sharded.ts --layers 784,1000,1000,10 --n 10000 --iters 3
// and with -np 1 (or plain node) for the single process. Every rank draws the same random problem and keeps its slice.
import { type Communicator, AdmmSolver, Rng, allReducedPerIteration, columnSlice, hostMatrix, paperStepRule, shardRange, singleProcess } from '@nladmm/core';
import { sigmoid } from '@nladmm/activations';
import { BlasBackend } from '@nladmm/blas-backend';
import { createMpiCommunicator, launchedByMpi } from '@nladmm/mpi';
import { benchArgs } from './benchArgs.ts';

const { values: args } = benchArgs('bench-sharded', '[--layers 784,1000,1000,10] [--n 10000] [--iters 3] [--precision f64|f32]', {
  options: {
    layers: { type: 'string', default: '784,1000,1000,10' },
    n: { type: 'integer', min: 1, default: 10000 },
    iters: { type: 'integer', min: 1, default: 3 },
    precision: { type: 'string', choices: ['f64', 'f32'], default: 'f64' },
  },
});
const layers = args.layers.split(',').map(Number);
const n = args.n;

const world: Communicator = launchedByMpi() ? await createMpiCommunicator() : singleProcess;
/** The communicator with the wall time of its collectives added up (waiting for slower ranks included). */
const spent = { ms: 0 };
const timed = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
  const t0 = performance.now();
  try {
    return await f(...a);
  } finally {
    spent.ms += performance.now() - t0;
  }
};
const communicator: Communicator = {
  ...world,
  rank: world.rank,
  size: world.size,
  describe: () => world.describe(),
  allReduceSum: timed((d: Float64Array) => world.allReduceSum(d)),
  allReduceMax: timed((d: Float64Array) => world.allReduceMax(d)),
  broadcast: timed((d: Float64Array, root?: number) => world.broadcast(d, root)),
  gather: (d, root) => world.gather(d, root),
  barrier: () => world.barrier(),
  close: () => world.close(),
  abort: (code) => world.abort(code),
};

const rng = new Rng(1);
const x = hostMatrix(layers[0], n, Array.from({ length: layers[0] * n }, () => rng.uniform()));
const y = hostMatrix(layers.at(-1)!, n);
for (let c = 0; c < n; c++) y.data[(c % y.rows) * n + c] = 1;
const { start, count } = shardRange(n, communicator.rank, communicator.size);

const backend = new BlasBackend({ precision: args.precision as 'f64' | 'f32', threads: 1 });
const solver = AdmmSolver.create(backend, { x: columnSlice(x, start, count), y: columnSlice(y, start, count) }, {
  layers, activation: sigmoid, beta: 1, lambda: 1e-4, stepRule: paperStepRule, init: { scheme: 'msra', seed: 1 },
}, communicator);
await solver.step(); // warm-up (and X̃ X̃ᵀ summed once)
await backend.sync();
spent.ms = 0;
const t0 = performance.now();
for (let k = 0; k < args.iters; k++) await solver.step();
await backend.sync();
const perIteration = (performance.now() - t0) / args.iters;
const commPerIteration = spent.ms / args.iters;
const all = Float64Array.of(perIteration, commPerIteration);
await communicator.allReduceMax(all);
if (communicator.rank === 0) {
  const exchanged = allReducedPerIteration(layers, true).iteration;
  console.log(`layers ${layers.join('-')}, n = ${n}, P = ${communicator.size} (${count} samples on rank 0), ${args.precision}, blas 1 thread per rank`);
  console.log(`per iteration: ${all[0].toFixed(0)} ms (slowest rank), collectives ${all[1].toFixed(0)} ms = ${((100 * all[1]) / all[0]).toFixed(1)} %`);
  console.log(`all-reduced per iteration: ${exchanged} numbers = ${((exchanged * 8) / 1e6).toFixed(1)} MB`);
}
solver.dispose();
backend.dispose();
await communicator.close();
