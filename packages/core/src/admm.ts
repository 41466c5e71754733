import { type Activation, identityActivation } from './activation.ts';
import type { Backend, DeviceScalar, Matrix } from './backend.ts';
import { type Communicator, singleProcess } from './communicator.ts';
import { drawWeights } from './init.ts';
import { type AdmmConfig, type HostMatrix, type ResolvedConfig, type TrainingData, betasAt, hostMatrix, resolveProblem } from './problem.ts';
import { allReduceMatrices, allReduceNumbers, allReduceScalarMax } from './sharding.ts';

/** Which block Algorithm 1 has just updated (reported to an {@link BlockObserver}). */
export interface BlockEvent {
  readonly iteration: number;
  readonly block: 'W' | 'V' | 'Lambda';
  /** Layer index i (1…N). */
  readonly layer: number;
}

/** Called after every block update when set; used by tests to check each subproblem's optimality. */
export type BlockObserver = (event: BlockEvent) => void | Promise<void>;

/** The iterate Q^k = ({W_i}, {V_i}, {Λ_i}) on the host; index i holds layer i (index 0 unused, V[0] = X). */
export interface HostIterate {
  readonly iteration: number;
  readonly W: HostMatrix[];
  readonly V: HostMatrix[];
  readonly Lambda: HostMatrix[];
}

/** Squared norms of the last iteration's increments ‖W_i^k − W_i^{k−1}‖², ‖V_i^k − V_i^{k−1}‖² (index i = layer). */
export interface Increments {
  readonly W: number[];
  readonly V: number[];
  readonly Lambda: number[];
}

/**
 * The state of Algorithm 1 on a backend, and one iteration of it ({@link step}), written as the linear systems
 * of docs/design.md (increment forms of (18) and (19); (8) and (12) as derived, not (53)/(58)).
 *
 * Storage: with biases, V_j (j < N) sits in the top d_j rows of Ṽ_j = [V_j; 1ᵀ] so that W_i Ṽ_{i−1} = W̄_i V_{i−1} + b_i
 * is one product; W̄_i (W_i without its bias column) is a column-prefix view. S_i = W_i Ṽ_{i−1} holds the latest
 * pre-activation of layer i: the V-pass of iteration k computes S_i = W_i^k Ṽ_{i−1}^k, which is what the Λ update (13)
 * of iteration k and the W update (18) of iteration k+1 need, so neither recomputes it.
 *
 * Sharded by samples (a {@link Communicator} of P ranks): each rank holds a slice of the columns of X, Y, V_i, Λ_i and
 * S_i and the same W_i. The V updates (19)/(12) and Λ updates (13) are column-separable; the W updates (8)/(18) sum
 * Ã Ãᵀ and G Ãᵀ over the ranks and take the max-norm of (20) over them, so every rank solves the same system.
 */
export class AdmmSolver {
  readonly config: ResolvedConfig;
  /** N. */
  readonly depth: number;
  /** n: the samples this rank holds (all of them in a single process). */
  readonly samples: number;
  /** The ranks the samples are sharded over ({@link singleProcess} when not sharded). */
  readonly communicator: Communicator;
  /** σ_i for i = 1…N (index 0 unused): the activation, and the identity for layer N. */
  readonly sigma: Activation[];
  /** W_i (d_i × (d_{i−1} + bias)), index 1…N. */
  readonly W: Matrix[] = [];
  /** W̄_i: W_i without its bias column (a view). */
  readonly Wbar: Matrix[] = [];
  /** Ṽ_j = [V_j; 1ᵀ] for j = 0…N−1 (just V_j without biases); Ṽ_0 = X̃. */
  readonly Vaug: Matrix[] = [];
  /** V_j (d_j × n), index 0…N (views into Vaug for j < N). */
  readonly V: Matrix[] = [];
  /** Λ_i (d_i × n), index 1…N. */
  readonly Lambda: Matrix[] = [];
  /** S_i = W_i Ṽ_{i−1} at the latest values, index 1…N. */
  readonly S: Matrix[] = [];
  readonly Y: Matrix;
  /** Completed iterations k. */
  iteration = 0;
  /** Called after each block update when set. */
  observer: BlockObserver | undefined;

