export { CpuBackend, type CpuBackendOptions } from './cpuBackend.ts';
export { TypedArrayBackend, type TypedArrayMatrix, type TypedArrayScalar, checkedPrecision } from './typedArrayBackend.ts';
