export { BlasBackend, type BlasBackendOptions, resolveThreads } from './blasBackend.ts';
export { type BlasLibrary, BlasUnavailableError, DEFAULT_LIBRARIES, type PrecisionRoutines, type Real, loadBlas } from './library.ts';