  private readonly backend: Backend;
  /** X̃ X̃ᵀ, constant: W_1's system matrix changes only through the scalar c of (18). */
  private readonly gramX: Matrix;
  /** Whether gramX holds the sum over all ranks (done by the first step: the constructor cannot wait). */
  private gramXSummed = false;
  /** (d_{i−1}+bias)² system matrices of the W updates and their right-hand sides / increments. */
  private readonly systemW: Matrix[] = [];
  private readonly rhsW: Matrix[] = [];
  /** d_j × d_j system matrices of the V updates. */
  private readonly systemV: Matrix[] = [];
  /** maxWidth × n work buffers (views of them are taken per layer). */
  private readonly workG: Matrix;
  private readonly workR: Matrix;
  /** Per layer: m_i = ‖V_i − Λ_i/β_i‖_max, h_i of (20) and c_i = β_i h_i / 2. */
  private readonly maxNorm: DeviceScalar[] = [];
  private readonly h: DeviceScalar[] = [];
  private readonly c: DeviceScalar[] = [];
  private readonly incrementSq: { W: DeviceScalar[]; V: DeviceScalar[]; Lambda: DeviceScalar[] } = { W: [], V: [], Lambda: [] };
  private readonly stepCoefficients: { slope: number; intercept: number };
  /** Whether V_{N−1}'s system is solved by the Woodbury identity (d_N < d_{N−1}). */
  private readonly useWoodbury: boolean;
  /** The device scalar 1 (the Woodbury system's scale). */
  private readonly one: DeviceScalar;
  /** β_1…β_N of the latest iteration (of iteration 1 before any): constant unless the config has a β schedule. */
  private betas: number[];
  private disposed = false;

  private constructor(backend: Backend, data: TrainingData, config: ResolvedConfig, weights: readonly HostMatrix[], communicator: Communicator) {
    this.backend = backend;
    this.communicator = communicator;
    this.config = config;
    const { layers, bias, depth } = config;
    const n = data.x.cols;
    const extra = bias ? 1 : 0;
    this.depth = depth;
    this.samples = n;
    this.sigma = [identityActivation];
    for (let i = 1; i < depth; i++) this.sigma.push(config.activation);
    this.sigma.push(identityActivation);
    this.stepCoefficients = config.stepRule.coefficients(config.activation.bounds);
    this.useWoodbury = layers[depth] < layers[depth - 1];
    this.one = backend.scalar(1);
    this.betas = betasAt(config.betas, config.betaSchedule, 1);

    for (let j = 0; j < depth; j++) {
      const aug = backend.alloc(layers[j] + extra, n);
      this.Vaug.push(aug);
      this.V.push(bias ? backend.view(aug, layers[j], n) : aug);
    }
    this.V.push(backend.alloc(layers[depth], n));
    this.W.push(this.V[0]); // index 0 unused; keeps layer indices aligned with the paper
    this.Wbar.push(this.V[0]);
    this.Lambda.push(this.V[0]);
    this.S.push(this.V[0]);
    this.systemW.push(this.V[0]);
    this.rhsW.push(this.V[0]);
    this.systemV.push(this.V[0]);
    for (let i = 1; i <= depth; i++) {
      const w = backend.alloc(layers[i], layers[i - 1] + extra);
      this.W.push(w);
      this.Wbar.push(bias ? backend.view(w, layers[i], layers[i - 1]) : w);
      this.Lambda.push(backend.alloc(layers[i], n));
      this.S.push(backend.alloc(layers[i], n));
      this.systemW.push(backend.alloc(layers[i - 1] + extra, layers[i - 1] + extra));
      this.rhsW.push(backend.alloc(layers[i], layers[i - 1] + extra));
      // V_{N−1}'s system is solved by Woodbury in d_N × d_N when d_N < d_{N−1} (see updateV).
      const systemOrder = i === depth - 1 && this.useWoodbury ? layers[depth] : layers[i];
      this.systemV.push(i < depth ? backend.alloc(systemOrder, systemOrder) : this.V[0]);
    }
    for (let i = 0; i <= depth; i++) {
      this.maxNorm.push(backend.scalar(0));
      this.h.push(backend.scalar(i === depth ? 2 : 0));
      this.c.push(backend.scalar(i === depth ? this.betas[depth - 1] : 0));
      this.incrementSq.W.push(backend.scalar(0));
      this.incrementSq.V.push(backend.scalar(0));
      this.incrementSq.Lambda.push(backend.scalar(0));
    }
    const maxWidth = Math.max(...layers.slice(1));
    this.workG = backend.alloc(maxWidth, n);
    this.workR = backend.alloc(maxWidth, n);
    this.Y = backend.alloc(layers[depth], n);
    this.gramX = backend.alloc(layers[0] + extra, layers[0] + extra);

    // Upload X̃ (with its row of ones), the ones rows of the hidden Ṽ_j, Y and W^0.
    for (let j = 0; j < depth; j++) {
      const rows = layers[j] + extra;
      const host = new Float64Array(rows * n);
      if (j === 0) host.set(data.x.data.subarray(0, layers[0] * n));
      if (bias) host.fill(1, layers[j] * n);
      backend.upload(this.Vaug[j], host);
    }
    backend.upload(this.Y, data.y.data);
    for (let i = 1; i <= depth; i++) {
      const given = weights[i - 1];
      const cols = layers[i - 1] + extra;
      if (given.cols === cols) {
        backend.upload(this.W[i], given.data);
      } else {
        // Given without a bias column: biases start at zero.
        const padded = new Float64Array(layers[i] * cols);
        for (let r = 0; r < layers[i]; r++) padded.set(given.data.subarray(r * given.cols, (r + 1) * given.cols), r * cols);
        backend.upload(this.W[i], padded);
      }
    }
    backend.gram(1, this.Vaug[0], false, 0, this.gramX);

    // Initialisation (7): V_i^0 = σ_i(W_i^0 Ṽ_{i−1}^0), Λ^0 = 0 (alloc zero-fills).
    for (let i = 1; i <= depth; i++) {
      backend.gemm(1, this.W[i], false, this.Vaug[i - 1], false, 0, this.S[i]);
      backend.activate(this.sigma[i], this.S[i], this.V[i]);
    }
  }

