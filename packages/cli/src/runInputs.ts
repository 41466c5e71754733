/**
 * The inputs of a run that `nladmm train` and `nladmm theory` share: the activation, the loss, the data and the
 * AdmmConfig of the settings (the β schedule included), checked against each other. With --theory-parameters, β and λ are replaced by the smallest
 * values meeting (42)-(45) of Theorem 3 for the data and the initial weights (core's suggestParameters).
 */
import {
  type Activation,
  type AdmmConfig,
  type Backend,
  type Communicator,
  type Loss,
  InvalidProblemError,
  type ParameterSuggestion,
  stepRuleByName,
  suggestParameters,
  theoryInputFromConfig,
} from '@nladmm/core';
import { type Engine, createContainer, createEngine } from '@nladmm/core/container';
import { createDefaultRegistry } from '@nladmm/activations';
import { type PluginRef, resolveActivation } from './activations.ts';
import { createBackend } from './backends.ts';
import { checkLossTargets, resolveLoss } from './losses.ts';
import { type LoadedData, loadTrainingData } from './data/datasets.ts';
import { CliError, UsageError, messageOf } from './errors.ts';
import { type ModelInfo, readInitWeights } from './io/model.ts';
import { type TrainSettings, betaScheduleOf, checkStepRuleSettings, settingsToOptions } from './trainOptions.ts';

export interface RunInputs {
  /** The settings, with β and λ replaced when --theory-parameters is on. */
  readonly settings: TrainSettings;
  readonly activation: Activation;
  /** The plugin file the activation came from (its path and the sha256 of its bytes); undefined for a built-in. */
  readonly plugin: PluginRef | undefined;
  readonly loss: Loss;
  /** The plugin file the loss came from; undefined for a built-in loss. */
  readonly lossPlugin: PluginRef | undefined;
  readonly data: LoadedData;
  readonly layers: number[];
  readonly config: AdmmConfig;
  /** The suggestion used for β and λ (only with --theory-parameters). */
  readonly suggestion?: ParameterSuggestion;
}

/** What a model or checkpoint file records about a run (its iteration apart). */
export function modelInfo(settings: TrainSettings, inputs: Pick<RunInputs, 'activation' | 'plugin' | 'loss' | 'lossPlugin' | 'data' | 'layers'>): Omit<ModelInfo, 'iteration'> {
  return {
    layers: inputs.layers,
    activation: inputs.activation.name,
    ...(inputs.plugin ? { activationSha256: inputs.plugin.sha256, activationPlugin: inputs.plugin.path } : {}),
    loss: inputs.loss.name,
    ...(inputs.lossPlugin ? { lossSha256: inputs.lossPlugin.sha256, lossPlugin: inputs.lossPlugin.path } : {}),
    bias: settings.bias,
    precision: settings.precision,
    preprocessing: inputs.data.preprocessing,
    targets: inputs.data.targets,
    options: settingsToOptions(settings),
  };
}

type PluginPin = { name: string; sha256: string; path?: string };

/**
 * The record of a run's plugins for its config.json (`nladmm.activationPlugin`, `nladmm.lossPlugin`: name, sha256
 * and, for information only, the path it was loaded from); nothing for a built-in activation or loss. A resume reads
 * the name and hash back and needs the file again on its command line (--activation FILE, --loss FILE).
 */
export function pluginRecord(info: Pick<ModelInfo, 'activation' | 'activationSha256' | 'activationPlugin' | 'loss' | 'lossSha256' | 'lossPlugin'>): { activationPlugin?: PluginPin; lossPlugin?: PluginPin } {
  const pin = (name: string, sha256: string, path: string | undefined): PluginPin => ({ name, sha256, ...(path ? { path } : {}) });
  return {
    ...(info.activationSha256 ? { activationPlugin: pin(info.activation, info.activationSha256, info.activationPlugin) } : {}),
    ...(info.lossSha256 && info.loss ? { lossPlugin: pin(info.loss, info.lossSha256, info.lossPlugin) } : {}),
  };
}

