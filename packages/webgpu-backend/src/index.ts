/**
 * @nladmm/webgpu-backend: the f32 WebGPU backend. Browser-safe: nothing here imports Node modules; in Node,
 * get a device from './node.ts' (createNodeDevice), in a browser from navigator.gpu.
 */
export { WebGpuBackend, type AdapterDescription, type WebGpuBackendOptions } from './webgpuBackend.ts';
export { type DeviceInfo, isSoftwareAdapter, requestComputeDevice } from './device.ts';
export { ShaderCompileError } from './pipelines.ts';
export { type ProfileEntry, type RuntimeStats } from './runtime.ts';
export { type GemmTuning } from './gemm.ts';
export { TILE_CONFIGS, type TileConfig, tileConfig } from './gemmTiles.ts';
