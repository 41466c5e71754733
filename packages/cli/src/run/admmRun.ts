/**
 * ADMM (Algorithm 1, core's Trainer) as the run loop drives it: the checkpoint holds the iterate Q^k = (W, V, Λ)
 * and the running ‖∇𝓛‖² sum, the metrics rows are core's TrainingProgress, the messages show β (and its schedule)
 * and the final lines the augmented Lagrangian, the rate and the accuracy or error.
 */
import {
  type Communicator,
  DivergenceError,
  type HostIterate,
  type StopReason,
  type Trainer,
  type TrainerCheckpoint,
  type TrainingProgress,
  allReduceNumbers,
  allReducedPerIteration,
  gatherIterate,
  rateDiagnostics,
  shardRange,
  singleProcess,
  sliceIterate,
} from '@nladmm/core';
import { duration, lambdaText, lossNameSuffix, percent, sci } from '../format.ts';
import { readRunMetrics } from '../io/metrics.ts';
import { type ModelInfo, decodeCheckpoint, encodeCheckpoint } from '../io/model.ts';
import { checkRunMemory, sizeFromData, sizeFromSettings } from '../memory.ts';
import { shardData } from '../ranks.ts';
import { loadRunInputs, modelInfo, runEngine } from '../runInputs.ts';
import { type TrainSettings, betaScheduleOf } from '../trainOptions.ts';
import { type RunTrainer, createTrainer, nonFiniteIndex, perIteration } from './runTrainer.ts';

/**
 * Everything up to a ready Trainer: every input is checked here, before anything is written. Sharded (`communicator`
 * of P ranks), this rank trains on its slice of the samples; checkpoints hold the whole iterate (gathered at rank 0),
 * so a run resumes with any P.
 */
