/**
 * Which compute backend a run uses. This is the one place that knows the backends: `auto` picks the best one
 * available (today the CPU), `cpu` and `webgpu` ask for one by name.
 */
import type { Backend, Precision } from '@nladmm/core';
import { CpuBackend } from '@nladmm/cpu-backend';
import { CliError } from './errors.ts';

export type BackendChoice = 'auto' | 'cpu' | 'webgpu';

export async function createBackend(choice: BackendChoice, precision: Precision): Promise<Backend> {
  switch (choice) {
    case 'auto':
    case 'cpu':
      return new CpuBackend({ precision });
    case 'webgpu':
      throw new CliError('webgpu backend not available');
  }
}

/** What `nladmm info` lists. */
export function describeBackends(): { name: string; available: boolean; detail: string }[] {
  const cpu = new CpuBackend();
  const detail = cpu.describe();
  cpu.dispose();
  return [
    { name: 'cpu', available: true, detail },
    { name: 'webgpu', available: false, detail: 'not available (not wired into the CLI yet)' },
  ];
}
