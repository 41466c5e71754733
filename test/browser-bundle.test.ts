// The browser build: core, activations and webgpu-backend bundle for platform 'browser' (esbuild) without any
// Node-only import, and the guard that enforces it (scripts/browser-bundle.mjs) really refuses one; the library
// module (dist/browser/nladmm.js) has no inversify, the container module (nladmm-container.js) shares its classes.
// No browser needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

  it('builds dist/browser/nladmm.js: one module exporting the four packages, without inversify', async () => {
    const result = await buildBrowserLibrary({ write: false });
    const [name, output] = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('/nladmm.js'))!;
    expect(name).toMatch(/dist\/browser\/nladmm\.js$/);
    for (const symbol of ['Trainer', 'AdmmSolver', 'NotPositiveDefiniteError', 'createDefaultRegistry', 'sigmoid', 'CpuBackend', 'WebGpuBackend']) {
      expect(output.exports, symbol).toContain(symbol);
    }
    // The container is a module of its own (nladmm-container.js): no inversify unless a page imports it.
    expect(output.exports).not.toContain('createContainer');
    expect(Object.keys(output.inputs).filter((p) => /inversify|reflect-metadata|core\/src\/container\.ts$/.test(p))).toEqual([]);
  });

  it('builds dist/browser/nladmm-container.js: the container and inversify, importing core from ./nladmm.js', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'nladmm-browser-lib-'));
    try {
      const result = await buildBrowserLibrary({ outDir });
      const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('/nladmm-container.js'))![1];
      expect([...output.exports].sort()).toEqual(['TOKENS', 'createContainer', 'createEngine']);
      const inputs = Object.keys(output.inputs);
      expect(inputs.some((p) => /node_modules\/(\.pnpm\/)?inversify[@/]/.test(p))).toBe(true);
      // Of core only container.ts: the rest is imported from the library module.
      expect(inputs.filter((p) => p.includes('packages/')).map((p) => p.replace(/^.*packages\//, ''))).toEqual(['core/src/container.ts']);
      expect(output.imports.map((i) => i.path)).toContain('./nladmm.js');
      // Both modules share one copy of core: the engine's trainers are the library module's Trainer. (The modules
      // need no browser API to load, so Node imports them.)
      const lib = await import(pathToFileURL(join(outDir, 'nladmm.js')).href);
      const di = await import(pathToFileURL(join(outDir, 'nladmm-container.js')).href);
      const engine = di.createEngine(di.createContainer({ backend: new lib.CpuBackend(), activations: lib.createDefaultRegistry() }));
      const xs = [0, 0.5, 1];
      const trainer = await engine.createTrainer({ x: lib.hostMatrix(1, 3, xs), y: lib.hostMatrix(1, 3, xs) }, { layers: [1, 4, 1], activation: 'tanh', beta: 1, lambda: 1e-4, init: { scheme: 'msra', seed: 1 } });
      expect(trainer).toBeInstanceOf(lib.Trainer);
      expect((await trainer.run({ maxIterations: 2 })).iterations).toBe(2);
      trainer.dispose();
      engine.backend.dispose();
    } finally {
      rmSync(outDir, { recursive: true, force: true });
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
