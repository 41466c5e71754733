/**
 * A gd/sgd/adam run (core's BackpropTrainer) as the run loop drives it: the checkpoint holds the weights, the
 * optimiser's moments and the mini-batch sampler (`--resume` continues bit for bit), the metrics rows are core's
 * BackpropProgress; no plots (their charts are ADMM's quantities).
 */
import { type AdmmConfig, type BackpropConfig, type BackpropProgress, type BackpropTrainer, type Communicator, DivergenceError, singleProcess } from '@nladmm/core';
import { CliError, UsageError, messageOf } from '../errors.ts';
import { lambdaText, lossNameSuffix, percent, sci } from '../format.ts';
import { type ModelInfo, decodeBaselineCheckpoint, encodeBaselineCheckpoint } from '../io/model.ts';
import { checkRunMemory, sizeFromData, sizeFromSettings } from '../memory.ts';
import { shardData } from '../ranks.ts';
import { loadRunInputs, modelInfo, runEngine } from '../runInputs.ts';
import { DEFAULT_ADAM_LEARNING_RATE, DEFAULT_LEARNING_RATE, type TrainSettings } from '../trainOptions.ts';
import { type RunTrainer, createTrainer, nonFiniteIndex, perIteration } from './runTrainer.ts';

/** The BackpropConfig of a gd/sgd run: the network, λ and initialisation of the ADMM config plus the optimiser. */
export function backpropConfig(settings: TrainSettings, config: AdmmConfig, init: AdmmConfig['init'] = config.init): BackpropConfig {
  if (settings.optimizer === 'admm') throw new UsageError('internal: backpropConfig needs --optimizer gd, sgd or adam');
  return {
    layers: config.layers,
    activation: config.activation,
    lambda: config.lambda,
    bias: config.bias,
    init,
    optimizer: settings.optimizer,
    learningRate: settings.learningRate ?? (settings.optimizer === 'adam' ? DEFAULT_ADAM_LEARNING_RATE : DEFAULT_LEARNING_RATE),
    ...(settings.momentum !== undefined ? { momentum: settings.momentum } : {}),
    ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
    seed: settings.seed,
    ...(config.loss ? { loss: config.loss } : {}),
  };
}

/**
 * Everything up to a ready BackpropTrainer: every input is checked here, before anything is written. Sharded
 * (`communicator` of P ranks, full-batch steps only), this rank backpropagates its slice of the samples.
 */
export async function createBaselineRun(settings: TrainSettings, notice?: (text: string) => void, communicator: Communicator = singleProcess): Promise<RunTrainer<BackpropProgress>> {
  if (settings.layers) checkRunMemory(settings, settings.layers, sizeFromSettings(settings, settings.layers));
  const { activation, plugin, loss, lossPlugin, data: whole, layers, config } = await loadRunInputs(settings);
  const totalSamples = whole.train.x.cols;
  const data = shardData(whole, communicator);
  const engine = await runEngine(settings, communicator, notice);
  const { backend } = engine;
  let trainer: BackpropTrainer;
  try {
    checkRunMemory(settings, layers, sizeFromData(data), backend);
    // Errors of the configuration become one-line CLI errors.
    trainer = await createTrainer(() => engine.createBackpropTrainer({ x: data.train.x, y: data.train.y, xTest: data.test?.x, yTest: data.test?.y }, backpropConfig(settings, config)));
  } catch (err) {
    backend.dispose();
    throw err;
  }
  const info: ModelInfo = { ...modelInfo(settings, { activation, plugin, loss, lossPlugin, data, layers }), iteration: 0 };
  const encode = async (resumedFrom: number) => {
    const cp = await trainer.checkpoint();
    const bad = nonFiniteIndex(cp.weights);
    if (bad !== undefined) throw new DivergenceError(cp.iteration, 'W', bad);
    return { iteration: cp.iteration, bytes: encodeBaselineCheckpoint(cp, { ...info, iteration: cp.iteration }, settings.optimizer, { resumedFrom }) };
  };

  return {
    settings,
    data,
    backend,
    info,
    plots: false,
    divergenceAdvice: 'lower --learning-rate; ',
    finalMeasurementCheckpointed: false,
    configRecord: {},
    get iteration() {
      return trainer.iteration;
    },
    restore(bytes, path, onNotice) {
      const cp = decodeBaselineCheckpoint(bytes, path, layers, info.bias, totalSamples, settings.optimizer, onNotice);
      try {
        trainer.restore(cp);
      } catch (err) {
        throw new CliError(`${path}: ${messageOf(err)}`);
      }
      return cp.iteration;
    },
    async initial() {
      return { weights: () => trainer.weights(), checkpoint: async () => (await encode(0)).bytes };
    },
    checkpoint: encode,
    begin: () => ({
      network: `network ${layers.join('-')} ${activation.name}${loss.name !== 'squared' ? `, loss ${loss.name}` : ''}, optimizer ${settings.optimizer}, η = ${trainer.config.learningRate}, μ = ${trainer.momentum}, batch ${trainer.batchSize}, λ = ${lambdaText(settings.lambda)}; backend ${backend.describe()}`,
      notes: [],
    }),
    iterationMessage: () => undefined,
    progressRow: () => undefined,
    async run(options, hooks) {
      const off = [trainer.events.on('metrics', hooks.metrics), trainer.events.on('iteration', ({ iteration }) => hooks.iteration(iteration))];
      try {
        return await trainer.run(options);
      } finally {
        for (const f of off) f();
      }
    },
    weights: () => trainer.weights(),
    async summary(result, c) {
      const final = result.final;
      const named = lossNameSuffix(loss.name);
      const parts = [`objective ${sci(final.objective)}`, `‖∇f‖ ${sci(final.gradNorm)}`, `train loss${named} ${sci(final.trainLoss)}`];
      if (final.trainAccuracy !== undefined) parts.push(`train accuracy ${percent(final.trainAccuracy)}`);
      if (final.testLoss !== undefined) parts.push(`test loss${named} ${sci(final.testLoss)}`);
      if (final.testAccuracy !== undefined) parts.push(`test accuracy ${percent(final.testAccuracy)}`);
      const how = result.reason === 'cancelled' && c.stopSignal ? `stopped by ${c.stopSignal}` : `stopped (${result.reason})`;
      return [`${settings.optimizer} ${how} at iteration ${result.iterations}${result.iterations > 0 ? ` (${perIteration(final.msPerIteration)})` : ''}`, parts.join('  '), `run directory: ${c.runDir}`];
    },
    dispose() {
      try {
        trainer.dispose();
      } finally {
        backend.dispose();
      }
    },
  };
}
