export { CpuBackend, type CpuBackendOptions } from './cpuBackend.ts';
