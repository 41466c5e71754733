// Measures a few hyperparameter settings of Algorithm 1 on a Fashion-MNIST subset (how the CLI preset was chosen).
// Usage: pnpm exec tsx scripts/tune-fashion-mnist.ts --n 5000 --layers 784,128,128,10 --beta 1 --lambda 1e-4
//        --rule paper|authors --init msra --scale 1 --iters 60 --every 10 [--activation sigmoid]
import { Trainer, hostMatrix, stepRuleByName, type InitScheme } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { readIdx } from '@nladmm/cli';

function option(name: string, fallback: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 && process.argv[k + 1] !== undefined ? process.argv[k + 1] : fallback;
}
const dir = '/usr/share/datasets/fashion-mnist';
const n = Number(option('n', '5000'));
const nTest = Number(option('n-test', '10000'));
const layers = option('layers', '784,128,128,10').split(',').map(Number);
async function load(prefix: string, count: number) {
  const images = await readIdx(`${dir}/${prefix}-images-idx3-ubyte.gz`);
  const labels = await readIdx(`${dir}/${prefix}-labels-idx1-ubyte.gz`);
  const d = 784;
  const x = hostMatrix(d, count);
  const y = hostMatrix(10, count);
  for (let s = 0; s < count; s++) {
    for (let f = 0; f < d; f++) x.data[f * count + s] = images.data[s * d + f] / 255;
    y.data[labels.data[s] * count + s] = 1;
  }
  return { x, y };
}
const train = await load('train', n);
const test = await load('t10k', nTest);
const beta = option('beta', '1').split(',').map(Number);
const trainer = await Trainer.create(new CpuBackend(), { x: train.x, y: train.y, xTest: test.x, yTest: test.y }, {
  layers,
  activation: createDefaultRegistry().get(option('activation', 'sigmoid')),
  beta: beta.length === 1 ? beta[0] : beta,
  lambda: Number(option('lambda', '1e-4')),
  stepRule: stepRuleByName(option('rule', 'paper')),
  init: { scheme: option('init', 'msra') as InitScheme, seed: 1, scale: Number(option('scale', '1')), mode: option('mode', 'fan_in') as 'fan_in' },
});
const t0 = performance.now();
trainer.events.on('metrics', (m) => {
  console.log(`${process.argv.slice(2).join(' ')} | k ${m.iteration} L ${m.augmentedLagrangian.toExponential(3)} grad ${m.gradNorm.toExponential(2)} loss ${m.trainLoss.toFixed(4)} acc ${m.trainAccuracy?.toFixed(4)} test ${m.testAccuracy?.toFixed(4)} ${(m.msPerIteration / 1000).toFixed(2)} s/it wall ${((performance.now() - t0) / 1000).toFixed(0)} s`);
});
await trainer.run({ maxIterations: Number(option('iters', '60')), metricsEvery: Number(option('every', '10')) });
