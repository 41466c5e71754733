// The stop rules both trainers share (RunSchedule): option checks, the order of the stop reasons, the evaluated
// iterations, and that Trainer and BackpropTrainer refuse bad run options before any step.
import { describe, expect, it } from 'vitest';
import { BackpropTrainer, RunSchedule, Trainer, paperStepRule } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { randomRegression } from './support/problems.ts';

describe('RunSchedule', () => {
  it.each([
    [{ maxIterations: -1 }, /maxIterations must be an integer ≥ 0, got -1/],
    [{ maxIterations: 2.5 }, /maxIterations must be an integer ≥ 0, got 2.5/],
    [{ maxIterations: 5, metricsEvery: 0 }, /metricsEvery must be an integer ≥ 1, got 0/],
  ])('refuses %j', (options, message) => {
    expect(() => new RunSchedule(options, 0)).toThrow(message);
  });

  it('stops for the iterations first, then a signal, then the time limit (counted from the given elapsed time)', () => {
    const aborted = new AbortController();
    aborted.abort();
    expect(new RunSchedule({ maxIterations: 3, signal: aborted.signal, timeLimitMs: 0 }, 0).stopBefore(3, 0)).toBe('iterations');
    expect(new RunSchedule({ maxIterations: 3, signal: aborted.signal, timeLimitMs: 0 }, 0).stopBefore(2, 0)).toBe('cancelled');
    const timed = new RunSchedule({ maxIterations: 10, timeLimitMs: 100 }, 500);
    expect(timed.stopBefore(4, 599)).toBeUndefined();
    expect(timed.stopBefore(4, 600)).toBe('time');
    expect(new RunSchedule({ maxIterations: 10 }, 0).stopBefore(9, 1e9)).toBeUndefined();
  });

  it('evaluates every m-th iteration, the first and the last; converges at ‖∇‖ ≤ tolerance', () => {
    const s = new RunSchedule({ maxIterations: 10, metricsEvery: 3, gradTolerance: 1e-6 }, 0);
    expect(Array.from({ length: 10 }, (_, i) => i + 1).filter((k) => s.evaluates(k))).toEqual([1, 3, 6, 9, 10]);
    expect([s.converged(1e-6), s.converged(1.1e-6)]).toEqual([true, false]);
    expect(new RunSchedule({ maxIterations: 1 }, 0).converged(0)).toBe(false);
  });

  it('is how both trainers check their run options, before any step', async () => {
    const layers = [2, 3, 1];
    const data = randomRegression(layers, 6, 1);
    const common = { layers, activation: createDefaultRegistry().get('tanh'), lambda: 0.1, init: { scheme: 'xavier' as const, seed: 1 } };
    const admm = await Trainer.create(new CpuBackend(), data, { ...common, beta: 1, stepRule: paperStepRule });
    const gd = await BackpropTrainer.create(new CpuBackend(), data, { ...common, optimizer: 'gd', learningRate: 0.1 });
    for (const trainer of [admm, gd]) {
      await expect(trainer.run({ maxIterations: 3, metricsEvery: 0 })).rejects.toThrow(/metricsEvery must be an integer ≥ 1/);
      const result = await trainer.run({ maxIterations: 2 });
      expect([result.reason, result.iterations]).toEqual(['iterations', 2]);
      trainer.dispose();
    }
  });
});
