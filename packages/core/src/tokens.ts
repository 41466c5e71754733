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
  activations?: Iterable<Activation>;
  stepRule?: StepRule;
}

/**
 * A container with the backend, an activation registry (holding `activations`) and the step rule bound
 * (default: the paper's rule). Bindings use no decorators, so they work under any TypeScript transpiler.
 */
export function createContainer(options: ContainerOptions): Container {
  const container = new Container();
  container.bind<Backend>(TOKENS.Backend).toConstantValue(options.backend);
  container.bind<ActivationRegistry>(TOKENS.ActivationRegistry).toConstantValue(new ActivationRegistry(options.activations));
  container.bind<StepRule>(TOKENS.StepRule).toConstantValue(options.stepRule ?? paperStepRule);
  return container;
}
