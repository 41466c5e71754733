import { type HostMatrix, Rng, hostMatrix } from '@nladmm/core';

/** X (d_0 × n) and Y (d_N × n) with standard normal entries, Y scaled by `targetScale`. */
export function randomRegression(layers: readonly number[], n: number, seed: number, targetScale = 0.5): { x: HostMatrix; y: HostMatrix } {
  const rng = new Rng(seed);
  const x = hostMatrix(layers[0], n);
  const y = hostMatrix(layers[layers.length - 1], n);
  for (let k = 0; k < x.data.length; k++) x.data[k] = rng.normal();
  for (let k = 0; k < y.data.length; k++) y.data[k] = targetScale * rng.normal();
  return { x, y };
}

