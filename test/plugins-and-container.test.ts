// The extension points end to end: a third-party activation loaded from a file path trains a network, and
// the container's bindings are swapped by rebinding.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ActivationRegistry, type Backend, type StepRule, Trainer, authorsStepRule } from '@nladmm/core';
import { TOKENS, createContainer, createEngine } from '@nladmm/core/container';
import { builtinActivations } from '@nladmm/activations';
import { loadActivationPlugin } from '@nladmm/activations/node';
import { CpuBackend } from '@nladmm/cpu-backend';
import { randomRegression } from './support/problems.ts';

const softclipPath = fileURLToPath(new URL('./fixtures/plugins/softclip.mjs', import.meta.url));

describe('a third-party activation plugin', () => {
  it('is loaded from its file path into the container registry and trains end to end', async () => {
    const container = createContainer({ backend: new CpuBackend(), activations: builtinActivations });
    const registry = container.get<ActivationRegistry>(TOKENS.ActivationRegistry);
    await loadActivationPlugin(registry, softclipPath);
    const layers = [3, 8, 6, 2];
    const data = randomRegression(layers, 40, 17);
    const trainer = await Trainer.create(container.get<Backend>(TOKENS.Backend), data, {
      layers,
      activation: registry.get('softclip'),
      beta: 2,
      lambda: 1e-3,
      stepRule: container.get<StepRule>(TOKENS.StepRule),
      init: { scheme: 'xavier', seed: 4 },
    });
    const first = await trainer.run({ maxIterations: 1 });
    const last = await trainer.run({ maxIterations: 60, metricsEvery: 20 });
    expect(trainer.solver.sigma[1].name).toBe('softclip');
    expect(last.final.augmentedLagrangian).toBeLessThan(first.final.augmentedLagrangian);
    expect(last.final.gradNorm).toBeLessThan(first.final.gradNorm);
    expect(Number.isFinite(last.final.trainLoss)).toBe(true);
    trainer.dispose();
  });
});

describe('the inversify container', () => {
  it('binds the paper step rule by default and swaps backend and step rule by rebinding', () => {
    const f64 = new CpuBackend();
    const container = createContainer({ backend: f64 });
    expect(container.get<StepRule>(TOKENS.StepRule).name).toBe('paper');
    expect(container.get<Backend>(TOKENS.Backend)).toBe(f64);
    const f32 = new CpuBackend({ precision: 'f32' });
    container.rebind<Backend>(TOKENS.Backend).toConstantValue(f32);
    container.rebind<StepRule>(TOKENS.StepRule).toConstantValue(authorsStepRule);
    expect(container.get<Backend>(TOKENS.Backend).precision).toBe('f32');
    expect(container.get<StepRule>(TOKENS.StepRule).name).toBe('authors');
  });

  it('is the way a run is built: a rebind of TOKENS.Backend changes the backend createEngine trains on', async () => {
    /** A backend that forwards to a CpuBackend and counts the calls it receives. */
    const spy = () => {
      const calls = { count: 0 };
      const target = new CpuBackend();
      const backend = new Proxy(target, {
        get(t, key, receiver) {
          const value = Reflect.get(t, key, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.count += 1;
            return (value as (...a: unknown[]) => unknown).apply(t, args);
          };
        },
      });
      return { backend: backend as Backend, calls };
    };
    const first = spy();
    const second = spy();
    const layers = [3, 5, 2];
    const data = randomRegression(layers, 30, 5);
    const config = { layers, activation: 'tanh', beta: 1, lambda: 1e-3, init: { scheme: 'xavier' as const, seed: 2 } };
    const container = createContainer({ backend: first.backend, activations: builtinActivations });

    const before = await createEngine(container).createTrainer(data, config);
    await before.run({ maxIterations: 2 });
    expect(first.calls.count).toBeGreaterThan(0);
    expect(second.calls.count).toBe(0);

    container.rebind<Backend>(TOKENS.Backend).toConstantValue(second.backend);
    const usedByFirst = first.calls.count;
    const engine = createEngine(container);
    expect(engine.backend).toBe(second.backend);
    const after = await engine.createTrainer(data, config);
    const result = await after.run({ maxIterations: 2 });
    expect(second.calls.count).toBeGreaterThan(0);
    expect(first.calls.count).toBe(usedByFirst);
    // Same problem, same algorithm: the two runs agree, so the swap changed only where it ran.
    expect(result.final.augmentedLagrangian).toBe((await before.run({ maxIterations: 2 })).final.augmentedLagrangian);
    expect(after.solver.config.activation.name).toBe('tanh');
    expect(after.solver.config.stepRule.name).toBe('paper');
    before.dispose();
    after.dispose();
  });
});
