import type { Activation } from './activation.ts';
import type { AdmmSolver } from './admm.ts';
import type { Backend, DeviceScalar, Matrix } from './backend.ts';
import { type Loss, squaredLoss } from './loss.ts';
import type { HostMatrix } from './problem.ts';
import { allReduceMatrices, allReduceNumbers } from './sharding.ts';

/** What is measured at an iterate Q^k. Norms are Frobenius norms. */
export interface IterationMetrics {
  /** k. */
  readonly iteration: number;
  /** The augmented Lagrangian 𝓛(Q^k) of (6). */
  readonly augmentedLagrangian: number;
  /** The objective of (5): ℓ(V_N; Y) + λ/2 Σ‖W_i‖² (the paper's ℓ = ½‖V_N − Y‖²). */
  readonly objective: number;
  /** ‖σ_i(W_i V_{i−1}) − V_i‖ for i = 1…N (index 0 is layer 1). */
  readonly residuals: number[];
  /** ‖∇𝓛(Q^k)‖ over all blocks W, V, Λ; zero exactly at the KKT points (24). */
  readonly gradNorm: number;
  /** ‖∂𝓛/∂W_i‖, ‖∂𝓛/∂V_i‖, ‖∂𝓛/∂Λ_i‖ for i = 1…N (index 0 is layer 1). */
  readonly gradNormBlocks: { readonly W: number[]; readonly V: number[]; readonly Lambda: number[] };
  /** ‖Q^k − Q^{k−1}‖ (NaN when the increments were not tracked). */
  readonly stepNorm: number;
  /** The network's own loss n⁻¹ ℓ(Φ(X; W); Y) from a plain forward pass (squared: ½ n⁻¹ ‖Φ − Y‖²). */
  readonly trainLoss: number;
  /** Fraction of correctly classified training samples (when Y is one-hot). */
  readonly trainAccuracy?: number;
  readonly testLoss?: number;
  readonly testAccuracy?: number;
}

/** True when every column of Y has exactly one 1 and zeros elsewhere. */
export function isOneHot(y: HostMatrix): boolean {
  if (y.rows < 2) return false;
  for (let c = 0; c < y.cols; c++) {
    let ones = 0;
    for (let r = 0; r < y.rows; r++) {
      const v = y.data[r * y.cols + c];
      if (v === 1) ones++;
      else if (v !== 0) return false;
    }
    if (ones !== 1) return false;
  }
  return true;
}

/** The number of columns whose arg-max in `output` equals the arg-max in `target` (both rows × n, packed). */
export function countHits(output: Float64Array, target: ArrayLike<number>, rows: number, cols: number): number {
  let correct = 0;
  for (let c = 0; c < cols; c++) {
    let best = 0;
    let label = 0;
    for (let r = 1; r < rows; r++) {
      if (output[r * cols + c] > output[best * cols + c]) best = r;
      if (target[r * cols + c] > target[label * cols + c]) label = r;
    }
    if (best === label) correct++;
  }
  return correct;
}

/**
 * The mean loss n⁻¹ Σ_c ℓ(φ_c; y_c) of the network's outputs Φ (d_N × n, packed) — ½ n⁻¹ ‖Φ − Y‖² for the squared
 * loss — and, for one-hot targets, the accuracy.
 */
export function lossAndAccuracy(output: Float64Array, target: HostMatrix, oneHot: boolean, loss: Loss = squaredLoss): { loss: number; accuracy?: number } {
  return meanOf(sampleSumsVector(sampleSums(output, target, oneHot, loss)));
}

/** Σ_c ℓ(φ_c; y_c) over the columns of the network's outputs Φ (d_N × n, packed) — ½ ‖Φ − Y‖² for the squared loss. */
export function lossSum(output: Float64Array, target: HostMatrix, loss: Loss = squaredLoss): number {
  const { rows, cols } = target;
  let total = 0;
  if (loss.quadratic) {
    for (let k = 0; k < output.length; k++) total += (output[k] - target.data[k]) ** 2 / 2;
  } else {
    const v = new Float64Array(rows);
    const y = new Float64Array(rows);
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) {
        v[r] = output[r * cols + c];
        y[r] = target.data[r * cols + c];
      }
      total += loss.value(v, y);
    }
  }
  return total;
}

