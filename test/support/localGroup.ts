// P communicators in one process, for testing a sharded run without MPI: each collective resolves once all P ranks
// have called it, combining their arrays in rank order (so the sums are those of a reduce to rank 0 in that order).
import type { Communicator } from '@nladmm/core';

type Pending = { data: Float64Array; resolve: (result: Float64Array[]) => void };

/** A group of `size` in-process ranks; rank r uses communicators[r]. */
export function localGroup(size: number): Communicator[] {
  let round: Pending[] = [];
  let kind = '';
  const calls = { count: 0 };
  const meet = (rank: number, what: string, data: Float64Array) =>
    new Promise<Float64Array[]>((resolve) => {
      if (round.length === 0) kind = what;
      else if (kind !== what) throw new Error(`local group: rank ${rank} called ${what} while the others are in ${kind}`);
      round[rank] = { data, resolve };
      if (Object.keys(round).length === size) {
        const all = round;
        round = [];
        calls.count++;
        const inputs = all.map((p) => Float64Array.from(p.data));
        for (const p of all) p.resolve(inputs);
      }
    });
  const combine = (inputs: Float64Array[], data: Float64Array, op: (a: number, b: number) => number) => {
    for (let k = 0; k < data.length; k++) {
      let acc = inputs[0][k];
      for (let r = 1; r < inputs.length; r++) acc = op(acc, inputs[r][k]);
      data[k] = acc;
    }
  };
  const max = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
  return Array.from({ length: size }, (_, rank): Communicator => ({
    rank,
    size,
    describe: () => `local group, rank ${rank} of ${size}`,
    allReduceSum: async (data) => combine(await meet(rank, 'allReduceSum', data), data, (a, b) => a + b),
    allReduceMax: async (data) => combine(await meet(rank, 'allReduceMax', data), data, max),
    broadcast: async (data, root = 0) => data.set((await meet(rank, 'broadcast', data))[root]),
    gather: async (data, root = 0) => {
      const inputs = await meet(rank, 'gather', data);
      return rank === root ? inputs : undefined;
    },
    barrier: async () => void (await meet(rank, 'barrier', new Float64Array(0))),
    close: async () => {},
    abort: (code) => {
      throw new Error(`local group: rank ${rank} aborted with code ${code}`);
    },
  }));
}
