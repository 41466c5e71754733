/**
 * The configuration of a backpropagation baseline (gd, sgd, adam) and its resolution against the data: the checks and
 * defaults that {@link BackpropTrainer.create} applies, for callers that validate every run before starting any.
 */
import type { Activation } from './activation.ts';
import type { Loss } from './loss.ts';
import { drawWeights } from './init.ts';
import { type HostMatrix, InvalidProblemError, type TrainingData, type WeightInit, resolveProblem } from './problem.ts';
import { authorsStepRule } from './stepRule.ts';

/**
 * A backpropagation baseline: the network and initialisation of an {@link AdmmConfig} (without β and the step
 * rule) plus the optimiser.
 */
export interface BackpropConfig {
  /** Widths d_0, d_1, …, d_N, as for ADMM (N ≥ 2). */
  readonly layers: readonly number[];
  /** σ of the hidden layers (the output layer is linear). */
  readonly activation: Activation;
  /** λ > 0 of (5). */
  readonly lambda: number;
  /** A bias column in every W_i. Default true. */
  readonly bias?: boolean;
  readonly init: WeightInit;
  /** `gd`: full-batch gradient descent; `sgd`: mini-batch stochastic gradient; `adam`: Adam (full or mini-batch). */
  readonly optimizer: 'gd' | 'sgd' | 'adam';
  /** η > 0. */
  readonly learningRate: number;
  /** Heavy-ball momentum μ ∈ [0, 1) of `gd` and `sgd`. Default 0.9 for `sgd`, 0 for `gd`. */
  readonly momentum?: number;
  /** Adam's moment decay rates β1, β2 ∈ [0, 1) and ε > 0. Defaults 0.9, 0.999, 1e-8. */
  readonly adam?: { readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number };
  /** Mini-batch size b ∈ [1, n] (required for `sgd`; `adam` defaults to n; `gd` uses b = n and accepts only that). */
  readonly batchSize?: number;
  /** Seed of the per-epoch shuffles (`sgd`). Default 0. */
  readonly seed?: number;
  /** ℓ of the objective (default: the squared loss of (5)), as for ADMM. */
  readonly loss?: Loss;
}

function invalid(message: string): never {
  throw new InvalidProblemError(message);
}

/** A {@link BackpropConfig} checked against the data, with its defaults filled in. */
export interface ResolvedBackprop {
  readonly bias: boolean;
  /** W^0 (given, or drawn by the config's scheme). */
  readonly weights: readonly HostMatrix[];
  readonly batchSize: number;
  readonly momentum: number;
  readonly seed: number;
  readonly adam: { beta1: number; beta2: number; epsilon: number } | undefined;
  /** ℓ (the squared loss unless the config names another). */
  readonly loss: Loss;
}

/**
 * Checks a baseline's configuration against the data without a backend (throwing {@link InvalidProblemError}):
 * what {@link BackpropTrainer.create} checks, for callers that validate every run before starting any.
 */
export function resolveBackprop(data: TrainingData, config: BackpropConfig, shards = 1, totalSamples = data.x.cols): ResolvedBackprop {
  // The network, data and initialisation checks are ADMM's; β and the step rule play no part here.
  const resolved = resolveProblem(data, { ...config, beta: 1, stepRule: authorsStepRule });
  // n: all samples (a sharded run's data is one rank's slice of them).
  const n = totalSamples;
  const { optimizer, learningRate } = config;
  if (optimizer !== 'gd' && optimizer !== 'sgd' && optimizer !== 'adam') invalid(`optimizer must be 'gd', 'sgd' or 'adam', got '${String(optimizer)}'`);
  if (optimizer === 'adam' && config.momentum !== undefined) invalid(`momentum applies to 'gd' and 'sgd'; 'adam' takes adam.beta1`);
  if (optimizer !== 'adam' && config.adam !== undefined) invalid(`adam options apply only to optimizer 'adam'`);
  let adam: { beta1: number; beta2: number; epsilon: number } | undefined;
  if (optimizer === 'adam') {
    adam = { beta1: config.adam?.beta1 ?? 0.9, beta2: config.adam?.beta2 ?? 0.999, epsilon: config.adam?.epsilon ?? 1e-8 };
    for (const key of ['beta1', 'beta2'] as const) {
      if (!(adam[key] >= 0 && adam[key] < 1)) invalid(`adam.${key} must be a number in [0, 1), got ${adam[key]}`);
    }
    if (!(adam.epsilon > 0 && Number.isFinite(adam.epsilon))) invalid(`adam.epsilon must be a finite number > 0, got ${adam.epsilon}`);
  }
  if (!(typeof learningRate === 'number' && Number.isFinite(learningRate) && learningRate > 0)) {
    invalid(`learningRate must be a finite number > 0, got ${learningRate}`);
  }
  const momentum = optimizer === 'adam' ? 0 : (config.momentum ?? (optimizer === 'sgd' ? 0.9 : 0));
  if (!(typeof momentum === 'number' && momentum >= 0 && momentum < 1)) invalid(`momentum must be a number in [0, 1), got ${momentum}`);
  let batchSize: number;
  if (optimizer === 'sgd') {
    if (config.batchSize === undefined) invalid(`optimizer 'sgd' needs a batchSize (an integer in [1, ${n}])`);
    batchSize = config.batchSize;
  } else if (optimizer === 'adam') {
    batchSize = config.batchSize ?? n;
  } else {
    batchSize = config.batchSize ?? n;
    if (batchSize !== n) invalid(`optimizer 'gd' uses the full batch (n = ${n}); got batchSize ${config.batchSize}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) {
    invalid(`batchSize must be an integer in [1, n] = [1, ${n}], got ${batchSize}`);
  }
  if (shards > 1 && batchSize !== n) {
    invalid(`a run sharded over ${shards} processes takes full-batch steps only (batchSize n = ${n}); mini-batches (sgd, adam with batchSize ${batchSize}) run in one process`);
  }
  const seed = config.seed ?? 0;
  if (!Number.isInteger(seed)) invalid(`seed must be an integer, got ${seed}`);
  const init = resolved.init;
  const weights = 'weights' in init
    ? init.weights
    : drawWeights(resolved.layers, { scheme: init.scheme, seed: init.seed, scale: init.scale, mode: init.mode, bias: resolved.bias });
  return { bias: resolved.bias, weights, batchSize, momentum, seed, adam, loss: resolved.loss };
}
