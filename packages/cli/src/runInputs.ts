/**
 * The inputs of a run that `nladmm train` and `nladmm theory` share: the activation, the data and the AdmmConfig
 * of the settings, checked against each other. With --theory-parameters, β and λ are replaced by the smallest
 * values meeting (42)-(45) of Theorem 3 for the data and the initial weights (core's suggestParameters).
 */
import {
  type Activation,
  type AdmmConfig,
  InvalidProblemError,
  type ParameterSuggestion,
  stepRuleByName,
  suggestParameters,
  theoryInputFromConfig,
} from '@nladmm/core';
import { type PluginRef, resolveActivation } from './activations.ts';
import { type LoadedData, loadTrainingData } from './data/datasets.ts';
import { CliError, UsageError, messageOf } from './errors.ts';
import { type ModelInfo, readInitWeights } from './io/model.ts';
import { type TrainSettings, settingsToOptions } from './trainOptions.ts';

export interface RunInputs {
  /** The settings, with β and λ replaced when --theory-parameters is on. */
  readonly settings: TrainSettings;
  readonly activation: Activation;
  /** The plugin file the activation came from (its path and the sha256 of its bytes); undefined for a built-in. */
  readonly plugin: PluginRef | undefined;
  readonly data: LoadedData;
  readonly layers: number[];
  readonly config: AdmmConfig;
  /** The suggestion used for β and λ (only with --theory-parameters). */
  readonly suggestion?: ParameterSuggestion;
}

/** What a model or checkpoint file records about a run (its iteration apart). */
export function modelInfo(settings: TrainSettings, inputs: Pick<RunInputs, 'activation' | 'plugin' | 'data' | 'layers'>): Omit<ModelInfo, 'iteration'> {
  return {
    layers: inputs.layers,
    activation: inputs.activation.name,
    ...(inputs.plugin ? { activationSha256: inputs.plugin.sha256, activationPlugin: inputs.plugin.path } : {}),
    bias: settings.bias,
    precision: settings.precision,
    preprocessing: inputs.data.preprocessing,
    targets: inputs.data.targets,
    options: settingsToOptions(settings),
  };
}

/**
 * The record of a run's plugin for its config.json (`nladmm.activationPlugin`: name, sha256 and, for information
 * only, the path it was loaded from); nothing for a built-in activation. A resume reads the name and hash back and
 * needs the file again on its command line (--activation FILE).
 */
export function pluginRecord(info: Pick<ModelInfo, 'activation' | 'activationSha256' | 'activationPlugin'>): { activationPlugin?: { name: string; sha256: string; path?: string } } {
  if (!info.activationSha256) return {};
  return { activationPlugin: { name: info.activation, sha256: info.activationSha256, ...(info.activationPlugin ? { path: info.activationPlugin } : {}) } };
}

/** --time-limit in ms (undefined when not set). */
export function timeLimitMs(settings: TrainSettings): number | undefined {
  return settings.timeLimit !== undefined ? settings.timeLimit * 1000 : undefined;
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
  };
  let suggestion: ParameterSuggestion | undefined;
  if (settings.theoryParameters) {
    suggestion = suggestFor(data, config);
    const beta = [...suggestion.betas];
    settings = { ...settings, beta, lambda: suggestion.lambda };
    config = { ...config, beta, lambda: suggestion.lambda };
  }
  return { settings, activation, plugin, data, layers, config, ...(suggestion ? { suggestion } : {}) };
}
