/** The backpropagation baselines' trainer: full-batch or mini-batch gradient descent, momentum and Adam on a backend. */
import type { Backend, DeviceScalar, Matrix } from './backend.ts';
import { type BackpropConfig, type ResolvedBackprop, resolveBackprop } from './baselineConfig.ts';
import { type Communicator, singleProcess } from './communicator.ts';
import type { Loss } from './loss.ts';
import { forwardPass, isOneHot, meanOf, sampleSums, sampleSumsVector, uploadAugmented } from './metrics.ts';
import { type HostMatrix, type TrainingData, hostMatrix } from './problem.ts';
import { Rng, type RngState } from './rng.ts';
import { allReduceMatrices, allReduceNumbers } from './sharding.ts';
import { DivergenceError, RunSchedule, type StopReason, type TrainOptions, type TrainerOptions, TypedEmitter, yieldToEventLoop } from './train.ts';

/** What is measured at an iterate of a {@link BackpropTrainer}, always on the full training data. */
export interface BackpropProgress {
  /** Optimiser steps done. */
  readonly iteration: number;
  /** Completed passes over the data (fractional for `sgd`; equals `iteration` for `gd`). */
  readonly epoch: number;
  /** f(W) = F(W)/n with F the objective (5) with V eliminated: n⁻¹ ℓ(Φ(X; W); Y) + λ/(2n) Σ‖W_i‖² (squared ℓ: ½n⁻¹‖Φ − Y‖²). */
  readonly objective: number;
  /** n⁻¹ ℓ(Φ(X; W); Y) (squared ℓ: ½ n⁻¹ ‖Φ(X; W) − Y‖²), the same definition as ADMM's trainLoss. */
  readonly trainLoss: number;
  /** ‖∇f(W)‖ over all W_i (full data). */
  readonly gradNorm: number;
  readonly trainAccuracy?: number;
  readonly testLoss?: number;
  readonly testAccuracy?: number;
  /** Wall time of the optimiser steps so far, in ms (metric evaluation excluded). */
  readonly elapsedMs: number;
  readonly msPerIteration: number;
}

export interface BackpropResult {
  readonly reason: StopReason;
  readonly iterations: number;
  readonly final: BackpropProgress;
}

/** Everything a {@link BackpropTrainer} needs to continue bit for bit (host copies, f64). */
export interface BackpropCheckpoint {
  /** Optimiser steps done. */
  readonly iteration: number;
  /** Wall time of the steps so far, in ms. */
  readonly elapsedMs: number;
  /** W_1…W_N (with their bias columns when biases are on). */
  readonly weights: readonly HostMatrix[];
  /** Per W_i: the heavy-ball velocity (`gd`/`sgd` with μ > 0) or Adam's first moment; empty when there is none. */
  readonly firstMoment: readonly HostMatrix[];
  /** Per W_i: Adam's second moment; empty for `gd` and `sgd`. */
  readonly secondMoment: readonly HostMatrix[];
  /** The mini-batch sampler: this epoch's order of the n samples, the position in it and the shuffle's RNG. */
  readonly order: readonly number[];
  readonly cursor: number;
  readonly rng: RngState;
}

export interface BackpropEvents {
  /** The last event of every step (after its `metrics`, when evaluated). */
  iteration: { readonly iteration: number; readonly evaluated: boolean };
  metrics: BackpropProgress;
  stop: BackpropResult;
}

/** The backend buffers of one forward/backward pass over `cols` samples. */
interface Pass {
  readonly cols: number;
  /** Ã_0 … Ã_{N−1}: the augmented input and the augmented hidden activations (bias row of ones kept). */
  readonly A: Matrix[];
  /** The leading d_i rows of A_i (the activations themselves); index 0 unused. */
  readonly Atop: Matrix[];
  /** Z_1 … Z_{N−1}: pre-activations; index 0 unused. */
  readonly Z: Matrix[];
  /** δ_1 … δ_N (δ_N first holds Φ, then Φ − Y); index 0 unused. */
  readonly D: Matrix[];
  readonly Y: Matrix;
}