/** --time-limit in ms (undefined when not set). */
export function timeLimitMs(settings: TrainSettings): number | undefined {
  return settings.timeLimit !== undefined ? settings.timeLimit * 1000 : undefined;
}

/** The backend of a run's settings (`notice`: where auto's fallback notice goes). */
export function runBackend(settings: TrainSettings, notice?: (text: string) => void): Promise<Backend> {
  return createBackend(settings.backend, settings.precision, { threads: settings.threads, notice });
}

/**
 * The engine a run trains with: the container of its backend (from the settings), the built-in activations and the
 * communicator of this process's ranks, resolved by core's createEngine. Every training run of the CLI is built here.
 */
export async function runEngine(settings: TrainSettings, communicator: Communicator, notice?: (text: string) => void): Promise<Engine> {
  const backend = await runBackend(settings, notice);
  return createEngine(createContainer({ backend, activations: createDefaultRegistry(), communicator }));
}

/** Suggested parameters for a configuration; errors of the theory become CLI errors. */
export function suggestFor(data: LoadedData, config: AdmmConfig): ParameterSuggestion {
  try {
    return suggestParameters(theoryInputFromConfig(data.train, config));
  } catch (err) {
    if (err instanceof InvalidProblemError || err instanceof RangeError) throw new CliError(messageOf(err));
    throw err;
  }
}

/** Loads and checks everything a run needs before a backend exists. */
export async function loadRunInputs(input: TrainSettings): Promise<RunInputs> {
  let settings = input;
  const { activation, plugin } = await resolveActivation(settings.activation);
  checkStepRuleSettings(settings, activation);
  const { loss, plugin: lossPlugin } = await resolveLoss(settings.loss);
  const data = await loadTrainingData(settings, activation);
  const outputs = data.targets.kind === 'onehot' ? data.targets.classes : data.targets.outputs;
  const layers = settings.layers;
  if (!layers) {
    throw new UsageError(`--layers is required: the data has ${data.features} features and ${outputs} outputs, e.g. --layers ${data.features},64,64,${outputs}`);
  }
  if (layers[0] !== data.features) throw new UsageError(`--layers ${layers.join(',')} does not fit the data: d_0 = ${layers[0]} but the data has ${data.features} features`);
  if (layers[layers.length - 1] !== outputs) {
    throw new UsageError(`--layers ${layers.join(',')} does not fit the data: d_N = ${layers[layers.length - 1]} but the targets have ${outputs} ${data.targets.kind === 'onehot' ? 'classes' : 'outputs'}`);
  }
  const init = settings.initWeights
    ? { weights: await readInitWeights(settings.initWeights, layers, settings.bias) }
    : { scheme: settings.init, seed: settings.seed, scale: settings.initScale, mode: settings.initMode };
  let config: AdmmConfig = {
    layers,
    activation,
    beta: settings.beta,
    lambda: settings.lambda,
    bias: settings.bias,
    stepRule: stepRuleByName(settings.stepRule),
    init,
    loss,
  };
  const betaSchedule = betaScheduleOf(settings);
  if (betaSchedule) config = { ...config, betaSchedule };
  // Before core sees them (which would say so too): targets the loss cannot use are a usage error with a hint.
  checkLossTargets(loss, [{ name: 'training', y: data.train.y }, { name: 'test', y: data.test?.y }], data.targets.kind !== 'onehot');
  let suggestion: ParameterSuggestion | undefined;
  if (settings.theoryParameters) {
    suggestion = suggestFor(data, config);
    const beta = [...suggestion.betas];
    settings = { ...settings, beta, lambda: suggestion.lambda };
    config = { ...config, beta, lambda: suggestion.lambda };
  }
  return { settings, activation, plugin, loss, lossPlugin, data, layers, config, ...(suggestion ? { suggestion } : {}) };
}
