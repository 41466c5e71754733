// The browser build: core, activations and webgpu-backend bundle for platform 'browser' (esbuild) without any
// Node-only import, and the guard that enforces it (scripts/browser-bundle.mjs) really refuses one. No browser
// needed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, isNodeBuiltin, repoRoot } from '../scripts/browser-bundle.mjs';
import { buildBrowserLibrary } from '../scripts/build-browser.mjs';

const BROWSER_ENTRIES = {
  core: join(repoRoot, 'packages', 'core', 'src', 'index.ts'),
  activations: join(repoRoot, 'packages', 'activations', 'src', 'index.ts'),
  'webgpu-backend': join(repoRoot, 'packages', 'webgpu-backend', 'src', 'index.ts'),
  'cpu-backend': join(repoRoot, 'packages', 'cpu-backend', 'src', 'index.ts'),
};

/** Esbuild's error texts, or [] when the build succeeded. */
async function buildErrors(entryPoints: Record<string, string>): Promise<string[]> {
  try {
    await bundleForBrowser({ entryPoints, outdir: '/nonexistent-out', write: false, sourcemap: false });
    return [];
  } catch (err) {
    const errors = (err as { errors?: { text: string }[] }).errors;
    if (!errors) throw err;
    return errors.map((e) => e.text);
  }
}

describe('browser bundle of the library packages', () => {
  it('recognises Node builtins', () => {
    for (const s of ['node:fs', 'fs', 'fs/promises', 'path', 'node:worker_threads', 'child_process', 'zlib']) expect(isNodeBuiltin(s), s).toBe(true);
    for (const s of ['inversify', '@nladmm/core', './fs', 'webgpu', 'paths']) expect(isNodeBuiltin(s), s).toBe(false);
  });

  it('bundles core, activations, webgpu-backend and cpu-backend for platform browser with no Node-only code', async () => {
    const result = await bundleForBrowser({ entryPoints: BROWSER_ENTRIES, outdir: join(repoRoot, '.bundle-check'), write: false, sourcemap: false });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    // The Node providers stay out: Dawn's `webgpu` package and the packages' node.ts entries.
    expect(inputs.filter((p) => /node_modules\/(\.pnpm\/)?webgpu[@/]/.test(p) || /\/src\/node\.ts$/.test(p))).toEqual([]);
    expect(inputs.some((p) => p.endsWith('packages/webgpu-backend/src/webgpuBackend.ts'))).toBe(true);
    expect(result.outputFiles?.length).toBe(4);
    for (const file of result.outputFiles ?? []) {
      const text = file.text;
      // No CommonJS or Node globals left for a browser to trip on.
      expect(text, file.path).not.toMatch(/\brequire\s*\(\s*["'`]/);
      expect(text, file.path).not.toMatch(/\bprocess\.(env|versions|platform|argv)\b/);
      expect(text, file.path).not.toMatch(/__dirname|__filename/);
      expect(text, file.path).not.toMatch(/from\s*["']node:|import\s*\(\s*["']node:/);
    }
  });

  it('builds dist/browser/nladmm.js: one module exporting the four packages', async () => {
    const result = await buildBrowserLibrary({ write: false });
    const [name, output] = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('nladmm.js'))!;
    expect(name).toMatch(/dist\/browser\/nladmm\.js$/);
    for (const symbol of ['Trainer', 'AdmmSolver', 'createContainer', 'NotPositiveDefiniteError', 'createDefaultRegistry', 'sigmoid', 'CpuBackend', 'WebGpuBackend']) {
      expect(output.exports, symbol).toContain(symbol);
    }
  });

  it('refuses a Node-only import, naming it and its importer', async () => {
    const errors = await buildErrors({
      node: join(repoRoot, 'packages', 'activations', 'src', 'node.ts'),
      dawn: join(repoRoot, 'packages', 'webgpu-backend', 'src', 'node.ts'),
    });
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors.join('\n')).toMatch(/Node-only import 'node:fs\/promises' \(import-statement\) in .*packages\/activations\/src\/node\.ts/);
    expect(errors.join('\n')).toMatch(/Node-only import 'node:module' .*packages\/webgpu-backend\/src\/node\.ts/);
    expect(errors.join('\n')).toMatch(/Node-only import 'webgpu' \(dynamic-import\)/);
  });
});