/**
 * Gradient-descent baselines for Algorithm 1, computed with the backend's own verbs (no second engine).
 *
 * They minimise the function ADMM minimises, (5) with V eliminated,
 * F(W) = ½‖Φ(X; W) − Y‖² + λ/2 Σ‖W_i‖², scaled per sample: f(W) = F(W)/n, so that the learning rate does not
 * depend on n. `gd` steps along ∇f on the full data. `sgd` shuffles the sample indices every epoch (core's
 * {@link Rng}, seeded) and steps along the gradient of the mini-batch objective
 * f_B(W) = ½ b⁻¹ ‖Φ(X_B; W) − Y_B‖² + λ/(2n) Σ‖W_i‖², whose expectation over the uniformly drawn batch B is f
 * (an unbiased estimate). An epoch holds ⌊n/b⌋ steps; the samples left over by a shuffle wait for the next one.
 * `gd` and `sgd` use heavy-ball momentum v ← μ v + ∇, W ← W − η v; `adam` takes the backend's fused Adam step
 * (bias-corrected first and second moments) on the same gradients.
 *
 * Backpropagation: Z_i = W_i Ã_{i−1}, A_i = σ(Z_i) for i < N, Φ = W_N Ã_{N−1}; δ_N = (Φ − Y)/b;
 * ∂W_i = δ_i Ã_{i−1}ᵀ + (λ/n) W_i; δ_{i−1} = (W̄_iᵀ δ_i) ⊙ σ′(Z_{i−1}), with W̄_i the view of W_i without its bias
 * column and the Hadamard product by σ′ done by `multiplierStep` with β = 0.
 *
 * Sharded by samples (a communicator of P ranks, full-batch steps only), each rank backpropagates its slice and the
 * gradients' sums over samples δ_i Ã_{i−1}ᵀ are summed over the ranks, so every rank takes the same step.
 */
export class BackpropTrainer {
  readonly events = new TypedEmitter<BackpropEvents>();
  readonly depth: number;
  /** The samples this rank holds (all of them in a single process). */
  readonly samples: number;
  /** n: the samples of all ranks. */
  readonly totalSamples: number;
  readonly communicator: Communicator;
  readonly batchSize: number;
  readonly momentum: number;
  /** W_1 … W_N (index 0 unused), with their bias columns when biases are on. */
  private readonly W: Matrix[] = [];
  private readonly Wbar: Matrix[] = [];
  private readonly G: Matrix[] = [];
  /** Momentum velocity (gd, sgd) or Adam's first moment; Adam's second moment. */
  private readonly vel: Matrix[] = [];
  private readonly second: Matrix[] = [];
  private readonly adam?: { beta1: number; beta2: number; epsilon: number };
  private readonly full: Pass;
  private readonly batch?: Pass;
  private readonly test?: { x: Matrix; y: HostMatrix; oneHot: boolean };
  private readonly trainOneHot: boolean;
  private readonly loss: Loss;
  private readonly probe: DeviceScalar;
  /** ‖W_i‖², ‖G_i‖² for i = 1…N (evaluate). */
  private readonly norms: DeviceScalar[];
  private rng: Rng;
  private order: Int32Array;
  private cursor = 0;
  private stepsDone = 0;
  private elapsedMs = 0;
  private disposed = false;

  private constructor(
    readonly device: Backend,
    private readonly data: TrainingData,
    readonly config: BackpropConfig & { readonly bias: boolean },
    resolved: ResolvedBackprop,
    communicator: Communicator,
    totalSamples: number,
  ) {
    const b = device;
    const { layers, bias } = config;
    const { weights, batchSize, momentum, seed, adam, loss } = resolved;
    this.loss = loss;
    const extra = bias ? 1 : 0;
    this.depth = layers.length - 1;
    this.samples = data.x.cols;
    this.totalSamples = totalSamples;
    this.communicator = communicator;
    this.batchSize = batchSize;
    this.momentum = momentum;
    this.adam = adam;
    this.rng = new Rng(seed);
    this.order = Int32Array.from({ length: this.samples }, (_, k) => k);
    this.cursor = this.samples; // shuffle before the first mini-batch
    this.W.push(undefined as never);
    this.Wbar.push(undefined as never);
    this.G.push(undefined as never);
    this.vel.push(undefined as never);
    this.second.push(undefined as never);
    for (let i = 1; i <= this.depth; i++) {
      const cols = layers[i - 1] + extra;
      const w = b.alloc(layers[i], cols);
      const given = weights[i - 1];
      if (given.cols === cols) {
        b.upload(w, given.data);
      } else {
        // Given without a bias column: biases start at zero.
        const padded = new Float64Array(layers[i] * cols);
        for (let r = 0; r < layers[i]; r++) padded.set(given.data.subarray(r * given.cols, (r + 1) * given.cols), r * cols);
        b.upload(w, padded);
      }
      this.W.push(w);
      this.Wbar.push(bias ? b.view(w, layers[i], layers[i - 1]) : w);
      this.G.push(b.alloc(layers[i], cols));
      this.vel.push(momentum > 0 || adam ? b.alloc(layers[i], cols) : (undefined as never));
      this.second.push(adam ? b.alloc(layers[i], cols) : (undefined as never));
    }
    this.full = this.allocPass(this.samples);
    b.upload(this.full.A[0], augmentedHost(data.x, bias));
    b.upload(this.full.Y, data.y.data);
    if (batchSize < this.samples) this.batch = this.allocPass(batchSize);
    this.trainOneHot = isOneHot(data.y);
    if (data.xTest && data.yTest) {
      this.test = { x: uploadAugmented(b, data.xTest, bias), y: data.yTest, oneHot: isOneHot(data.yTest) };
    }
    this.probe = b.scalar(0);
    this.norms = Array.from({ length: 2 * this.depth }, () => b.scalar(0));
  }

