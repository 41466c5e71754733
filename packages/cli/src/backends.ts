/**
 * Which compute backend a run uses. This is the one place that knows the backends: `cpu` is the f64/f32 reference;
 * `webgpu` runs on a WebGPU adapter through Dawn (a GPU, or SwiftShader's software Vulkan when there is none);
 * `auto` picks a hardware WebGPU adapter for f32 runs when one exists, and the CPU otherwise — never SwiftShader.
 */
import type { Backend, Precision } from '@nladmm/core';
import { CpuBackend } from '@nladmm/cpu-backend';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { type NodeDevice, type SoftwarePolicy, createNodeDevice } from '@nladmm/webgpu-backend/node';
import { CliError } from './errors.ts';

export type BackendChoice = 'auto' | 'cpu' | 'webgpu';

/** A WebGPU backend on a Dawn device; disposing it also destroys the device (a live one keeps a core busy). */
async function createWebGpu(software: SoftwarePolicy): Promise<Backend> {
  let node: NodeDevice;
  try {
    node = await createNodeDevice({ software });
  } catch (err) {
    throw new CliError(`webgpu backend not available: ${(err as Error).message}`);
  }
  const backend = await WebGpuBackend.create({ device: node.device, adapterInfo: node.info });
  const disposeBackend = backend.dispose.bind(backend);
  backend.dispose = () => {
    disposeBackend();
    node.destroy();
  };
  return backend;
}

export async function createBackend(choice: BackendChoice, precision: Precision): Promise<Backend> {
  switch (choice) {
    case 'cpu':
      return new CpuBackend({ precision });
    case 'webgpu':
      if (precision !== 'f32') throw new CliError('the webgpu backend computes in f32: add --precision f32');
      return createWebGpu('auto');
    case 'auto':
      if (precision === 'f32') {
        try {
          return await createWebGpu('forbid');
        } catch {
          // no hardware adapter: the CPU reference
        }
      }
      return new CpuBackend({ precision });
  }
}

/** What `nladmm info` lists. */
export async function describeBackends(): Promise<{ name: string; available: boolean; detail: string }[]> {
  const cpu = new CpuBackend();
  const list = [{ name: 'cpu', available: true, detail: cpu.describe() }];
  cpu.dispose();
  try {
    const node = await createNodeDevice({ software: 'auto' });
    list.push({ name: 'webgpu', available: true, detail: `${node.isSoftware ? 'software adapter (never chosen by --backend auto): ' : ''}${node.info.vendor} ${node.info.architecture} ${node.info.description}`.trim() });
    node.destroy();
  } catch (err) {
    list.push({ name: 'webgpu', available: false, detail: (err as Error).message });
  }
  return list;
}
