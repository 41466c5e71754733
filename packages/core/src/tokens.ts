import { Container } from 'inversify';
import type { Backend } from './backend.ts';
import { ActivationRegistry } from './registry.ts';
import { type StepRule, paperStepRule } from './stepRule.ts';
import type { Activation } from './activation.ts';

/** Symbol tokens of the dependency-injection container. Swap an implementation with `container.rebind(TOKEN)`. */
export const TOKENS = {
  Backend: Symbol.for('nladmm.Backend'),
  ActivationRegistry: Symbol.for('nladmm.ActivationRegistry'),
  StepRule: Symbol.for('nladmm.StepRule'),
} as const;

export interface ContainerOptions {
  backend: Backend;
  /**
   * The activation registry to bind: a registry (e.g. `createDefaultRegistry()` of `@nladmm/activations`), bound as
   * it is, so activations registered in it later are seen through the container; or activations (e.g.
   * `builtinActivations`) to put in a new registry. Default: an empty registry.
   */
  activations?: ActivationRegistry | Iterable<Activation>;
  stepRule?: StepRule;
}

/** Whether `value` is an activation registry: this module's class, or one of the same shape (another copy of core). */
function isRegistry(value: unknown): value is ActivationRegistry {
  if (value instanceof ActivationRegistry) return true;
  const r = value as Partial<Record<'get' | 'register' | 'has' | 'names', unknown>> | null;
  return (
    typeof r === 'object' && r !== null && typeof r.get === 'function' && typeof r.register === 'function' &&
    typeof r.has === 'function' && typeof r.names === 'function'
  );
}

function registryOf(activations: ContainerOptions['activations']): ActivationRegistry {
  if (activations === undefined) return new ActivationRegistry();
  if (isRegistry(activations)) return activations;
  if (typeof (activations as Partial<Iterable<Activation>> | null)?.[Symbol.iterator] === 'function') return new ActivationRegistry(activations);
  const got = activations === null ? 'null' : typeof activations === 'object' ? `an object (${Object.keys(activations).slice(0, 5).join(', ') || 'no keys'})` : typeof activations;
  throw new TypeError(`createContainer: activations must be an ActivationRegistry or an iterable of activations, got ${got}`);
}

/**
 * A container with the backend, an activation registry (`activations`: a registry itself, or activations for a new
 * one) and the step rule bound (default: the paper's rule). Bindings use no decorators, so they work under any
 * TypeScript transpiler.
 */
export function createContainer(options: ContainerOptions): Container {
  const container = new Container();
  container.bind<Backend>(TOKENS.Backend).toConstantValue(options.backend);
  container.bind<ActivationRegistry>(TOKENS.ActivationRegistry).toConstantValue(registryOf(options.activations));
  container.bind<StepRule>(TOKENS.StepRule).toConstantValue(options.stepRule ?? paperStepRule);
  return container;
}
