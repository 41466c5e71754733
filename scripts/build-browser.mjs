#!/usr/bin/env node
// The browser build of the library, into dist/browser/ (each with a .map), bundled by esbuild for platform 'browser'
// (the build fails on any Node-only import, see browser-bundle.mjs):
//   nladmm.js            one ES module with @nladmm/core, @nladmm/activations, @nladmm/cpu-backend and
//                        @nladmm/webgpu-backend (scripts/nladmm-browser.ts); no inversify.
//   nladmm-container.js  @nladmm/core/container (createContainer, createEngine, TOKENS) with inversify
//                        (scripts/nladmm-browser-container.ts). Its imports of core are `import … from './nladmm.js'`,
//                        so both modules share one copy of core's classes; a page that never imports it never loads
//                        inversify.
//
//   node scripts/build-browser.mjs [--out DIR] [--minify]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, repoRoot } from './browser-bundle.mjs';

export const browserEntry = join(repoRoot, 'scripts', 'nladmm-browser.ts');
export const browserContainerEntry = join(repoRoot, 'scripts', 'nladmm-browser-container.ts');
const containerModule = join(repoRoot, 'packages', 'core', 'src', 'container.ts');

/**
 * An esbuild plugin: the relative imports of core's container module (its imports of the rest of core) become the
 * external `./nladmm.js`, which re-exports all of core's main entry.
 */
export function coreFromLibraryModule() {
  return {
    name: 'nladmm-core-from-library-module',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.importer !== containerModule) return undefined;
        if (dirname(resolve(dirname(args.importer), args.path)) !== dirname(containerModule)) return undefined;
        return { path: './nladmm.js', external: true };
      });
    },
  };
}

export async function buildBrowserLibrary({ outDir = join(repoRoot, 'dist', 'browser'), minify = false, write = true } = {}) {
  return bundleForBrowser({
    entryPoints: { nladmm: browserEntry, 'nladmm-container': browserContainerEntry },
    outdir: outDir,
    minify,
    write,
    sourcemap: true,
    plugins: [coreFromLibraryModule()],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = outIndex >= 0 ? resolve(args[outIndex + 1]) : undefined;
  try {
    const result = await buildBrowserLibrary({ outDir, minify: args.includes('--minify') });
    for (const [file, info] of Object.entries(result.metafile.outputs)) console.error(`build-browser: ${file} (${(info.bytes / 1024).toFixed(0)} KiB)`);
  } catch (err) {
    console.error(err?.errors?.length ? err.errors.map((e) => e.text).join('\n') : err?.message ?? err);
    process.exit(1);
  }
}