  /**
   * Checks the data and configuration (throwing {@link InvalidProblemError} before any work), uploads them and
   * initialises the iterate by (7). Sharded, `data` is this rank's slice and `communicator` connects the ranks; W^0 is
   * drawn from the seed on every rank alike.
   */
  static create(backend: Backend, data: TrainingData, config: AdmmConfig, communicator: Communicator = singleProcess): AdmmSolver {
    const resolved = resolveProblem(data, config);
    const init = resolved.init;
    const weights = 'weights' in init
      ? init.weights
      : drawWeights(resolved.layers, { scheme: init.scheme, seed: init.seed, scale: init.scale, mode: init.mode, bias: resolved.bias });
    return new AdmmSolver(backend, data, resolved, weights, communicator);
  }

  /**
   * One iteration of Algorithm 1: W_N … W_1 backward, V_1 … V_N forward, then every Λ_i.
   * With `trackIncrements`, the squared norms of the increments are kept for {@link increments}.
   */
  async step(options: { trackIncrements?: boolean } = {}): Promise<void> {
    this.assertLive();
    const track = options.trackIncrements ?? false;
    const k = this.iteration + 1;
    this.setBetas(k);
    if (!this.gramXSummed) {
      await allReduceMatrices(this.backend, this.communicator, [this.gramX]);
      this.gramXSummed = true;
    }
    for (let i = this.depth; i >= 1; i--) {
      await this.updateW(i, track);
      await this.observer?.({ iteration: k, block: 'W', layer: i });
    }
    for (let j = 1; j < this.depth; j++) {
      this.updateV(j, track);
      await this.observer?.({ iteration: k, block: 'V', layer: j });
    }
    this.updateVN(track);
    await this.observer?.({ iteration: k, block: 'V', layer: this.depth });
    for (let i = 1; i <= this.depth; i++) {
      // (13): Λ_i^k = Λ_i^{k−1} + β_i (σ_i(W_i^k Ṽ_{i−1}^k) − V_i^k), with S_i = W_i^k Ṽ_{i−1}^k from the V-pass.
      if (track) {
        const r = this.work(this.workR, i);
        this.backend.activate(this.sigma[i], this.S[i], r);
        this.backend.axpby(-1, this.V[i], 1, r);
        this.backend.sumSquares(this.incrementSq.Lambda[i], r);
        this.backend.scalarAffine(this.incrementSq.Lambda[i], this.incrementSq.Lambda[i], this.beta(i) ** 2, 0);
      }
      this.backend.multiplierStep(this.sigma[i], this.S[i], this.V[i], this.Lambda[i], this.beta(i), false, this.Lambda[i]);
    }
    await this.observer?.({ iteration: k, block: 'Lambda', layer: this.depth });
    this.iteration = k;
  }