export async function createAdmmRun(input: TrainSettings, notice?: (text: string) => void, communicator: Communicator = singleProcess): Promise<RunTrainer<TrainingProgress>> {
  // A problem that cannot fit is refused before its data is read (as far as the options tell its size), and again
  // with the data's sizes before the solver allocates.
  if (input.layers) checkRunMemory(input, input.layers, sizeFromSettings(input, input.layers));
  const { settings, activation, plugin, loss, lossPlugin, data: whole, layers, config, suggestion } = await loadRunInputs(input);
  const totalSamples = whole.train.x.cols;
  const data = shardData(whole, communicator);
  const shard = shardRange(totalSamples, communicator.rank, communicator.size);
  const engine = await runEngine(settings, communicator, notice);
  const { backend } = engine;
  let trainer: Trainer;
  try {
    trainer = await createTrainer(() => {
      checkRunMemory(settings, layers, sizeFromData(data), backend);
      return engine.createTrainer({ x: data.train.x, y: data.train.y, xTest: data.test?.x, yTest: data.test?.y }, config);
    });
  } catch (err) {
    backend.dispose();
    throw err;
  }
  const info: ModelInfo = { ...modelInfo(settings, { activation, plugin, loss, lossPlugin, data, layers }), iteration: 0 };
  const { solver } = trainer;
  const schedule = betaScheduleOf(settings);
  // The β in force (β^k of the last iteration k; under a schedule it changes with k): shown when it changes.
  const currentBetas = () => Array.from({ length: solver.depth }, (_, i) => solver.beta(i + 1));
  let shownBetas = '';
  const encode = (cp: TrainerCheckpoint, resumedFrom: number) => encodeCheckpoint(cp, { ...info, iteration: cp.iterate.iteration }, { resumedFrom });
  /** The checkpoint of the whole iterate at rank 0 (empty bytes on the other ranks, which write nothing). */
  const wholeCheckpoint = async (cp: TrainerCheckpoint, resumedFrom: number) => {
    const iterate = await gatherIterate(communicator, cp.iterate);
    return iterate ? encode({ ...cp, iterate }, resumedFrom) : new Uint8Array(0);
  };

  return {
    settings,
    data,
    backend,
    info,
    plots: settings.plots,
    divergenceAdvice: '',
    finalMeasurementCheckpointed: true,
    configRecord: suggestion
      ? {
          theoryParameters: {
            betas: suggestion.betas,
            lambda: suggestion.lambda,
            astronomical: suggestion.astronomical,
            unattainable: suggestion.unattainable,
            failing: suggestion.report.failing,
          },
        }
      : {},
    get iteration() {
      return solver.iteration;
    },
    restore(bytes, path, onNotice) {
      const cp = decodeCheckpoint(bytes, path, info.layers, info.bias, totalSamples, onNotice);
      trainer.restore({ ...cp, iterate: sliceIterate(cp.iterate, shard.start, shard.count) });
      return cp.iterate.iteration;
    },
    async initial() {
      const cp = await trainer.checkpoint();
      // W^0 as the trainer reports it: the checkpoint just downloaded holds it (W[0] is unused).
      return { weights: async () => cp.iterate.W.slice(1), checkpoint: () => wholeCheckpoint(cp, 0) };
    },
    async checkpoint(resumedFrom) {
      const cp = await trainer.checkpoint();
      const bad = await firstNonFinite(cp.iterate, communicator);
      if (bad) throw new DivergenceError(cp.iterate.iteration, bad.block, bad.layer);
      return { iteration: cp.iterate.iteration, bytes: await wholeCheckpoint(cp, resumedFrom) };
    },
    begin() {
      const startIteration = solver.iteration;
      shownBetas = betasText(currentBetas());
      const betaText = Array.isArray(settings.beta) ? settings.beta.join(',') : String(settings.beta);
      const scheduleText = schedule ? ` ×${schedule.factor} every ${schedule.every} iterations up to ${schedule.cap}${startIteration > 0 ? ` (${shownBetas} at iteration ${startIteration})` : ''}` : '';
      const lossText = info.loss !== undefined && info.loss !== 'squared' ? `, loss ${info.loss}` : '';
      const network = `network ${info.layers.join('-')} ${info.activation}${lossText}, β = ${betaText}${scheduleText}, λ = ${lambdaText(settings.lambda)}, step rule ${settings.stepRule}, ${settings.initWeights ? `init from ${settings.initWeights}` : `init ${settings.init}×${settings.initScale} ${settings.initMode} (seed ${settings.seed})`}; backend ${backend.describe()}`;
      const notes: string[] = [];
      if (communicator.size > 1) {
        const exchanged = allReducedPerIteration(info.layers, info.bias);
        const mb = (values: number) => `${((values * 8) / 1e6).toPrecision(3)} MB`;
        notes.push(`sharded over ${communicator.size} processes (${communicator.describe()}): ${totalSamples} samples, ${shard.count} on rank 0; ${mb(exchanged.iteration)} all-reduced per iteration, ${mb(exchanged.metrics)} more when the metrics are evaluated`);
      }
      if (suggestion) {
        const unmet = suggestion.unattainable;
        notes.push(`β and λ from Theorem 3 ((42)-(45) hold)${unmet.length > 0 ? `; ${unmet.join(', ')} cannot be met by β, λ here` : '; all of (42)-(47) hold'}`);
      }
      return { network, notes };
    },
    iterationMessage(k) {
      if (!schedule) return undefined;
      const now = betasText(currentBetas());
      const changed = now !== shownBetas;
      shownBetas = now;
      return changed ? `β = ${now} from iteration ${k}` : undefined;
    },
    progressRow: (row) => row,
    async run(options, hooks) {
      const off = [trainer.events.on('warning', hooks.warning), trainer.events.on('iteration', ({ iteration }) => hooks.iteration(iteration)), trainer.events.on('metrics', hooks.metrics)];
      try {
        return await trainer.run(options);
      } finally {
        for (const f of off) f();
      }
    },
    weights: () => solver.weights(),
    async summary(result, c) {
      const final = result.final;
      const done = result.iterations - c.startIteration;
      const lines: string[] = [];
      lines.push(`${stopText(result.reason, settings, c.stopSignal)} at iteration ${result.iterations}: ${done} iterations in ${duration(c.wallMs)}${done > 0 ? ` (${perIteration(final.msPerIteration)} of Algorithm 1)` : ''}`);
      // The network's mean loss n⁻¹ Σ ℓ is "train loss" / "test loss" everywhere, with the loss named unless squared.
      const named = lossNameSuffix(info.loss);
      const parts = [`𝓛 ${sci(final.augmentedLagrangian)}`, `‖∇𝓛‖ ${sci(final.gradNorm)}`, `train loss${named} ${sci(final.trainLoss)}`];
      if (final.trainAccuracy !== undefined) parts.push(`train accuracy ${percent(final.trainAccuracy)}`);
      if (final.testLoss !== undefined) parts.push(`test loss${named} ${sci(final.testLoss)}`);
      if (schedule) parts.push(`β ${betasText(currentBetas())}`);
      lines.push(parts.join('  '));
      const rate = await rateLine(c.metricsPath);
      if (rate) lines.push(rate);
      lines.push(`run directory: ${c.runDir}`);
      if (final.testAccuracy !== undefined) lines.push(`test accuracy: ${percent(final.testAccuracy)}`);
      else if (final.trainAccuracy !== undefined) lines.push(`train accuracy: ${percent(final.trainAccuracy)}`);
      else lines.push(`train loss${named}: ${sci(final.trainLoss)}${final.testLoss !== undefined ? `  test loss${named}: ${sci(final.testLoss)}` : ''}`);
      return lines;
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

/**
 * The first non-finite block of an iterate on any rank (a NaN iterate must never overwrite the last good checkpoint);
 * every rank gets the same answer.
 */
async function firstNonFinite(iterate: HostIterate, communicator: Communicator): Promise<{ block: 'W' | 'V' | 'Lambda'; layer: number } | undefined> {
  const blocks = ['W', 'V', 'Lambda'] as const;
  const depth = iterate.W.length - 1;
  const flags = blocks.flatMap((block) => iterate[block].slice(1).map((m) => (nonFiniteIndex([m]) === undefined ? 0 : 1)));
  const anywhere = await allReduceNumbers(communicator, flags);
  const first = anywhere.findIndex((count) => count > 0);
  return first < 0 ? undefined : { block: blocks[Math.floor(first / depth)], layer: (first % depth) + 1 };
}

function stopText(reason: StopReason, s: TrainSettings, signalName: string | undefined): string {
  switch (reason) {
    case 'iterations':
      return `reached --iterations ${s.iterations}`;
    case 'tolerance':
      return `‖∇𝓛‖ ≤ --grad-tol ${s.gradTol}`;
    case 'time':
      return `reached --time-limit ${s.timeLimit} s`;
    case 'cancelled':
      return `stopped by ${signalName ?? 'a signal'}`;
  }
}

/** β_1…β_N as messages show them: one value when all are equal. */
function betasText(betas: readonly number[]): string {
  const text = betas.map((b) => String(Number(b.toPrecision(6))));
  return text.every((t) => t === text[0]) ? text[0] : text.join(',');
}

/** One line on the fitted log-log slope of the running mean (1/K)Σ‖∇𝓛‖² over the tail of the logged run. */
async function rateLine(metricsPath: string): Promise<string | undefined> {
  try {
    const records = await readRunMetrics(metricsPath);
    const samples = records.filter((r) => r.iteration >= 1 && typeof r.gradNorm === 'number').map((r) => ({ k: r.iteration, gradNorm: r.gradNorm as number }));
    if (samples.length < 2) return undefined;
    const { meanFit, verdict } = rateDiagnostics(samples);
    return `rate: running mean (1/K)Σ‖∇𝓛‖² fitted over k = ${meanFit.fromK}…${meanFit.toK}: ${verdict}`;
  } catch {
    return undefined;
  }
}
