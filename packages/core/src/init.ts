import { Rng } from './rng.ts';
import { type HostMatrix, hostMatrix } from './problem.ts';

/** Weight initialisation schemes (all Gaussian, biases zero). */
export type InitScheme = 'msra' | 'xavier' | 'lecun';

/**
 * Draws W_1…W_N for widths d_0…d_N: W_i is d_i × d_{i−1} (plus a zero bias column when `bias`), with entries
 * scale · N(0, 1) · std where std is sqrt(2/fan) for MSRA/He (fan = fan_in = d_{i−1} or fan_out = d_i),
 * sqrt(2/(fan_in + fan_out)) for Xavier/Glorot and sqrt(1/fan_in) for LeCun. Deterministic in the seed.
 */
export function drawWeights(
  layers: readonly number[],
  options: { scheme: InitScheme; seed: number; scale?: number; mode?: 'fan_in' | 'fan_out'; bias: boolean },
): HostMatrix[] {
  const rng = new Rng(options.seed);
  const scale = options.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`init scale must be a finite number > 0, got ${scale}`);
  const weights: HostMatrix[] = [];
  for (let i = 1; i < layers.length; i++) {
    const fanIn = layers[i - 1];
    const fanOut = layers[i];
    let std: number;
    switch (options.scheme) {
      case 'msra':
        std = Math.sqrt(2 / ((options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut));
        break;
      case 'xavier':
        std = Math.sqrt(2 / (fanIn + fanOut));
        break;
      case 'lecun':
        std = Math.sqrt(1 / fanIn);
        break;
      default:
        throw new RangeError(`unknown init scheme '${String(options.scheme)}' (known: msra, xavier, lecun)`);
    }
    const cols = fanIn + (options.bias ? 1 : 0);
    const w = hostMatrix(fanOut, cols);
    for (let r = 0; r < fanOut; r++) {
      for (let c = 0; c < fanIn; c++) w.data[r * cols + c] = scale * std * rng.normal();
    }
    weights.push(w);
  }
  return weights;
}