  /**
   * W_i update. For i < N, (18) in increment form: with A = Ṽ_{i−1}^{k−1}, B = V_i^{k−1} − Λ_i^{k−1}/β_i,
   * G = β_i (σ(Z) − B) ⊙ σ′(Z) at Z = W_i^{k−1} A (= S_i), h = rule(‖B‖_max) (20) and c = β_i h / 2, solve
   * Δ (λI + c A Aᵀ) = −(λ W_i^{k−1} + G Aᵀ). For i = N the same system with σ = identity and h = 2 is exactly (8).
   * Sharded, ‖B‖_max, G Aᵀ and A Aᵀ are reduced over the ranks before the solve.
   */
  private async updateW(i: number, track: boolean): Promise<void> {
    const b = this.backend;
    const beta = this.beta(i);
    const { lambda } = this.config;
    const a = this.Vaug[i - 1];
    const g = this.work(this.workG, i);
    if (i < this.depth) {
      b.maxAbs(this.maxNorm[i], this.V[i], this.Lambda[i], -1 / beta);
      await allReduceScalarMax(b, this.communicator, this.maxNorm[i], this.one);
      b.scalarAffine(this.h[i], this.maxNorm[i], this.stepCoefficients.slope, this.stepCoefficients.intercept);
      b.scalarAffine(this.c[i], this.h[i], beta / 2, 0);
    }
    b.multiplierStep(this.sigma[i], this.S[i], this.V[i], this.Lambda[i], beta, true, g);
    const delta = this.rhsW[i];
    b.gemm(-1, g, false, a, true, 0, delta);
    const system = this.systemW[i];
    if (i === 1) {
      await allReduceMatrices(b, this.communicator, [delta]);
      b.shiftedScale(this.gramX, this.c[i], lambda, system);
    } else {
      b.gram(1, a, false, 0, system);
      await allReduceMatrices(b, this.communicator, [delta, system]);
      b.shiftedScale(system, this.c[i], lambda, system);
    }
    b.axpby(-lambda, this.W[i], 1, delta);
    b.cholesky(system);
    b.solveRight(system, delta);
    b.axpby(1, delta, 1, this.W[i]);
    if (track) b.sumSquares(this.incrementSq.W[i], delta);
  }

  /**
   * V_j update, j ≤ N−1. For j ≤ N−2, (19) in increment form: P = σ(W_j^k Ṽ_{j−1}^k), Zn = W_{j+1}^k Ṽ_j^{k−1},
   * Bn = V_{j+1}^{k−1} − Λ_{j+1}^{k−1}/β_{j+1}, μ = rule(‖Bn‖_max) (21), c′ = β_{j+1} μ / 2, solve
   * (β_j I + c′ W̄ᵀW̄) Δ = Λ_j + β_j (P − V_j^{k−1}) − W̄ᵀ [β_{j+1} (σ(Zn) − Bn) ⊙ σ′(Zn)] with W̄ = W̄_{j+1}^k.
   * ‖Bn‖_max is the max-norm the W_{j+1} update of this iteration used (neither V_{j+1} nor Λ_{j+1} has changed
   * since), so μ_j^k = h_{j+1}^k and c′ is that update's c. For j = N−1 the same system with σ_N = identity and
   * μ = 2 is exactly (11)/(59); when d_N < d_{N−1} its system is solved by the Woodbury identity.
   */
  private updateV(j: number, track: boolean): void {
    const b = this.backend;
    b.gemm(1, this.W[j], false, this.Vaug[j - 1], false, 0, this.S[j]);
    const rhs = this.work(this.workR, j);
    b.multiplierStep(this.sigma[j], this.S[j], this.V[j], this.Lambda[j], this.beta(j), false, rhs);
    const gn = this.work(this.workG, j + 1);
    b.gemm(1, this.W[j + 1], false, this.Vaug[j], false, 0, gn);
    b.multiplierStep(this.sigma[j + 1], gn, this.V[j + 1], this.Lambda[j + 1], this.beta(j + 1), true, gn);
    b.gemm(-1, this.Wbar[j + 1], true, gn, false, 1, rhs);
    const system = this.systemV[j];
    if (j === this.depth - 1 && this.useWoodbury) {
      // (β I + β_N W̄ᵀW̄)⁻¹ R = (R − W̄ᵀ K⁻¹ W̄ R) / β with K = (β/β_N) I + W̄ W̄ᵀ of order d_N: a d_N² factorisation
      // and two thin products instead of a d_{N−1}² factorisation and solve. Gn is consumed: its buffer holds W̄ R.
      const wbar = this.Wbar[j + 1];
      const projected = gn;
      b.gemm(1, wbar, false, rhs, false, 0, projected);
      b.gram(1, wbar, false, 0, system);
      b.shiftedScale(system, this.one, this.beta(j) / this.beta(j + 1), system);
      b.cholesky(system);
      b.solveLeft(system, projected);
      b.gemm(-1, wbar, true, projected, false, 1, rhs);
      b.axpby(1 / this.beta(j), rhs, 1, this.V[j]);
      if (track) {
        b.sumSquares(this.incrementSq.V[j], rhs);
        b.scalarAffine(this.incrementSq.V[j], this.incrementSq.V[j], 1 / this.beta(j) ** 2, 0);
      }
      return;
    }
    b.gram(1, this.Wbar[j + 1], true, 0, system);
    b.shiftedScale(system, this.c[j + 1], this.beta(j), system);
    b.cholesky(system);
    b.solveLeft(system, rhs);
    b.axpby(1, rhs, 1, this.V[j]);
    if (track) b.sumSquares(this.incrementSq.V[j], rhs);
  }

