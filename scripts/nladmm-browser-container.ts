/**
 * Entry of the browser build's container module (scripts/build-browser.mjs → dist/browser/nladmm-container.js):
 * `@nladmm/core/container` (createContainer, createEngine, TOKENS) and inversify. Its imports of core come from
 * `./nladmm.js` (left external by the build), so it shares the classes of the library module; a page that does not
 * import it never loads inversify.
 */
export * from '../packages/core/src/container.ts';
