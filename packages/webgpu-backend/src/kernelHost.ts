/**
 * What the kernel families beside the backend (elementwiseKernels.ts, lossKernels.ts, the linear-algebra routines)
 * need of it: its runtime, its named workspaces and its buffer of device scalars.
 */
import type { GpuRuntime } from './runtime.ts';
import type { TrackedBuffer } from './shaders.ts';

export interface KernelHost {
  readonly runtime: GpuRuntime;
  /** A named scratch buffer of at least `bytes` bytes (grown on demand; one per name, reused across calls). */
  workspace(name: string, bytes: number): TrackedBuffer;
  /** The buffer of device scalars (replaced when it grows, hence a function). */
  scalarBuffer(): TrackedBuffer;
}
