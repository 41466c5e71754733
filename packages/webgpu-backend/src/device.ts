/// <reference types="@webgpu/types" preserve="true" />
/**
 * A compute device from a WebGPU adapter, for Dawn in Node (node.ts) and navigator.gpu in the browser alike: the
 * adapter's largest storage and workgroup limits (the backend splits matrices by columns beyond
 * maxStorageBufferBindingSize and picks its Cholesky block size from the workgroup memory) and the useful optional
 * features, with a description of the adapter.
 */
import type { AdapterDescription } from './webgpuBackend.ts';

export interface DeviceInfo extends AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isSoftware: boolean;
  readonly isFallbackAdapter: boolean;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
}

const WANTED_FEATURES = ['subgroups', 'shader-f16', 'timestamp-query'];
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const isFallback = (info: GPUAdapterInfo) => (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;

/** Whether an adapter is a CPU implementation (SwiftShader, llvmpipe/lavapipe, WARP) or the fallback adapter. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  return isFallback(info) || /swiftshader|llvmpipe|lavapipe|software|warp/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/** Requests a device with the adapter's largest limits and the optional features it has. */
export async function requestComputeDevice(adapter: GPUAdapter, label = 'nladmm'): Promise<{ device: GPUDevice; info: DeviceInfo }> {
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label });
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
      isSoftware: isSoftwareAdapter(adapterInfo),
      isFallbackAdapter: isFallback(adapterInfo),
      features: [...device.features].map(String).sort(),
      limits,
    },
  };
}
