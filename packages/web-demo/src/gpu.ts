/// <reference types="@webgpu/types" />
/**
 * WebGPU in the browser: a device from navigator.gpu with the adapter's largest storage limits (the backend splits
 * matrices by columns beyond maxStorageBufferBindingSize and picks its Cholesky block size from the workgroup
 * memory), and a description of the adapter for the page.
 */
import { type DeviceInfo, requestComputeDevice } from '@nladmm/webgpu-backend';

/** What requestBrowserGpu reports about its adapter and device. */
export type BrowserAdapterInfo = DeviceInfo;

export interface BrowserGpu {
  readonly device: GPUDevice;
  readonly info: BrowserAdapterInfo;
}

/** Why WebGPU could not be used (shown in the page's notice). */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

/**
 * A WebGPU device from `gpu` (default navigator.gpu). Throws {@link WebGpuUnavailableError} when the browser has no
 * WebGPU, no adapter, or refuses a device; `timeoutMs` bounds the wait for each step.
 */
export async function requestBrowserGpu(gpu: GPU | undefined = (globalThis.navigator as Navigator | undefined)?.gpu, timeoutMs = 20_000): Promise<BrowserGpu> {
  if (!gpu) throw new WebGpuUnavailableError('this browser has no WebGPU (navigator.gpu is undefined; it needs a secure context: https or http://127.0.0.1)');
  const within = <T>(what: string, promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WebGpuUnavailableError(`${what} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(new WebGpuUnavailableError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`));
        },
      );
    });
  const adapter =
    (await within('requestAdapter', gpu.requestAdapter({ powerPreference: 'high-performance' }))) ??
    (await within('requestAdapter (fallback)', gpu.requestAdapter({ forceFallbackAdapter: true })));
  if (!adapter) throw new WebGpuUnavailableError('navigator.gpu.requestAdapter() found no adapter (WebGPU may be disabled or blocklisted for this GPU)');
  return within('requestDevice', requestComputeDevice(adapter));
}
