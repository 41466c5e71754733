// A browser app built with Vite: Algorithm 1 on navigator.gpu with the WebGPU backend, no CPU fallback. It writes
// its progress and result into #result, whose data-state tells how it ended: `done` (data-loss: the final training
// loss), `no-webgpu` (no adapter, so nothing to train on) or `error`.
import { Trainer, paperStepRule, squareTask } from '@nladmm/core';
import { sigmoid } from '@nladmm/activations';
import { WebGpuBackend, requestComputeDevice } from '@nladmm/webgpu-backend';

type State = 'running' | 'done' | 'no-webgpu' | 'error';
const result = document.querySelector<HTMLOutputElement>('#result')!;

function show(state: State, text: string): void {
  result.dataset.state = state;
  result.textContent = text;
}

async function main(): Promise<void> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) {
    show('no-webgpu', 'WebGPU is not available here (no navigator.gpu adapter): this app has nothing to train on.');
    return;
  }
  const gpu = await requestComputeDevice(adapter); // a device with the adapter's largest limits
  const backend = await WebGpuBackend.create({ device: gpu.device, adapterInfo: gpu.info });
  const { x, y } = squareTask(256, 1);
  const trainer = await Trainer.create(backend, { x, y }, {
    layers: [1, 32, 32, 1],
    activation: sigmoid,
    stepRule: paperStepRule,
    beta: 1,
    lambda: 1e-3, // f32 needs a larger λ than f64 to keep the systems positive definite
    init: { scheme: 'msra', seed: 1 },
  });
  trainer.events.on('iteration', ({ iteration }) => show('running', `iteration ${iteration} of 20…`));
  const { iterations, final } = await trainer.run({ maxIterations: 20, metricsEvery: 20 }); // metrics at the end only
  result.dataset.loss = String(final.trainLoss);
  show('done', `done: ${iterations} iterations on ${backend.describe()}, final train loss ${final.trainLoss.toExponential(4)}`);
  trainer.dispose();
  backend.dispose();
  gpu.device.destroy();
}

main().catch((err: unknown) => show('error', `error: ${err instanceof Error ? err.message : String(err)}`));