  /** Validates everything (throwing {@link InvalidProblemError} before any work), prepares σ and uploads. */
  /** Sharded (`options.communicator`), `data` is this rank's slice and every rank calls the same methods in order. */
  static async create(backend: Backend, data: TrainingData, config: BackpropConfig, options: TrainerOptions = {}): Promise<BackpropTrainer> {
    const communicator = options.communicator ?? singleProcess;
    const [totalSamples] = await allReduceNumbers(communicator, [data.x.cols]);
    const r = resolveBackprop(data, config, communicator.size, totalSamples);
    await backend.prepareActivation(config.activation);
    await backend.prepareLoss(r.loss, config.layers[config.layers.length - 1]);
    return new BackpropTrainer(backend, data, { ...config, bias: r.bias }, r, communicator, totalSamples);
  }

  /** Optimiser steps done so far. */
  get iteration(): number {
    return this.stepsDone;
  }

  private allocPass(cols: number): Pass {
    const b = this.device;
    const { layers, bias } = this.config;
    const extra = bias ? 1 : 0;
    const A: Matrix[] = [];
    const Atop: Matrix[] = [undefined as never];
    const Z: Matrix[] = [undefined as never];
    const D: Matrix[] = [undefined as never];
    A.push(b.alloc(layers[0] + extra, cols));
    for (let i = 1; i < this.depth; i++) {
      const a = b.alloc(layers[i] + extra, cols);
      if (bias) b.fill(a, 1); // the bias row stays 1; the activations overwrite the rows above it
      A.push(a);
      Atop.push(bias ? b.view(a, layers[i], cols) : a);
      Z.push(b.alloc(layers[i], cols));
    }
    for (let i = 1; i <= this.depth; i++) D.push(b.alloc(layers[i], cols));
    return { cols, A, Atop, Z, D, Y: b.alloc(layers[this.depth], cols) };
  }

  private freePass(p: Pass): void {
    const b = this.device;
    for (const m of p.A) b.free(m);
    for (let i = 1; i < this.depth; i++) b.free(p.Z[i]);
    for (let i = 1; i <= this.depth; i++) b.free(p.D[i]);
    b.free(p.Y);
  }

  /** Forward pass on `p`: Z_i, A_i and Φ (in δ_N). */
  private forward(p: Pass): void {
    const b = this.device;
    const N = this.depth;
    for (let i = 1; i < N; i++) {
      b.gemm(1, this.W[i], false, p.A[i - 1], false, 0, p.Z[i]);
      b.activate(this.config.activation, p.Z[i], p.Atop[i]);
    }
    b.gemm(1, this.W[N], false, p.A[N - 1], false, 0, p.D[N]);
  }

