// Trains a classifier with Algorithm 1 on a CSV file (moons.csv: columns x, y, label), saves the network as a
// safetensors file with the CLI's model format, reads that file back and classifies the held-out rows with it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Trainer, hostMatrix, paperStepRule } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { encodeModel, parseSafetensors, readCsv, readModel, writeFileAtomic } from '@nladmm/cli';

// One sample per column: X is 2 × n (x, y), Y is 2 × n one-hot (row c is 1 for class c). Every 4th row is held out.
const table = await readCsv(fileURLToPath(new URL('moons.csv', import.meta.url)));
function samples(keep) {
  const rows = [...Array(table.rows).keys()].filter(keep);
  const x = hostMatrix(2, rows.length);
  const y = hostMatrix(2, rows.length);
  rows.forEach((r, k) => {
    const label = table.data[r * 3 + 2];
    x.data[k] = table.data[r * 3];
    x.data[rows.length + k] = table.data[r * 3 + 1];
    y.data[label * rows.length + k] = 1;
  });
  return { x, y };
}
const train = samples((r) => r % 4 !== 3);
const test = samples((r) => r % 4 === 3);

const layers = [2, 64, 2];
const registry = createDefaultRegistry();
const sigmoid = registry.get('sigmoid');
const backend = new CpuBackend();
const trainer = await Trainer.create(backend, { x: train.x, y: train.y, xTest: test.x, yTest: test.y }, {
  layers, activation: sigmoid, stepRule: paperStepRule, beta: 1, lambda: 1e-4, init: { scheme: 'msra', seed: 1, scale: 4 },
});
const result = await trainer.run({ maxIterations: 30 });
console.log(`trained ${result.iterations} iterations on ${backend.name}: test accuracy ${(100 * result.final.testAccuracy).toFixed(1)} %`);

// The model file: W1…WN (d_i × d_{i−1}), b1…bN and, in the metadata, what is needed to use them.
const file = fileURLToPath(new URL('moons-model.safetensors', import.meta.url));
await writeFileAtomic(file, encodeModel(await trainer.solver.weights(), {
  layers, activation: sigmoid.name, bias: true, precision: 'f64', iteration: result.iterations,
  preprocessing: { kind: 'none' }, targets: { kind: 'onehot', classes: 2 },
}));
trainer.dispose();
backend.dispose();
console.log(`saved moons-model.safetensors: ${parseSafetensors(await readFile(file), file).tensors.map((t) => `${t.name} [${t.shape.join('×')}]`).join(', ')}`);

// Read back (readModel checks every tensor) and classify the held-out points: σ(W [a; 1]) layer by layer, identity
// at the output, the class being the larger of the two outputs.
const model = await readModel(file);
const { sigma } = registry.get(model.activation); // the activation the file records, by name
let a = test.x;
model.weights.forEach((w, i) => {
  const out = hostMatrix(w.rows, a.cols);
  for (let r = 0; r < w.rows; r++) {
    for (let c = 0; c < a.cols; c++) {
      let s = w.data[r * w.cols + a.rows]; // the bias column
      for (let j = 0; j < a.rows; j++) s += w.data[r * w.cols + j] * a.data[j * a.cols + c];
      out.data[r * a.cols + c] = i < model.weights.length - 1 ? sigma(s) : s;
    }
  }
  a = out;
});
const n = a.cols;
let hits = 0;
for (let c = 0; c < n; c++) hits += test.y.data[(a.data[n + c] > a.data[c] ? n : 0) + c]; // Y's entry of the predicted class
console.log(`reloaded ${model.activation} ${model.layers.join('-')} model: test accuracy ${(100 * hits / n).toFixed(1)} % (${hits}/${n})`);
