export { CpuBackend, type CpuBackendOptions } from './cpuBackend.ts';
export { TypedArrayBackend, type TypedArrayMatrix, type TypedArrayScalar, checkedPrecision } from './typedArrayBackend.ts';
export * as elementwise from './elementwise.ts';
export type { DenseBlock } from './elementwise.ts';