/**
 * The network Φ(X; W) = W_N σ(… σ(W_1 X̃) …) on the backend for weights W_1…W_N (with bias columns when `bias`)
 * and an augmented input X̃ (d_0 + bias rows); returns a new d_N × n matrix that the caller frees.
 */
export function forwardPass(backend: Backend, weights: readonly Matrix[], activation: Activation, bias: boolean, inputAug: Matrix): Matrix {
  const depth = weights.length;
  const n = inputAug.cols;
  const extra = bias ? 1 : 0;
  let previous = inputAug;
  const temporaries: Matrix[] = [];
  for (let i = 0; i < depth - 1; i++) {
    const rows = weights[i].rows;
    const next = backend.alloc(rows + extra, n);
    if (bias) backend.fill(next, 1);
    const top = bias ? backend.view(next, rows, n) : next;
    backend.gemm(1, weights[i], false, previous, false, 0, top);
    backend.activate(activation, top, top);
    temporaries.push(next);
    previous = next;
  }
  const out = backend.alloc(weights[depth - 1].rows, n);
  backend.gemm(1, weights[depth - 1], false, previous, false, 0, out);
  for (const m of temporaries) backend.free(m);
  return out;
}

/** Uploads X (d_0 × n) with a row of ones appended when `bias`. */
export function uploadAugmented(backend: Backend, x: HostMatrix, bias: boolean): Matrix {
  const m = backend.alloc(x.rows + (bias ? 1 : 0), x.cols);
  const host = new Float64Array(m.rows * m.cols);
  host.set(x.data.subarray(0, x.rows * x.cols));
  if (bias) host.fill(1, x.rows * x.cols);
  backend.upload(m, host);
  return m;
}

/** The sums behind a mean loss and an accuracy on one rank's samples (summed over ranks before dividing). */
export interface SampleSums {
  readonly lossSum: number;
  readonly hits: number;
  readonly samples: number;
  /** 1 when this rank's targets are not one-hot (then no accuracy anywhere), else 0. */
  readonly notOneHot: number;
}

/**
 * Computes {@link IterationMetrics} of a solver's current iterate. Holds the test set on the backend and a few
 * device scalars; call {@link dispose} when done. Sharded (the solver's communicator), every sum over samples is
 * summed over the ranks, and the means divide by the total number of samples: every rank gets the same metrics.
 */
export class MetricsEvaluator {
  private readonly backend: Backend;
  /** Per layer i: ‖r_i‖², ⟨Λ_i, r_i⟩, ‖W_i‖², ‖∂𝓛/∂W_i‖², ‖∂𝓛/∂V_i‖² (5 slots each), then ℓ(V_N; Y). */
  private readonly scalars: DeviceScalar[];
  private readonly trainTarget: HostMatrix;
  private readonly trainOneHot: boolean;
  private readonly test?: { x: Matrix; y: HostMatrix; oneHot: boolean };

  constructor(
    private readonly solver: AdmmSolver,
    data: { y: HostMatrix; xTest?: HostMatrix; yTest?: HostMatrix },
  ) {
    this.backend = solver.device;
    this.scalars = Array.from({ length: 5 * solver.depth + 1 }, () => this.backend.scalar(0));
    this.trainTarget = data.y;
    this.trainOneHot = isOneHot(data.y);
    if (data.xTest && data.yTest) {
      this.test = { x: uploadAugmented(this.backend, data.xTest, solver.config.bias), y: data.yTest, oneHot: isOneHot(data.yTest) };
    }
  }

