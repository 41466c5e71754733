/**
 * The built-in hidden-layer activations of nladmm: sigmoid, tanh and atan satisfy Assumption 1 of Zeng, Lin & Yao
 * (σ bounded with bounded σ′ and σ″); softplus and silu, smooth ReLUs that users ask for, do not (σ is unbounded,
 * L0 = ∞): they need the `authors` step rule, and the convergence guarantees do not apply to them. This entry is
 * bundled for browsers: it must import nothing Node-only (plugin loading from files lives in `@nladmm/activations/node`).
 */
import { type Activation, ActivationRegistry } from '@nladmm/core';
import { atan } from './atan.ts';
import { sigmoid } from './sigmoid.ts';
import { silu } from './silu.ts';
import { softplus } from './softplus.ts';
import { tanh } from './tanh.ts';

export { atan, sigmoid, silu, softplus, tanh };

export const builtinActivations: readonly Activation[] = [sigmoid, tanh, atan, softplus, silu];

/**
 * A registry holding the built-in activations. The output layer's identity is deliberately absent: it lies
 * outside Assumption 1 and is never chosen by name for a hidden layer.
 */
export function createDefaultRegistry(): ActivationRegistry {
  return new ActivationRegistry(builtinActivations);
}
