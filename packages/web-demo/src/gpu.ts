/// <reference types="@webgpu/types" />
/**
 * WebGPU in the browser: a device from navigator.gpu with the adapter's largest storage limits (the backend splits
 * matrices by columns beyond maxStorageBufferBindingSize and picks its Cholesky block size from the workgroup
 * memory), and a description of the adapter for the page.
 */
import type { AdapterDescription } from '@nladmm/webgpu-backend';

export interface BrowserAdapterInfo extends AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isSoftware: boolean;
  readonly isFallbackAdapter: boolean;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
}

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

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const WANTED_FEATURES = ['subgroups', 'shader-f16', 'timestamp-query'];

function isSoftware(info: GPUAdapterInfo): boolean {
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /swiftshader|llvmpipe|lavapipe|software|warp/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
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
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await within('requestDevice', adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'nladmm' }));
  const adapterInfo = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) limits[name] = (device.limits as unknown as Record<string, number>)[name];
  return {
    device,
    info: {
      vendor: adapterInfo.vendor,
      architecture: adapterInfo.architecture,
      device: adapterInfo.device,
      description: adapterInfo.description,
      isSoftware: isSoftware(adapterInfo),
      isFallbackAdapter: (adapterInfo as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
      features: [...device.features].map(String).sort(),
      limits,
    },
  };
}
