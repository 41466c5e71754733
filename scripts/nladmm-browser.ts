/**
 * Entry of the browser build (scripts/build-browser.mjs → dist/browser/nladmm.js): core, activations and both
 * backends in one ES module, so that the classes (and `instanceof` checks such as NotPositiveDefiniteError) are
 * shared. Get a device from navigator.gpu and pass it to `WebGpuBackend.create({ device })`.
 */
export * from '../packages/core/src/index.ts';
export * from '../packages/activations/src/index.ts';
export * from '../packages/cpu-backend/src/index.ts';
export * from '@nladmm/webgpu-backend';
