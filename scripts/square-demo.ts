// The authors' square-function demo (y = x² on [−1, 1]) trained by Algorithm 1 on the CPU reference backend;
// prints the metrics as it goes. The main job until the CLI lands.
import { Trainer, authorsStepRule, squareTask } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';

const backend = new CpuBackend();
const trainer = await Trainer.create(backend, squareTask(1000, 2024), {
  layers: [1, 100, 100, 1],
  activation: createDefaultRegistry().get('sigmoid'),
  beta: 1,
  lambda: 1e-6,
  bias: true,
  stepRule: authorsStepRule,
  init: { scheme: 'msra', mode: 'fan_out', scale: 8, seed: 1 },
});
console.log(`backend: ${backend.describe()}`);
console.log('task: y = x^2, 1000 samples, layers 1-100-100-1 sigmoid, beta = 1, lambda = 1e-6, step rule authors');
trainer.events.on('warning', (w) => console.log(`warning: ${w}`));
trainer.events.on('metrics', (m) => {
  console.log(
    [
      `iter ${String(m.iteration).padStart(3)}`,
      `L ${m.augmentedLagrangian.toExponential(4)}`,
      `|grad L| ${m.gradNorm.toExponential(3)}`,
      `mean|grad L|^2 ${m.runningMeanGradSq.toExponential(3)}`,
      `|Q^k-Q^k-1| ${m.stepNorm.toExponential(3)}`,
      `train MSE ${(2 * m.trainLoss).toExponential(3)}`,
      `${m.msPerIteration.toFixed(1)} ms/iter`,
    ].join('  '),
  );
});
const result = await trainer.run({ maxIterations: 50, metricsEvery: 5 });
console.log(`stopped: ${result.reason} after ${result.iterations} iterations; training MSE ${(2 * result.final.trainLoss).toExponential(3)}`);
trainer.dispose();
backend.dispose();
