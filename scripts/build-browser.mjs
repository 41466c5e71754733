#!/usr/bin/env node
// The browser build of the library: dist/browser/nladmm.js (+ .map), one ES module with @nladmm/core,
// @nladmm/activations, @nladmm/cpu-backend and @nladmm/webgpu-backend (scripts/nladmm-browser.ts), bundled by
// esbuild for platform 'browser'. The build fails on any Node-only import (see browser-bundle.mjs).
//
//   node scripts/build-browser.mjs [--out DIR] [--minify]
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, repoRoot } from './browser-bundle.mjs';

export const browserEntry = join(repoRoot, 'scripts', 'nladmm-browser.ts');

export async function buildBrowserLibrary({ outDir = join(repoRoot, 'dist', 'browser'), minify = false, write = true } = {}) {
  return bundleForBrowser({ entryPoints: { nladmm: browserEntry }, outdir: outDir, minify, write, sourcemap: true });
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