  /**
   * Backward pass after {@link forward}: G_i ← ∇ of b⁻¹ ℓ(Φ; Y) + λ/(2n) Σ‖W_i‖² (b = the batch size, n for the full
   * pass; squared ℓ: ½ b⁻¹‖Φ − Y‖²). The full pass's δ_i Ã_{i−1}ᵀ are summed over the ranks.
   */
  private async backward(p: Pass): Promise<void> {
    const b = this.device;
    const N = this.depth;
    const decay = this.config.lambda / this.totalSamples;
    const scale = 1 / (p === this.full ? this.totalSamples : p.cols);
    // ∇ℓ(Φ; Y) (Φ − Y for the squared loss); the 1/b of δ_N is folded into the gemm below
    if (this.loss.quadratic) b.axpby(-1, p.Y, 1, p.D[N]);
    else b.lossGradient(this.loss, p.D[N], p.Y, p.D[N]);
    for (let i = N; i >= 1; i--) {
      b.gemm(scale, p.D[i], false, p.A[i - 1], true, 0, this.G[i]);
      if (i >= 2) {
        b.gemm(1, this.Wbar[i], true, p.D[i], false, 0, p.D[i - 1]);
        // (t + 0 · (σ(Z) − t)) ⊙ σ′(Z) = t ⊙ σ′(Z)
        b.multiplierStep(this.config.activation, p.Z[i - 1], p.D[i - 1], p.D[i - 1], 0, true, p.D[i - 1]);
      }
    }
    if (p === this.full) await allReduceMatrices(b, this.communicator, this.G.slice(1));
    for (let i = 1; i <= N; i++) b.axpby(decay, this.W[i], 1, this.G[i]);
  }

  /** Loads the next mini-batch into the batch pass (reshuffling when the epoch is exhausted). */
  private loadBatch(p: Pass): void {
    const n = this.samples;
    const bs = p.cols;
    if (this.cursor + bs > n) {
      for (let k = n - 1; k > 0; k--) {
        const j = Math.floor(this.rng.uniform() * (k + 1));
        const t = this.order[k];
        this.order[k] = this.order[j];
        this.order[j] = t;
      }
      this.cursor = 0;
    }
    const { x, y } = this.data;
    const extra = this.config.bias ? 1 : 0;
    const xb = new Float64Array((x.rows + extra) * bs);
    const yb = new Float64Array(y.rows * bs);
    for (let c = 0; c < bs; c++) {
      const s = this.order[this.cursor + c];
      for (let r = 0; r < x.rows; r++) xb[r * bs + c] = x.data[r * n + s];
      for (let r = 0; r < y.rows; r++) yb[r * bs + c] = y.data[r * n + s];
    }
    if (extra) xb.fill(1, x.rows * bs);
    this.cursor += bs;
    this.device.upload(p.A[0], xb);
    this.device.upload(p.Y, yb);
  }

  /** One optimiser step. */
  async step(): Promise<void> {
    this.assertLive();
    const b = this.device;
    const p = this.batch ?? this.full;
    if (this.batch) this.loadBatch(this.batch);
    this.forward(p);
    await this.backward(p);
    const eta = this.config.learningRate;
    for (let i = 1; i <= this.depth; i++) {
      if (this.adam) {
        b.adamStep(this.G[i], this.vel[i], this.second[i], this.W[i], { learningRate: eta, ...this.adam, step: this.stepsDone + 1 });
      } else if (this.momentum > 0) {
        b.axpby(1, this.G[i], this.momentum, this.vel[i]);
        b.axpby(-eta, this.vel[i], 1, this.W[i]);
      } else {
        b.axpby(-eta, this.G[i], 1, this.W[i]);
      }
    }
    this.stepsDone++;
    await b.sync();
  }

  /** Which moments the optimiser keeps: a first (velocity or Adam's m) and a second (Adam's v). */
  private get moments(): { first: boolean; second: boolean } {
    return { first: this.momentum > 0 || this.adam !== undefined, second: this.adam !== undefined };
  }

  /** The trainer's whole state, for {@link restore} (in this or a new trainer of the same configuration). */
  async checkpoint(): Promise<BackpropCheckpoint> {
    this.assertLive();
    const { first, second } = this.moments;
    return {
      iteration: this.stepsDone,
      elapsedMs: this.elapsedMs,
      weights: await this.download(this.W),
      firstMoment: first ? await this.download(this.vel) : [],
      secondMoment: second ? await this.download(this.second) : [],
      // Full-batch steps never draw from the sampler: its state is that of n samples whatever the sharding.
      order: this.batch ? Array.from(this.order) : Array.from({ length: this.totalSamples }, (_, k) => k),
      cursor: this.batch ? this.cursor : this.totalSamples,
      rng: this.rng.state(),
    };
  }

