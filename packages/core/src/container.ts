import { Container } from 'inversify';
import type { Activation } from './activation.ts';
import type { Backend } from './backend.ts';
import { BackpropTrainer } from './baselines.ts';
import type { BackpropConfig } from './baselineConfig.ts';
import { type Communicator, singleProcess } from './communicator.ts';
import { type Loss, squaredLoss } from './loss.ts';
import type { AdmmConfig, TrainingData } from './problem.ts';
import { ActivationRegistry } from './registry.ts';
import { type StepRule, paperStepRule } from './stepRule.ts';
import { Trainer } from './train.ts';

// The optional composition root (`@nladmm/core/container`): the only module of the library that imports inversify,
// so an app that builds its runs with `Trainer.create` directly never bundles it. The CLI builds every run through
// createEngine, so a rebind of any token changes what runs.

/** Symbol tokens of the dependency-injection container. Swap an implementation with `container.rebind(TOKEN)`. */
export const TOKENS = {
  Backend: Symbol.for('nladmm.Backend'),
  ActivationRegistry: Symbol.for('nladmm.ActivationRegistry'),
  StepRule: Symbol.for('nladmm.StepRule'),
  Loss: Symbol.for('nladmm.Loss'),
  Communicator: Symbol.for('nladmm.Communicator'),
} as const;

export interface ContainerOptions {
  backend: Backend;
  /**
   * The activation registry to bind: a registry (e.g. `createDefaultRegistry()` of `@nladmm/activations`), bound as
   * it is, so activations registered in it later are seen through the container; or activations (e.g.
   * `builtinActivations`) to put in a new registry. Default: an empty registry.
   */
  activations?: ActivationRegistry | Iterable<Activation>;
  /** Default: the paper's rule (22). */
  stepRule?: StepRule;
  /** Default: the squared loss of (1). */
  loss?: Loss;
  /** Default: {@link singleProcess}. */
  communicator?: Communicator;
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
 * one), the step rule, the loss and the communicator bound. Bindings use no decorators, so they work under any
 * TypeScript transpiler.
 */
export function createContainer(options: ContainerOptions): Container {
  const container = new Container();
  container.bind<Backend>(TOKENS.Backend).toConstantValue(options.backend);
  container.bind<ActivationRegistry>(TOKENS.ActivationRegistry).toConstantValue(registryOf(options.activations));
  container.bind<StepRule>(TOKENS.StepRule).toConstantValue(options.stepRule ?? paperStepRule);
  container.bind<Loss>(TOKENS.Loss).toConstantValue(options.loss ?? squaredLoss);
  container.bind<Communicator>(TOKENS.Communicator).toConstantValue(options.communicator ?? singleProcess);
  return container;
}

/**
 * A run's configuration as an {@link Engine} takes it: {@link AdmmConfig} with the activation given by name (looked up
 * in the bound registry) or as an object, and the step rule and loss defaulting to the bound ones.
 */
export type EngineConfig = Omit<AdmmConfig, 'activation' | 'stepRule' | 'loss'> & {
  readonly activation: string | Activation;
  readonly stepRule?: StepRule;
  readonly loss?: Loss;
};

/** What a container resolves to: the services of a run, and trainers built from them. */
export interface Engine {
  readonly backend: Backend;
  readonly activations: ActivationRegistry;
  readonly stepRule: StepRule;
  readonly loss: Loss;
  readonly communicator: Communicator;
  /** The {@link AdmmConfig} a config of this engine stands for (names resolved, defaults filled in). */
  resolveConfig(config: EngineConfig): AdmmConfig;
  /** `Trainer.create` on the bound backend and communicator, with {@link resolveConfig}'s configuration. */
  createTrainer(data: TrainingData, config: EngineConfig): Promise<Trainer>;
  /** A backpropagation baseline (`BackpropTrainer.create`) on the bound backend and communicator. */
  createBackpropTrainer(data: TrainingData, config: BackpropConfig): Promise<BackpropTrainer>;
}

/** Resolves every service of a run from `container` (once: a later rebind needs a new engine). */
export function createEngine(container: Container): Engine {
  const backend = container.get<Backend>(TOKENS.Backend);
  const activations = container.get<ActivationRegistry>(TOKENS.ActivationRegistry);
  const stepRule = container.get<StepRule>(TOKENS.StepRule);
  const loss = container.get<Loss>(TOKENS.Loss);
  const communicator = container.get<Communicator>(TOKENS.Communicator);
  const resolveConfig = (config: EngineConfig): AdmmConfig => ({
    ...config,
    activation: typeof config.activation === 'string' ? activations.get(config.activation) : config.activation,
    stepRule: config.stepRule ?? stepRule,
    loss: config.loss ?? loss,
  });
  return {
    backend,
    activations,
    stepRule,
    loss,
    communicator,
    resolveConfig,
    createTrainer: (data, config) => Trainer.create(backend, data, resolveConfig(config), { communicator }),
    createBackpropTrainer: (data, config) => BackpropTrainer.create(backend, data, config, { communicator }),
  };
}
