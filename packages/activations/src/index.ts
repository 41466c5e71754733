/**
 * The built-in hidden-layer activations of nladmm, all satisfying Assumption 1 of Zeng, Lin & Yao (σ bounded
 * with bounded σ′ and σ″). This entry is bundled for browsers: it must import nothing Node-only (plugin
 * loading from files lives in `@nladmm/activations/node`).
 */
import { type Activation, ActivationRegistry } from '@nladmm/core';
import { atan } from './atan.ts';
import { sigmoid } from './sigmoid.ts';
import { tanh } from './tanh.ts';

export { atan, sigmoid, tanh };

export const builtinActivations: readonly Activation[] = [sigmoid, tanh, atan];

/**
 * A registry holding the built-in activations. The output layer's identity is deliberately absent: it lies
 * outside Assumption 1 and is never chosen by name for a hidden layer.
 */
export function createDefaultRegistry(): ActivationRegistry {
  return new ActivationRegistry(builtinActivations);
}
