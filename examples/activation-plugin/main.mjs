// Loads the activation plugin lecunTanh.mjs into a registry (vetted in a worker thread under a time limit, then
// validated: its bounds and derivatives are checked numerically), trains with it, and shows a plugin whose claimed
// bounds are wrong being refused. The same file works on the command line: see the "cli" script in package.json.
import { fileURLToPath } from 'node:url';
import { Trainer, paperStepRule, productTask } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { loadActivationPlugin } from '@nladmm/activations/node';
import { CpuBackend } from '@nladmm/cpu-backend';

const registry = createDefaultRegistry();
const activation = await loadActivationPlugin(registry, fileURLToPath(new URL('lecunTanh.mjs', import.meta.url)));
const { L0, L1, L2 } = activation.bounds;
console.log(`loaded ${activation.name} (L0 ${L0}, L1 ${L1.toFixed(6)}, L2 ${L2.toFixed(6)}); registry: ${registry.names().join(' ')}`);

// y = x₁ x₂ on [−1, 1]², with the paper's step rule (22), which is built from the plugin's bounds.
const train = productTask(500, 1);
const test = productTask(500, 2);
const backend = new CpuBackend();
const trainer = await Trainer.create(backend, { x: train.x, y: train.y, xTest: test.x, yTest: test.y }, {
  layers: [2, 64, 1], activation: registry.get('lecun-tanh'), stepRule: paperStepRule,
  beta: 1, lambda: 1e-4, init: { scheme: 'msra', seed: 1 },
});
const testLoss = []; // at iterations 0 and 30
trainer.events.on('metrics', (m) => testLoss.push(m.testLoss.toExponential(3)));
const result = await trainer.run({ maxIterations: 30, metricsEvery: 30 });
console.log(`trained with ${activation.name} on ${backend.name}: ${result.iterations} iterations, test loss ${testLoss.join(' → ')}`);
trainer.dispose();
backend.dispose();

// Validation refuses a plugin whose claims do not hold, naming it and the failed check.
try {
  registry.register({ ...activation, name: 'overclaimed', bounds: { ...activation.bounds, L1: 1 } });
} catch (err) {
  console.log(err.message);
}