  /**
   * V_N update (12): V_N^k = (Y + Λ_N^{k−1} + β_N W_N^k Ṽ_{N−1}^k) / (1 + β_N), written as the increment
   * Δ = (Λ_N^{k−1} + β_N (S_N − V_N^{k−1}) + Y − V_N^{k−1}) / (1 + β_N). With a loss plugin ℓ, (12) becomes the
   * column-separable prox V_N^k = argmin_V ℓ(V; Y) + β_N/2 ‖V − T‖² with T = S_N + Λ_N^{k−1}/β_N (lossProx.ts),
   * warm-started from V_N^{k−1}.
   */
  private updateVN(track: boolean): void {
    const b = this.backend;
    const N = this.depth;
    const beta = this.beta(N);
    b.gemm(1, this.W[N], false, this.Vaug[N - 1], false, 0, this.S[N]);
    if (!this.config.loss.quadratic) {
      const t = this.work(this.workR, N);
      b.copy(this.S[N], t);
      b.axpby(1 / beta, this.Lambda[N], 1, t);
      const previous = this.work(this.workG, N);
      if (track) b.copy(this.V[N], previous);
      b.lossProx(this.config.loss, t, this.Y, beta, this.V[N]);
      if (track) {
        b.axpby(1, this.V[N], -1, previous);
        b.sumSquares(this.incrementSq.V[N], previous);
      }
      return;
    }
    const delta = this.work(this.workR, N);
    b.multiplierStep(identityActivation, this.S[N], this.V[N], this.Lambda[N], beta, false, delta);
    b.axpby(1, this.Y, 1, delta);
    b.axpby(-1, this.V[N], 1, delta);
    b.axpby(1 / (1 + beta), delta, 1, this.V[N]);
    if (track) {
      b.sumSquares(this.incrementSq.V[N], delta);
      b.scalarAffine(this.incrementSq.V[N], this.incrementSq.V[N], 1 / (1 + beta) ** 2, 0);
    }
  }

  /** β_i (1-based layer index) of the latest iteration (under a β schedule, β_i^k; before the first, β_i^1). */
  beta(i: number): number {
    return this.betas[i - 1];
  }

  /** β of iteration k (a β schedule); c_N = β_N (h_N = 2) follows β_N. */
  private setBetas(k: number): void {
    if (!this.config.betaSchedule) return;
    const next = betasAt(this.config.betas, this.config.betaSchedule, k);
    if (next[this.depth - 1] !== this.betas[this.depth - 1]) this.backend.scalarAffine(this.c[this.depth], this.one, next[this.depth - 1], 0);
    this.betas = next;
  }

  /** The leading d_i × n block of a work buffer. */
  private work(buffer: Matrix, layer: number): Matrix {
    return this.backend.view(buffer, this.config.layers[layer], this.samples);
  }

