/**
 * The built-in losses of nladmm: the paper's squared loss ½‖V_N − Y‖² (core's, the default) and softmax
 * cross-entropy. Bundleable for browsers (plugin loading from files lives in the CLI).
 */
import { type Loss, squaredLoss } from '@nladmm/core';
import { crossEntropy } from './crossEntropy.ts';

export { crossEntropy, squaredLoss };

export const builtinLosses: readonly Loss[] = [squaredLoss, crossEntropy];

/** The built-in loss of that name, or undefined. */
export function builtinLoss(name: string): Loss | undefined {
  return builtinLosses.find((loss) => loss.name === name);
}
