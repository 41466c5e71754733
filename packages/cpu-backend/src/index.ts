export { CpuBackend, type CpuBackendOptions } from './cpuBackend.ts';
export { TypedArrayBackend, type TypedArrayMatrix, type TypedArrayScalar, type Allocation, checkedPrecision } from './typedArrayBackend.ts';
export type { Storage, Strided } from './gemm.ts';
export * as elementwise from './elementwise.ts';
export type { DenseBlock } from './elementwise.ts';