  /**
   * Evaluates the metrics at the current iterate. `increments` (squared norms from the last step, when tracked)
   * give ‖Q^k − Q^{k−1}‖. Every norm is reduced into a device scalar and all are read back at once, with the
   * network's outputs on the training and test sets.
   */
  async evaluate(increments?: { W: number[]; V: number[]; Lambda: number[] }): Promise<IterationMetrics> {
    const s = this.solver;
    const b = this.backend;
    const N = s.depth;
    const { lambda, layers } = s.config;
    const n = s.samples;
    const work = b.alloc(Math.max(...layers.slice(1)), n);
    const workE = b.alloc(Math.max(...layers.slice(1)), n);
    const gradW = b.alloc(Math.max(...s.W.slice(1).map((w) => w.rows)), Math.max(...s.W.slice(1).map((w) => w.cols)));
    const slot = (i: number, k: number) => this.scalars[5 * (i - 1) + k];
    try {
      // The buffers are reused from layer to layer: each reduction is encoded before the next write to them.
      for (let i = 1; i <= N; i++) {
        const r = b.view(work, layers[i], n);
        // r_i = σ_i(W_i Ṽ_{i−1}) − V_i, with S_i = W_i Ṽ_{i−1} current after a step or initialisation.
        b.activate(s.sigma[i], s.S[i], r);
        b.axpby(-1, s.V[i], 1, r);
        b.sumSquares(slot(i, 0), r);
        b.dot(slot(i, 1), s.Lambda[i], r);
        b.sumSquares(slot(i, 2), s.W[i]);
        // E_i = (Λ_i + β_i r_i) ⊙ σ_i′(S_i); ∂𝓛/∂W_i = λ W_i + E_i Ṽ_{i−1}ᵀ.
        const e = b.view(workE, layers[i], n);
        b.multiplierStep(s.sigma[i], s.S[i], s.V[i], s.Lambda[i], s.beta(i), true, e);
        const gw = b.view(gradW, s.W[i].rows, s.W[i].cols);
        b.gemm(1, e, false, s.Vaug[i - 1], true, 0, gw);
        await allReduceMatrices(b, s.communicator, [gw]);
        b.axpby(lambda, s.W[i], 1, gw);
        b.sumSquares(slot(i, 3), gw);
        // ∂𝓛/∂V_{i−1} = −(Λ_{i−1} + β_{i−1} r_{i−1}) + W̄_iᵀ E_i for 2 ≤ i (into layer i − 1's slot).
        if (i >= 2) {
          const gv = b.view(work, layers[i - 1], n);
          b.multiplierStep(s.sigma[i - 1], s.S[i - 1], s.V[i - 1], s.Lambda[i - 1], s.beta(i - 1), false, gv);
          b.gemm(1, s.Wbar[i], true, e, false, -1, gv);
          b.sumSquares(slot(i - 1, 4), gv);
        }
      }
      // ∂𝓛/∂V_N = ∇ℓ(V_N; Y) − (Λ_N + β_N r_N) (∇ℓ = V_N − Y for the squared loss); the loss term ℓ(V_N; Y).
      const loss = s.config.loss;
      b.lossValue(loss, s.V[N], s.Y, this.scalars[5 * N]);
      const lossGradient = b.view(work, layers[N], n);
      b.lossGradient(loss, s.V[N], s.Y, lossGradient);
      const gvN = b.view(workE, layers[N], n);
      b.multiplierStep(s.sigma[N], s.S[N], s.V[N], s.Lambda[N], s.beta(N), false, gvN);
      b.axpby(1, lossGradient, -1, gvN);
      b.sumSquares(slot(N, 4), gvN);
      const [local, trainLocal, testLocal] = await Promise.all([
        b.readScalars(this.scalars),
        this.networkLoss(s.Vaug[0], this.trainTarget, this.trainOneHot),
        this.test ? this.networkLoss(this.test.x, this.test.y, this.test.oneHot) : undefined,
      ]);
      // Sums over samples, summed over the ranks in one all-reduce: per layer ‖r_i‖², ⟨Λ_i, r_i⟩, ‖∂𝓛/∂V_i‖², then
      // ℓ(V_N; Y) and the network's loss sums. ‖W_i‖² and ‖∂𝓛/∂W_i‖² (already reduced) are the same on every rank.
      const perSample = [
        ...Array.from({ length: N }, (_, k) => [local[5 * k], local[5 * k + 1], local[5 * k + 4]]).flat(),
        local[5 * N],
        ...sampleSumsVector(trainLocal),
        ...(testLocal ? sampleSumsVector(testLocal) : []),
      ];
      const summed = await allReduceNumbers(s.communicator, perSample);
      const values = [...local];
      for (let k = 0; k < N; k++) [values[5 * k], values[5 * k + 1], values[5 * k + 4]] = summed.slice(3 * k, 3 * k + 3);
      values[5 * N] = summed[3 * N];
      const train = meanOf(summed.slice(3 * N + 1, 3 * N + 5));
      const test = testLocal ? meanOf(summed.slice(3 * N + 5, 3 * N + 9)) : undefined;

      let lagrangian = 0;
      let weightSq = 0;
      const blocks = { W: [] as number[], V: [] as number[], Lambda: [] as number[] };
      const residuals: number[] = [];
      for (let i = 1; i <= N; i++) {
        const [rSq, inner, wSq, gradWSq, gradVSq] = values.slice(5 * (i - 1), 5 * i);
        residuals.push(Math.sqrt(rSq));
        lagrangian += (s.beta(i) / 2) * rSq + inner;
        blocks.Lambda.push(Math.sqrt(rSq)); // ∂𝓛/∂Λ_i = r_i
        weightSq += wSq;
        blocks.W.push(Math.sqrt(gradWSq));
        blocks.V.push(Math.sqrt(gradVSq));
      }
      const lossValue = values[5 * N];
      const gradSq = [...blocks.W, ...blocks.V, ...blocks.Lambda].reduce((acc, v) => acc + v * v, 0);

      const objective = lossValue + (lambda / 2) * weightSq;
      lagrangian += objective;
      const stepNorm = increments
        ? Math.sqrt([...increments.W, ...increments.V, ...increments.Lambda].reduce((acc, v) => acc + v, 0))
        : NaN;
      return {
        iteration: s.iteration,
        augmentedLagrangian: lagrangian,
        objective,
        residuals,
        gradNorm: Math.sqrt(gradSq),
        gradNormBlocks: blocks,
        stepNorm,
        trainLoss: train.loss,
        ...(train.accuracy !== undefined ? { trainAccuracy: train.accuracy } : {}),
        ...(test ? { testLoss: test.loss } : {}),
        ...(test?.accuracy !== undefined ? { testAccuracy: test.accuracy } : {}),
      };
    } finally {
      b.free(work);
      b.free(workE);
      b.free(gradW);
    }
  }

