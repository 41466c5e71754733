// Bundles TypeScript entry points for browsers with esbuild (platform 'browser', ES modules), refusing any
// Node-only import: a `node:` specifier or a Node builtin (fs, path, …) anywhere in the module graph fails the
// build with the importing file named. Used by scripts/build-web-demo.mjs, the browser tests' page bundles and
// test/browser-bundle.test.ts.
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Node's builtin module names without the `node:` prefix (fs, fs/promises, path, …). */
export const NODE_BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));

/** Whether an import specifier names a Node builtin (`node:fs`, `fs`, `fs/promises`, …). */
export function isNodeBuiltin(specifier) {
  if (specifier.startsWith('node:')) return true;
  return NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]);
}

/** Browsers target: WebGPU ships from Chrome 113; ES2022 covers class private fields and top-level await. */
export const BROWSER_TARGET = ['es2022', 'chrome113', 'firefox121', 'safari17'];

/**
 * An esbuild plugin that records every Node builtin import (static or dynamic with a literal specifier) and fails
 * the build listing them. `forbiddenPackages` lists package names that must not appear either (e.g. the
 * `webgpu` npm package: Dawn for Node).
 */
export function nodeImportGuard({ forbiddenPackages = [] } = {}) {
  return {
    name: 'nladmm-node-import-guard',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const specifier = args.path;
        const forbiddenPackage = forbiddenPackages.find((p) => specifier === p || specifier.startsWith(`${p}/`));
        if (!isNodeBuiltin(specifier) && !forbiddenPackage) return undefined;
        // An error per offending import; esbuild keeps resolving, so every one of them is reported at once.
        return {
          errors: [
            {
              text: `Node-only import '${specifier}' (${args.kind}) in ${args.importer}: this module must run in a browser`,
              detail: { specifier, importer: args.importer, kind: args.kind },
            },
          ],
        };
      });
    },
  };
}

/**
 * Bundles `entryPoints` for browsers into `outdir` (or in memory with `write: false`). Throws when a Node-only
 * import is reached. `plugins`: more esbuild plugins, after the guard. Returns esbuild's result (with a metafile).
 */
export async function bundleForBrowser({
  entryPoints,
  outdir,
  write = true,
  minify = false,
  sourcemap = true,
  forbiddenPackages = ['webgpu'],
  define = {},
  logLevel = 'silent',
  absWorkingDir = repoRoot,
  plugins = [],
}) {
  return esbuild.build({
    entryPoints,
    outdir,
    write,
    absWorkingDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: BROWSER_TARGET,
    splitting: false,
    minify,
    sourcemap,
    metafile: true,
    logLevel,
    legalComments: 'none',
    // A dynamic import with a computed specifier (ActivationRegistry.registerModule) stays a browser import().
    logOverride: { 'unsupported-dynamic-import': 'silent' },
    define,
    // The guard first: it sees every import before another plugin resolves it.
    plugins: [nodeImportGuard({ forbiddenPackages }), ...plugins],
  });
}
