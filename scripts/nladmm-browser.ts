/**
 * Entry of the browser build (scripts/build-browser.mjs → dist/browser/nladmm.js): core, activations and both
 * backends in one ES module, so that the classes (and `instanceof` checks such as NotPositiveDefiniteError) are
 * shared. Get a device from navigator.gpu and pass it to `WebGpuBackend.create({ device })`. Core's main entry only:
 * the dependency-injection container (`@nladmm/core/container`, inversify) is a module of its own,
 * dist/browser/nladmm-container.js (scripts/nladmm-browser-container.ts), which imports this one.
 */
export * from '../packages/core/src/index.ts';
export * from '../packages/activations/src/index.ts';
export * from '../packages/cpu-backend/src/index.ts';
export * from '@nladmm/webgpu-backend';