  /** Σ ℓ(Φ(X; W); Y) and, for one-hot targets, the number of correct arg-maxes, on this rank's samples. */
  private async networkLoss(inputAug: Matrix, target: HostMatrix, oneHot: boolean): Promise<SampleSums> {
    const { W, config } = this.solver;
    const out = forwardPass(this.backend, W.slice(1), config.activation, config.bias, inputAug);
    try {
      const output = await this.backend.download(out);
      return sampleSums(output, target, oneHot, config.loss);
    } finally {
      this.backend.free(out);
    }
  }

  dispose(): void {
    for (const scalar of this.scalars) this.backend.freeScalar(scalar);
    if (this.test) this.backend.free(this.test.x);
  }
}


/** The {@link SampleSums} of the network's outputs Φ (d_N × n, packed) on one rank's samples. */
export function sampleSums(output: Float64Array, target: HostMatrix, oneHot: boolean, loss: Loss = squaredLoss): SampleSums {
  return {
    lossSum: lossSum(output, target, loss),
    hits: oneHot ? countHits(output, target.data, target.rows, target.cols) : 0,
    samples: target.cols,
    notOneHot: oneHot ? 0 : 1,
  };
}

/** {@link SampleSums} as the four numbers of an all-reduce (the inverse is {@link meanOf}). */
export function sampleSumsVector(sums: SampleSums): number[] {
  return [sums.lossSum, sums.hits, sums.samples, sums.notOneHot];
}

/** The mean loss and (when every rank's targets are one-hot) the accuracy from summed {@link sampleSumsVector}s. */
export function meanOf([total, hits, samples, notOneHot]: readonly number[]): { loss: number; accuracy?: number } {
  return notOneHot === 0 ? { loss: total / samples, accuracy: hits / samples } : { loss: total / samples };
}
