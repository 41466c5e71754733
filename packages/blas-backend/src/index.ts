export { BlasBackend, type BlasBackendOptions, resolveThreads } from './blasBackend.ts';
export { type BlasLibrary, BlasUnavailableError, DEFAULT_LIBRARIES, loadBlas } from './library.ts';