  /**
   * Continues from a {@link checkpoint} of a trainer of the same configuration and data: the following steps are
   * those the checkpointed trainer would have taken. Refuses (RangeError, nothing changed) a checkpoint whose shapes
   * or optimiser state do not fit.
   */
  restore(cp: BackpropCheckpoint): void {
    this.assertLive();
    const { first, second } = this.moments;
    const fits = (ms: readonly HostMatrix[], what: string) => {
      if (ms.length !== this.depth) throw new RangeError(`restore: ${what} has ${ms.length} matrices, the network ${this.depth}`);
      ms.forEach((m, k) => {
        const w = this.W[k + 1];
        if (m.rows !== w.rows || m.cols !== w.cols || m.data.length !== w.rows * w.cols) {
          throw new RangeError(`restore: ${what} ${k + 1} is ${m.rows}×${m.cols}, W_${k + 1} is ${w.rows}×${w.cols}`);
        }
      });
    };
    if (!Number.isInteger(cp.iteration) || cp.iteration < 0) throw new RangeError(`restore: iteration must be an integer ≥ 0, got ${cp.iteration}`);
    fits(cp.weights, 'weights');
    if (first) fits(cp.firstMoment, 'firstMoment');
    else if (cp.firstMoment.length > 0) throw new RangeError('restore: the checkpoint has a first moment, this optimiser keeps none');
    if (second) fits(cp.secondMoment, 'secondMoment');
    else if (cp.secondMoment.length > 0) throw new RangeError('restore: the checkpoint has a second moment, this optimiser keeps none');
    const n = this.batch ? this.samples : this.totalSamples;
    const seen = new Uint8Array(n);
    if (cp.order.length !== n || !cp.order.every((s) => Number.isInteger(s) && s >= 0 && s < n && seen[s]++ === 0)) {
      throw new RangeError(`restore: order must be a permutation of the ${n} sample indices`);
    }
    if (!Number.isInteger(cp.cursor) || cp.cursor < 0 || cp.cursor > n) throw new RangeError(`restore: cursor must be an integer in [0, ${n}], got ${cp.cursor}`);
    const words = cp.rng?.words;
    const spare = cp.rng?.spareNormal;
    if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) || words.every((w) => w === 0) || !(spare === null || Number.isFinite(spare))) {
      throw new RangeError('restore: rng must be four 32-bit words, not all zero, and a finite spare normal or null');
    }
    for (let i = 1; i <= this.depth; i++) {
      this.device.upload(this.W[i], cp.weights[i - 1].data);
      if (first) this.device.upload(this.vel[i], cp.firstMoment[i - 1].data);
      if (second) this.device.upload(this.second[i], cp.secondMoment[i - 1].data);
    }
    if (this.batch) {
      this.order = Int32Array.from(cp.order);
      this.cursor = cp.cursor;
    }
    this.rng = Rng.fromState(cp.rng);
    this.stepsDone = cp.iteration;
    this.elapsedMs = cp.elapsedMs;
  }

  /** ∇f(W) on the full training data (host copies, same shapes as the weights). */
  async gradient(): Promise<HostMatrix[]> {
    this.assertLive();
    this.forward(this.full);
    await this.backward(this.full);
    return this.download(this.G);
  }

  /** The current weights W_1…W_N (with their bias columns when biases are on). */
  async weights(): Promise<HostMatrix[]> {
    this.assertLive();
    return this.download(this.W);
  }

  private async download(ms: readonly Matrix[]): Promise<HostMatrix[]> {
    const out: HostMatrix[] = [];
    for (let i = 1; i <= this.depth; i++) out.push(hostMatrix(ms[i].rows, ms[i].cols, await this.device.download(ms[i])));
    return out;
  }

  private async read(fill: (out: DeviceScalar) => void): Promise<number> {
    fill(this.probe);
    return this.device.readScalar(this.probe);
  }

  /** The metrics at the current weights, on the full data. */
  async evaluate(): Promise<BackpropProgress> {
    this.assertLive();
    const b = this.device;
    const p = this.full;
    const N = this.depth;
    this.forward(p);
    // Φ as of now (reads return the values at the call), before the backward pass turns δ_N into Φ − Y.
    const outputs = b.download(p.D[N]);
    await this.backward(p);
    // ‖W_i‖² and ‖G_i‖² into device scalars, read back at once with the outputs.
    for (let i = 1; i <= N; i++) {
      b.sumSquares(this.norms[2 * i - 2], this.W[i]);
      b.sumSquares(this.norms[2 * i - 1], this.G[i]);
    }
    const testOut = this.test ? forwardPass(b, this.W.slice(1), this.config.activation, this.config.bias, this.test.x) : undefined;
    let norms: number[];
    let sums: number[];
    try {
      const [trainValues, values, testValues] = await Promise.all([outputs, b.readScalars(this.norms), testOut ? b.download(testOut) : undefined]);
      norms = values;
      sums = sampleSumsVector(sampleSums(trainValues, this.data.y, this.trainOneHot, this.loss));
      if (this.test && testValues) sums.push(...sampleSumsVector(sampleSums(testValues, this.test.y, this.test.oneHot, this.loss)));
    } finally {
      if (testOut) b.free(testOut);
    }
    // The loss sums over samples, summed over the ranks (‖W_i‖², ‖G_i‖² are the same on every rank).
    sums = await allReduceNumbers(this.communicator, sums);
    const train = meanOf(sums.slice(0, 4));
    const test = this.test ? meanOf(sums.slice(4, 8)) : undefined;
    let weightSq = 0;
    let gradSq = 0;
    for (let i = 1; i <= N; i++) {
      weightSq += norms[2 * i - 2];
      gradSq += norms[2 * i - 1];
    }
    const k = this.stepsDone;
    return {
      iteration: k,
      epoch: (k * this.batchSize) / this.totalSamples,
      objective: train.loss + (this.config.lambda / (2 * this.totalSamples)) * weightSq,
      trainLoss: train.loss,
      gradNorm: Math.sqrt(gradSq),
      ...(train.accuracy !== undefined ? { trainAccuracy: train.accuracy } : {}),
      ...(test ? { testLoss: test.loss } : {}),
      ...(test?.accuracy !== undefined ? { testAccuracy: test.accuracy } : {}),
      elapsedMs: this.elapsedMs,
      msPerIteration: k > 0 ? this.elapsedMs / k : NaN,
    };
  }

  /** Throws {@link DivergenceError} naming the first W_i that holds a NaN or ±Infinity. */
  private async assertFinite(iteration: number): Promise<void> {
    for (let i = 1; i <= this.depth; i++) {
      const sq = await this.read((o) => this.device.sumSquares(o, this.W[i]));
      if (!Number.isFinite(sq)) throw new DivergenceError(iteration, 'W', i);
    }
  }

  /**
   * Steps until a stop condition holds (an iteration is one optimiser step); emits `metrics` every m-th step
   * (and at the first and the last) and `stop` at the end. May be called again to continue.
   */
  async run(options: TrainOptions): Promise<BackpropResult> {
    this.assertLive();
    const schedule = new RunSchedule(options, this.elapsedMs);
    let reason: StopReason;
    let latest: BackpropProgress | undefined;
    for (;;) {
      const stop = await schedule.agreedStopBefore(this.stepsDone, this.elapsedMs, this.communicator);
      if (stop) {
        reason = stop;
        break;
      }
      const k = this.stepsDone + 1;
      const evaluate = schedule.evaluates(k);
      const t0 = performance.now();
      await this.step();
      this.elapsedMs += performance.now() - t0;
      if (evaluate) {
        latest = await this.evaluate();
        if (![latest.objective, latest.gradNorm].every(Number.isFinite)) await this.assertFinite(k);
        await this.events.emit('metrics', latest);
      }
      await this.events.emit('iteration', { iteration: k, evaluated: evaluate });
      if (evaluate && schedule.converged(latest!.gradNorm)) {
        reason = 'tolerance';
        break;
      }
      await yieldToEventLoop();
    }
    if (!latest || latest.iteration !== this.stepsDone) latest = await this.evaluate();
    const result: BackpropResult = { reason, iterations: this.stepsDone, final: latest };
    await this.events.emit('stop', result);
    return result;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('BackpropTrainer: used after dispose()');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const b = this.device;
    for (let i = 1; i <= this.depth; i++) {
      b.free(this.W[i]);
      b.free(this.G[i]);
      if (this.momentum > 0 || this.adam) b.free(this.vel[i]);
      if (this.adam) b.free(this.second[i]);
    }
    this.freePass(this.full);
    if (this.batch) this.freePass(this.batch);
    if (this.test) b.free(this.test.x);
    b.freeScalar(this.probe);
    for (const s of this.norms) b.freeScalar(s);
  }
}

/** X (d_0 × n, packed) with a row of ones appended when `bias`. */
function augmentedHost(x: HostMatrix, bias: boolean): Float64Array {
  const host = new Float64Array((x.rows + (bias ? 1 : 0)) * x.cols);
  host.set(x.data.subarray(0, x.rows * x.cols));
  if (bias) host.fill(1, x.rows * x.cols);
  return host;
}
