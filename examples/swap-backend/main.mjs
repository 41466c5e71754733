// One training program, three backends: the app builds a container once, and a rebind of TOKENS.Backend alone
// decides where the same code runs: `node main.mjs [cpu] [blas] [webgpu]` (default: all three). Everything the
// training code uses (backend, activation registry, step rule, loss) comes from the container.
import { squareTask } from '@nladmm/core';
import { TOKENS, createContainer, createEngine } from '@nladmm/core/container';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { BlasBackend } from '@nladmm/blas-backend';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { createNodeDevice } from '@nladmm/webgpu-backend/node';

/** Opens a backend by name; `close` frees it (and WebGPU's device, which keeps the process alive otherwise). */
const open = {
  cpu: async () => {
    const backend = new CpuBackend();
    return { backend, close: () => backend.dispose() };
  },
  blas: async () => {
    const backend = new BlasBackend({ precision: 'f64', threads: 2 }); // BlasUnavailableError without a BLAS library
    return { backend, close: () => backend.dispose() };
  },
  webgpu: async () => {
    const gpu = await createNodeDevice(); // throws without a WebGPU adapter
    const backend = await WebGpuBackend.create({ device: gpu.device, adapterInfo: gpu.info });
    return { backend, close: () => (backend.dispose(), gpu.destroy()) };
  },
};

// createContainer needs a backend to start with: the CPU one, replaced by each rebind below.
const container = createContainer({ backend: new CpuBackend(), activations: createDefaultRegistry() });

/** The training code: y = x² on [−1, 1], the same for every backend (it only sees the container). */
async function train() {
  const engine = createEngine(container);
  const { x, y } = squareTask(256, 1);
  const test = squareTask(256, 2);
  const trainer = await engine.createTrainer({ x, y, xTest: test.x, yTest: test.y }, {
    layers: [1, 32, 32, 1], activation: 'sigmoid', beta: 1, lambda: 1e-3, init: { scheme: 'msra', seed: 1 },
  });
  const result = await trainer.run({ maxIterations: 20, metricsEvery: 20 }); // metrics at the last iterate only
  trainer.dispose();
  return result.final;
}

for (const name of process.argv.length > 2 ? process.argv.slice(2) : Object.keys(open)) {
  let opened;
  try {
    opened = await open[name]();
  } catch (err) {
    console.log(`${name}: unavailable (${err.message})`);
    continue;
  }
  container.rebind(TOKENS.Backend).toConstantValue(opened.backend); // the one line that picks the backend
  const final = await train();
  console.log(`${name} (${opened.backend.precision}): train loss ${final.trainLoss.toExponential(6)}, test loss ${final.testLoss.toExponential(6)} [${opened.backend.describe()}]`);
  opened.close();
}
