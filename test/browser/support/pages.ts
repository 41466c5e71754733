/**
 * Builds the browser tests' own page (test/browser/pages/gpu-checks.ts) into a folder: an index.html that loads the
 * bundle, and the library's browser build (scripts/build-browser.mjs), made by the same esbuild set-up as the demo (platform 'browser', Node-only imports refused).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleForBrowser, repoRoot } from '../../../scripts/browser-bundle.mjs';
import { buildBrowserLibrary } from '../../../scripts/build-browser.mjs';

const PAGE = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>nladmm browser checks</title><link rel="icon" href="data:," /></head>
  <body data-ready="false"><p>nladmm: WebGPU checks (driven by test/browser/webgpu.test.ts)</p>
  <script type="module" src="gpu-checks.js"></script></body>
</html>
`;

export async function buildChecksPage(outDir: string): Promise<void> {
  await bundleForBrowser({
    entryPoints: { 'gpu-checks': join(repoRoot, 'test', 'browser', 'pages', 'gpu-checks.ts') },
    outdir: outDir,
    sourcemap: true,
  });
  // The library's browser build too (nladmm.js), for a page that imports it as a plain ES module.
  await buildBrowserLibrary({ outDir });
  writeFileSync(join(outDir, 'index.html'), PAGE);
}