  /** h_i^k of (20) for i = 1…N−1 and μ_j^k of (21) for j = 1…N−2 used by the last iteration (index = layer). */
  async stepSizes(): Promise<{ h: number[]; mu: number[] }> {
    const h: number[] = [NaN, ...(await this.backend.readScalars(this.h.slice(1, this.depth)))];
    const mu: number[] = [NaN];
    for (let j = 1; j <= this.depth - 2; j++) mu.push(h[j + 1]);
    return { h, mu };
  }

  /**
   * Squared norms of the last iteration's increments (taken with `trackIncrements`), index = layer. Sharded, the V and
   * Λ parts are summed over the ranks (the W increments are the same on every rank).
   */
  async increments(): Promise<Increments> {
    const { W, V, Lambda } = this.incrementSq;
    const N = this.depth;
    const values = await this.backend.readScalars([...W.slice(1, N + 1), ...V.slice(1, N + 1), ...Lambda.slice(1, N + 1)]);
    const sampleSums = await allReduceNumbers(this.communicator, values.slice(N));
    return { W: [0, ...values.slice(0, N)], V: [0, ...sampleSums.slice(0, N)], Lambda: [0, ...sampleSums.slice(N)] };
  }

  /**
   * Replaces the iterate by a given Q (e.g. a checkpoint): uploads W_i, V_i (i ≥ 1) and Λ_i, sets k, and
   * recomputes S_i = W_i Ṽ_{i−1}. V[0] (= X) is not replaced.
   */
  restore(q: HostIterate): void {
    this.assertLive();
    const b = this.backend;
    const check = (what: string, host: HostMatrix, m: Matrix) => {
      if (host.rows !== m.rows || host.cols !== m.cols) {
        throw new RangeError(`restore: ${what} is ${host.rows}×${host.cols}, expected ${m.rows}×${m.cols}`);
      }
    };
    for (let i = 1; i <= this.depth; i++) {
      check(`W${i}`, q.W[i], this.W[i]);
      check(`V${i}`, q.V[i], this.V[i]);
      check(`L${i}`, q.Lambda[i], this.Lambda[i]);
    }
    for (let i = 1; i <= this.depth; i++) {
      b.upload(this.W[i], q.W[i].data);
      b.upload(this.V[i], q.V[i].data);
      b.upload(this.Lambda[i], q.Lambda[i].data);
    }
    for (let i = 1; i <= this.depth; i++) b.gemm(1, this.W[i], false, this.Vaug[i - 1], false, 0, this.S[i]);
    this.iteration = q.iteration;
    this.setBetas(q.iteration);
  }

  /** Downloads the iterate Q^k. */
  async snapshot(): Promise<HostIterate> {
    this.assertLive();
    const b = this.backend;
    const down = async (m: Matrix) => hostMatrix(m.rows, m.cols, await b.download(m));
    const W: HostMatrix[] = [hostMatrix(0, 0)];
    const V: HostMatrix[] = [];
    const Lambda: HostMatrix[] = [hostMatrix(0, 0)];
    for (let i = 0; i <= this.depth; i++) V.push(await down(this.V[i]));
    for (let i = 1; i <= this.depth; i++) {
      W.push(await down(this.W[i]));
      Lambda.push(await down(this.Lambda[i]));
    }
    return { iteration: this.iteration, W, V, Lambda };
  }

  /** The current weights W_1…W_N (with their bias columns when biases are on). */
  async weights(): Promise<HostMatrix[]> {
    const out: HostMatrix[] = [];
    for (let i = 1; i <= this.depth; i++) out.push(hostMatrix(this.W[i].rows, this.W[i].cols, await this.backend.download(this.W[i])));
    return out;
  }

  /** The backend this solver runs on. */
  get device(): Backend {
    return this.backend;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('AdmmSolver: used after dispose()');
  }

  /** Frees every buffer and scalar of this solver (not the backend). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const b = this.backend;
    const owned = new Set<Matrix>([...this.Vaug, this.V[this.depth], this.Y, this.gramX, this.workG, this.workR]);
    for (let i = 1; i <= this.depth; i++) {
      for (const m of [this.W[i], this.Lambda[i], this.S[i], this.systemW[i], this.rhsW[i]]) owned.add(m);
      if (i < this.depth) owned.add(this.systemV[i]);
    }
    for (const m of owned) b.free(m);
    for (const s of [this.one, ...this.maxNorm, ...this.h, ...this.c, ...this.incrementSq.W, ...this.incrementSq.V, ...this.incrementSq.Lambda]) {
      b.freeScalar(s);
    }
  }
}
