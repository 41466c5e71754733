import { Rng } from './rng.ts';
import { type HostMatrix, hostMatrix } from './problem.ts';

/** The authors' demo task y = x² on n points drawn uniformly from [−1, 1] (X is 1 × n, Y is 1 × n). */
export function squareTask(n: number, seed: number): { x: HostMatrix; y: HostMatrix } {
  const rng = new Rng(seed);
  const x = hostMatrix(1, n);
  const y = hostMatrix(1, n);
  for (let k = 0; k < n; k++) {
    x.data[k] = 2 * rng.uniform() - 1;
    y.data[k] = x.data[k] * x.data[k];
  }
  return { x, y };
}

/** The authors' demo task y = x₁ x₂ on n points drawn uniformly from [−1, 1]² (X is 2 × n, Y is 1 × n). */
export function productTask(n: number, seed: number): { x: HostMatrix; y: HostMatrix } {
  const rng = new Rng(seed);
  const x = hostMatrix(2, n);
  const y = hostMatrix(1, n);
  for (let k = 0; k < n; k++) {
    x.data[k] = 2 * rng.uniform() - 1;
    x.data[n + k] = 2 * rng.uniform() - 1;
    y.data[k] = x.data[k] * x.data[n + k];
  }
  return { x, y };
}
