// The API reference (`pnpm run docs`): TypeDoc with the repository's typedoc.json (packages mode, a typedoc.json per
// package, warnings as errors, unexported and unresolved references validated) builds into a temporary folder with no
// warning, with a page for the main names of every documented package. Also: each package's typedoc.json documents
// exactly the entry points its package.json exports, and the CLI and the web demo stay out of the reference.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const typedocBin = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
const BUILD_TIMEOUT_MS = 110_000;

interface RootConfig {
  readonly entryPointStrategy: string;
  readonly entryPoints: readonly string[];
  readonly out: string;
  readonly treatWarningsAsErrors: boolean;
  readonly validation: Record<string, boolean>;
}
const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as RootConfig;

function run(file: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Every file under `dir`, relative to it, with `/` separators. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out;
}

describe('the configuration', () => {
  it('documents the library packages in packages mode, with warnings as errors and link validation', () => {
    expect(config.entryPointStrategy).toBe('packages');
    expect(config.out).toBe('docs/api');
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.validation).toMatchObject({ notExported: true, invalidLink: true });
    expect([...config.entryPoints].sort()).toEqual(
      ['activations', 'blas-backend', 'core', 'cpu-backend', 'losses', 'mpi', 'webgpu-backend'].map((p) => `packages/${p}`),
    );
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('docs/api/');
  });

  it.each(config.entryPoints)("%s: typedoc.json's entry points are the package's exports", (dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { exports: Record<string, string> };
    const own = JSON.parse(readFileSync(join(root, dir, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const exported = Object.values(pkg.exports).filter((p) => typeof p === 'string' && p.endsWith('.ts')).map((p) => p.replace(/^\.\//, ''));
    expect([...own.entryPoints].sort()).toEqual(exported.sort());
  });
});

describe('the API reference', () => {
  let out: string;
  let build: { code: number; output: string };
  let files: string[] = [];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'nladmm-api-docs-'));
    // The WebGPU backend imports the generated shader module (git-ignored; scripts/setup.sh writes it).
    if (!existsSync(join(root, 'packages', 'webgpu-backend', 'src', 'shaders.generated.ts'))) {
      const embed = await run(process.execPath, [join(root, 'scripts', 'embed-shaders.mjs')]);
      expect(embed.code, embed.output).toBe(0);
    }
    build = await run(process.execPath, [typedocBin, '--out', out, '--treatWarningsAsErrors']);
    if (build.code === 0) files = filesUnder(out);
  }, BUILD_TIMEOUT_MS + 10_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds with no warning and no error', () => {
    const plain = build.output.replace(/\x1b\[[0-9;]*m/g, '');
    expect(build.code, plain).toBe(0);
    expect(plain).not.toMatch(/\[(warning|error)\]/);
    expect(files).toContain('index.html');
  });

  it('has a module page for every package and none for the CLI or the web demo', () => {
    for (const name of ['core', 'activations', 'losses', 'cpu-backend', 'blas-backend', 'webgpu-backend', 'mpi']) {
      expect(files, name).toContain(`modules/_nladmm_${name}.html`);
    }
    for (const entry of ['core.container', 'activations.node', 'losses.node', 'webgpu-backend.node']) {
      expect(files, entry).toContain(`modules/_nladmm_${entry}.html`);
    }
    expect(files.filter((f) => /_nladmm_(cli|web-demo)\b/.test(f))).toEqual([]);
  });

  // name → the package (and entry point) that documents it
  it.each([
    ['Trainer', 'core.index'],
    ['Backend', 'core.index'],
    ['Communicator', 'core.index'],
    ['createEngine', 'core.container'],
    ['WebGpuBackend', 'webgpu-backend.index'],
    ['createNodeDevice', 'webgpu-backend.node'],
    ['BlasBackend', 'blas-backend'],
    ['CpuBackend', 'cpu-backend'],
    ['crossEntropy', 'losses.index'],
    ['sigmoid', 'activations.index'],
    ['MpiCommunicator', 'mpi'],
  ])('has a page for %s (@nladmm/%s)', (name, where) => {
    const page = files.find((f) => f.endsWith(`/_nladmm_${where}.${name}.html`));
    expect(page, `no page for ${name} among ${files.filter((f) => f.includes(`.${name}.`)).join(', ') || 'none'}`).toBeDefined();
    const html = readFileSync(join(out, page!), 'utf8');
    expect(html).toMatch(new RegExp(`<title>${name} \\|`));
  });

  it('uses the README as the index page', () => {
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('Using the library');
  });
});
