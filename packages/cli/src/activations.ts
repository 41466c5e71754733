import { resolve } from 'node:path';
import type { Activation, ActivationRegistry } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { loadActivationPlugin } from '@nladmm/activations/node';
import { CliError, messageOf } from './errors.ts';

/** Whether an --activation value is a plugin file rather than a registered name. */
export function isPluginPath(value: string): boolean {
  return /[\\/]/.test(value) || /\.(m?js|ts|mts)$/i.test(value);
}

/**
 * The activation named by --activation: a built-in name, or a plugin file that is loaded and validated.
 * Returns the registry too (for listings) and the plugin's absolute path.
 */
export async function resolveActivation(value: string): Promise<{ activation: Activation; plugin?: string; registry: ActivationRegistry }> {
  const registry = createDefaultRegistry();
  if (isPluginPath(value)) {
    const plugin = resolve(value);
    try {
      const activation = await loadActivationPlugin(registry, plugin);
      return { activation, plugin, registry };
    } catch (err) {
      throw new CliError(messageOf(err));
    }
  }
  if (!registry.has(value)) {
    throw new CliError(`unknown activation '${value}' (built in: ${registry.names().join(', ')}; or give a plugin file such as ./my-activation.mjs)`);
  }
  return { activation: registry.get(value), registry };
}
