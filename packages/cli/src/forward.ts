import { type Activation, type Backend, type HostMatrix, forwardPass, uploadAugmented } from '@nladmm/core';

/**
 * Φ(X; W) = W_N σ(… σ(W_1 X̃) …) on a backend, with the same function as the trainer's metrics (so a saved
 * model gives the same numbers). Returns the d_N × n outputs, packed row-major.
 */
export async function forward(backend: Backend, weights: readonly HostMatrix[], bias: boolean, activation: Activation, x: HostMatrix): Promise<Float64Array> {
  const owned = [];
  try {
    const input = uploadAugmented(backend, x, bias);
    owned.push(input);
    const w = weights.map((h) => {
      const m = backend.alloc(h.rows, h.cols);
      owned.push(m);
      backend.upload(m, h.data);
      return m;
    });
    const out = forwardPass(backend, w, activation, bias, input);
    owned.push(out);
    return await backend.download(out);
  } finally {
    for (const m of owned) backend.free(m);
  }
}
