import type { HostIterate } from './admm.ts';
import type { Backend, DeviceScalar, Matrix } from './backend.ts';
import type { Communicator } from './communicator.ts';
import { type HostMatrix, hostMatrix } from './problem.ts';

// The collectives of a sample-sharded run on backend data. Each is the identity for a single process (no transfer,
// no readback), so the updates call them unconditionally. A device backend stages only the reduced blocks through
// the host: d_i × d_{i−1} matrices and scalars, never the d × n iterates.

/** Replaces each matrix (the same shapes on every rank) by its sum over the ranks, in one all-reduce. */
export async function allReduceMatrices(backend: Backend, communicator: Communicator, matrices: readonly Matrix[]): Promise<void> {
  if (communicator.size === 1) return;
  const parts = await Promise.all(matrices.map((m) => backend.download(m)));
  const packed = new Float64Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    packed.set(part, offset);
    offset += part.length;
  }
  await communicator.allReduceSum(packed);
  offset = 0;
  matrices.forEach((m, k) => {
    backend.upload(m, packed.subarray(offset, offset + parts[k].length));
    offset += parts[k].length;
  });
}

/**
 * Replaces a device scalar by its maximum over the ranks (the max-norms of (20)/(21)). `one` is a device scalar holding
 * 1, the finite source of the write (out ← 0 · one + max).
 */
export async function allReduceScalarMax(backend: Backend, communicator: Communicator, scalar: DeviceScalar, one: DeviceScalar): Promise<void> {
  if (communicator.size === 1) return;
  const value = Float64Array.of(await backend.readScalar(scalar));
  await communicator.allReduceMax(value);
  backend.scalarAffine(scalar, one, 0, value[0]);
}

/** The sums over the ranks of host numbers (one all-reduce), e.g. the per-sample sums of the metrics. */
export async function allReduceNumbers(communicator: Communicator, values: readonly number[]): Promise<number[]> {
  if (communicator.size === 1) return [...values];
  const packed = Float64Array.from(values);
  await communicator.allReduceSum(packed);
  return [...packed];
}

/** Columns start … start + count − 1 of a host matrix (a sample slice). */
export function columnSlice(m: HostMatrix, start: number, count: number): HostMatrix {
  if (start < 0 || count < 0 || start + count > m.cols) throw new RangeError(`columnSlice: columns ${start} … ${start + count - 1} of a matrix with ${m.cols}`);
  const out = hostMatrix(m.rows, count);
  for (let r = 0; r < m.rows; r++) out.data.set(m.data.subarray(r * m.cols + start, r * m.cols + start + count), r * count);
  return out;
}

/** Host matrices of equal row counts side by side, in order (the inverse of {@link columnSlice}). */
export function joinColumns(parts: readonly HostMatrix[]): HostMatrix {
  const rows = parts[0]?.rows ?? 0;
  if (parts.some((p) => p.rows !== rows)) throw new RangeError(`joinColumns: the parts have ${parts.map((p) => p.rows).join(', ')} rows`);
  const cols = parts.reduce((total, p) => total + p.cols, 0);
  const out = hostMatrix(rows, cols);
  for (let r = 0; r < rows; r++) {
    let offset = r * cols;
    for (const p of parts) {
      out.data.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), offset);
      offset += p.cols;
    }
  }
  return out;
}

/**
 * The whole iterate at `root` from every rank's (its V_i and Λ_i hold that rank's columns, in rank order); undefined on
 * the other ranks. W_i are taken from root (they are the same everywhere); V_0 (= X) is not gathered.
 */
export async function gatherIterate(communicator: Communicator, local: HostIterate, root = 0): Promise<HostIterate | undefined> {
  if (communicator.size === 1) return local; // no copy of the (large) V and Λ
  const depth = local.W.length - 1;
  const parts: HostMatrix[] = [];
  for (let i = 1; i <= depth; i++) parts.push(local.V[i], local.Lambda[i]);
  const packed = new Float64Array(parts.reduce((total, p) => total + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    packed.set(p.data, offset);
    offset += p.data.length;
  }
  const gathered = await communicator.gather(packed, root);
  if (!gathered) return undefined;
  // Every rank's packed V_1, Λ_1, …, V_N, Λ_N: d_i rows each, so a rank's column count is its length / Σ 2 d_i.
  const rowsPerSample = parts.reduce((total, p) => total + p.rows, 0);
  const byRank = gathered.map((data) => {
    const cols = data.length / rowsPerSample;
    let at = 0;
    return parts.map((p) => {
      const m = hostMatrix(p.rows, cols, data.subarray(at, at + p.rows * cols));
      at += p.rows * cols;
      return m;
    });
  });
  const V: HostMatrix[] = [hostMatrix(0, 0)];
  const Lambda: HostMatrix[] = [hostMatrix(0, 0)];
  for (let i = 1; i <= depth; i++) {
    V.push(joinColumns(byRank.map((m) => m[2 * (i - 1)])));
    Lambda.push(joinColumns(byRank.map((m) => m[2 * (i - 1) + 1])));
  }
  return { iteration: local.iteration, W: local.W, V, Lambda };
}

/** A rank's part of a whole iterate: columns start … start + count − 1 of every V_i and Λ_i (for restoring with any P). */
export function sliceIterate(whole: HostIterate, start: number, count: number): HostIterate {
  const depth = whole.W.length - 1;
  const V: HostMatrix[] = [hostMatrix(0, 0)];
  const Lambda: HostMatrix[] = [hostMatrix(0, 0)];
  for (let i = 1; i <= depth; i++) {
    V.push(columnSlice(whole.V[i], start, count));
    Lambda.push(columnSlice(whole.Lambda[i], start, count));
  }
  return { iteration: whole.iteration, W: whole.W, V, Lambda };
}

/**
 * The numbers each rank all-reduces in one iteration of a sharded Algorithm 1 without metrics (8 bytes each, as f64):
 * for every layer i the G Ãᵀ sum of (18)/(8) (d_i × (d_{i−1} + bias)), for i ≥ 2 the Gram matrix Ã Ãᵀ of order
 * d_{i−1} + bias (X̃ X̃ᵀ of layer 1 is summed once, before the first iteration), for i < N the max-norm of (20), and
 * the stop decision. An evaluated iteration adds `metrics`: ∂𝓛/∂W_i (the sizes of W_i), the 2N increments of V and
 * Λ, and 3N + 9 sums of the metrics (with a test set; 4 fewer without).
 */
export function allReducedPerIteration(layers: readonly number[], bias: boolean): { iteration: number; metrics: number } {
  const extra = bias ? 1 : 0;
  const depth = layers.length - 1;
  let weights = 0;
  let grams = 0;
  for (let i = 1; i <= depth; i++) {
    weights += layers[i] * (layers[i - 1] + extra);
    if (i >= 2) grams += (layers[i - 1] + extra) ** 2;
  }
  return { iteration: weights + grams + (depth - 1) + 1, metrics: weights + 5 * depth + 9 };
}
