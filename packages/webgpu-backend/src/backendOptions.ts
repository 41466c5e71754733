/// <reference types="@webgpu/types" preserve="true" />
/**
 * The options of the WebGPU backend, checked against the device's limits, and the adapter's description.
 */
import type { GemmTuning } from './gemm.ts';

/** What the adapter says about itself (GPUAdapterInfo's fields, all optional). */
export interface AdapterDescription {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  /** Whether the adapter is a CPU implementation (SwiftShader, lavapipe). */
  readonly isSoftware?: boolean;
}

export interface WebGpuBackendOptions {
  readonly device: GPUDevice;
  /** Shown by describe(); defaults to device.adapterInfo when the implementation has it. */
  readonly adapterInfo?: AdapterDescription;
  /**
   * Largest storage buffer a matrix may occupy before it is split by columns (default: the device's
   * maxStorageBufferBindingSize). Tests force a small value to exercise the split path.
   */
  readonly maxBindingBytes?: number;
  /** GEMM tuning overrides (benchmarks). */
  readonly gemm?: Partial<GemmTuning>;
  /**
   * Block size of the Cholesky factorisation and the triangular solves: 64 (default where workgroup memory holds
   * two 64 × 65 f32 blocks) or 32.
   */
  readonly blockSize?: 32 | 64;
  /**
   * Fewest right-hand sides (solveLeft: columns of B; solveRight: rows) for which a solve multiplies by an explicit
   * L⁻¹ (built once per call, n³/3 flops) instead of running the blocked substitution (default 4·n). 0 forces the
   * inverse path, Infinity the substitution (tests compare the two).
   */
  readonly inverseSolveMinRhs?: number;
}

/** The options with their defaults, checked against the device. */
export interface ResolvedOptions {
  readonly maxBindingBytes: number;
  readonly blockSize: number;
  readonly inverseSolveMinRhs: number | undefined;
  readonly adapter: AdapterDescription;
  readonly gemm: GemmTuning;
}

/** The options with their defaults; throws a RangeError for one out of range or beyond the device's limits. */
export function resolveOptions(options: WebGpuBackendOptions): ResolvedOptions {
  const device = options.device;
  const limit = device.limits.maxStorageBufferBindingSize;
  const requested = options.maxBindingBytes ?? limit;
  if (!(requested >= 16)) throw new RangeError(`webgpu backend: maxBindingBytes must be ≥ 16, got ${requested}`);
  const maxBindingBytes = Math.min(requested, limit, device.limits.maxBufferSize);
  const fits = (nb: number) => device.limits.maxComputeWorkgroupStorageSize >= 2 * nb * (nb + 1) * 4 + nb * 4;
  if (options.blockSize !== undefined && (![32, 64].includes(options.blockSize) || !fits(options.blockSize))) {
    throw new RangeError(`webgpu backend: blockSize ${options.blockSize} is not 32 or 64, or does not fit the device's workgroup memory`);
  }
  const blockSize = options.blockSize ?? (fits(64) ? 64 : 32);
  if (options.inverseSolveMinRhs !== undefined && !(options.inverseSolveMinRhs >= 0)) {
    throw new RangeError(`webgpu backend: inverseSolveMinRhs must be ≥ 0, got ${options.inverseSolveMinRhs}`);
  }
  const info = options.adapterInfo ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const adapter: AdapterDescription = info
    ? {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
        isSoftware:
          (info as AdapterDescription).isSoftware ??
          /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`),
      }
    : {};
  // A software adapter (SwiftShader on a few cores) runs a few workgroups at once: split-K aims at that.
  const gemm: GemmTuning = { residentWorkgroups: adapter.isSoftware ? 8 : 264, maxPartialBytes: 256 << 20, ...options.gemm };
  return { maxBindingBytes, blockSize, inverseSolveMinRhs: options.inverseSolveMinRhs, adapter, gemm };
}
