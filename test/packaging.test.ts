// The publishable packages as a user installs them: built with tsc (tsconfig.build.json), packed with pnpm
// (scripts/pack-packages.mjs: publishConfig points exports/types/bin at dist/, workspace:* becomes the version) and
// installed from the tarballs with plain npm into a folder outside the repository (test/support/packedInstall.ts).
// Checks the packed manifests, imports every entry from plain Node (no tsx) and trains a little, runs the installed
// `nladmm` bin, type-checks an app under NodeNext and Bundler resolution (skipLibCheck off), and bundles two browser
// apps with esbuild: one without `@nladmm/core/container` (no inversify in it) and one with it.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../scripts/browser-bundle.mjs';
import { publishablePackages, repoRoot } from '../scripts/pack-packages.mjs';
import { PACKED_INSTALL_TIMEOUT_MS, installPackedPackages, packedInstallInfo } from './support/packedInstall.ts';

const exec = promisify(execFile);

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  description?: string;
  type?: string;
  sideEffects?: boolean;
  files?: string[];
  engines?: Record<string, string>;
  repository?: { type: string; url: string; directory: string };
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports: Record<string, string | Record<string, string | null>>;
  dependencies?: Record<string, string>;
  publishConfig?: Record<string, unknown>;
}

const packages = publishablePackages();
const repoManifests = new Map(packages.map((p) => [p.name, JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) as Manifest]));
/** Every entry a user can import: `@nladmm/core`, `@nladmm/core/container`, `@nladmm/activations/node`, … */
const ENTRIES = packages.flatMap((p) => Object.keys(repoManifests.get(p.name)!.exports).filter((k) => k !== './package.json').map((k) => (k === '.' ? p.name : `${p.name}/${k.slice(2)}`)));
/** The entries that run in a browser (no Node-only code): the others refuse the `browser` condition. */
const BROWSER_ENTRIES = ['@nladmm/core', '@nladmm/core/container', '@nladmm/activations', '@nladmm/losses', '@nladmm/cpu-backend', '@nladmm/webgpu-backend'];
const TSC = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

let app: string;
/** This test file's own folder inside the shared app folder (other test files use the same app at the same time). */
let work: string;
const tarballs = new Map<string, { manifest: Manifest; files: string[] }>();

beforeAll(async () => {
  const started = performance.now();
  app = await installPackedPackages();
  const info = packedInstallInfo(app);
  console.log(
    `packaging: app folder ${app} ready in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(when it was made: build + pack ${(info.buildAndPackMs / 1000).toFixed(1)} s, npm install ${(info.installMs / 1000).toFixed(1)} s)`,
  );
  work = join(app, `packaging-test-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  for (const [name, tarball] of Object.entries(info.tarballs)) {
    const path = join(app, tarball);
    const manifest = JSON.parse((await exec('tar', ['-xzOf', path, 'package/package.json'])).stdout) as Manifest;
    const files = (await exec('tar', ['-tzf', path])).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    tarballs.set(name, { manifest, files });
  }
}, PACKED_INSTALL_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs an ES module given as text with plain Node in the work folder; returns its stdout. */
async function node(source: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', source], { cwd: work, env: { ...process.env, NODE_OPTIONS: '', ...env }, maxBuffer: 16 << 20 });
  return stdout;
}

describe('the workspace manifests', () => {
  it('give every publishable package the same version (the CLI reports it too)', () => {
    const versions = new Set(packages.map((p) => p.version));
    expect([...versions], packages.map((p) => `${p.name} ${p.version}`).join(', ')).toHaveLength(1);
    const cliVersion = /VERSION = '([^']+)'/.exec(readFileSync(join(repoRoot, 'packages', 'cli', 'src', 'version.ts'), 'utf8'))?.[1];
    expect(cliVersion).toBe(packages[0]!.version);
    expect(packages.map((p) => p.name).sort()).toEqual(
      ['@nladmm/activations', '@nladmm/blas-backend', '@nladmm/cli', '@nladmm/core', '@nladmm/cpu-backend', '@nladmm/losses', '@nladmm/mpi', '@nladmm/webgpu-backend'],
    );
  });

  it('keep exports at src/ in the repository, and reference each @nladmm dependency in tsconfig.build.json', () => {
    const root = ts.readConfigFile(join(repoRoot, 'tsconfig.build.json'), ts.sys.readFile).config as { references: { path: string }[] };
    for (const { name, dir } of packages) {
      const manifest = repoManifests.get(name)!;
      for (const target of Object.values(manifest.exports)) expect(target, name).toMatch(/^\.\/(src\/.*\.ts|package\.json)$/);
      const config = ts.readConfigFile(join(dir, 'tsconfig.build.json'), ts.sys.readFile).config as { references?: { path: string }[] };
      const referenced = (config.references ?? []).map((r) => JSON.parse(readFileSync(join(dir, r.path.replace(/tsconfig\.build\.json$/, ''), 'package.json'), 'utf8')).name as string).sort();
      const deps = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@nladmm/')).sort();
      expect(referenced, `${name}: tsconfig.build.json references`).toEqual(deps);
      expect(root.references.map((r) => r.path), 'root tsconfig.build.json').toContain(`${relative(repoRoot, dir)}/tsconfig.build.json`);
    }
  });
});

describe('the packed packages', () => {
  it('pack every publishable package, with dist/, the LICENSE and a README', () => {
    expect([...tarballs.keys()].sort()).toEqual(packages.map((p) => p.name).sort());
    for (const [name, { files }] of tarballs) {
      expect(files, name).toContain('LICENSE');
      expect(files, name).toContain('README.md');
      expect(files, name).toContain('package.json');
      expect(files.some((f) => f.startsWith('dist/') && f.endsWith('.js')), name).toBe(true);
      expect(files.filter((f) => /tsbuildinfo/.test(f)), name).toEqual([]);
      for (const f of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
        for (const suffix of ['.map', '']) expect(files, `${name}: ${f}`).toContain(`${f.replace(/\.js$/, '.d.ts')}${suffix}`);
        expect(files, `${name}: ${f}`).toContain(`${f}.map`);
      }
    }
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('have manifests without workspace: or private, with exports, types and bin in dist/', () => {
    const version = packages[0]!.version;
    for (const [name, { manifest, files }] of tarballs) {
      const text = JSON.stringify(manifest);
      expect(text, name).not.toContain('workspace:');
      expect(manifest.private, name).toBeUndefined();
      expect(manifest.version, name).toBe(version);
      expect(manifest.license, name).toBe('MIT');
      expect(manifest.type, name).toBe('module');
      expect(manifest.description, name).toBeTruthy();
      expect(manifest.engines, name).toEqual({ node: '>=20' });
      expect(manifest.repository, name).toEqual({ type: 'git', url: 'git+https://github.com/nladmm/nladmm.git', directory: `packages/${name.slice('@nladmm/'.length)}` });
      expect(manifest.files, name).toContain('dist');
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) if (dep.startsWith('@nladmm/')) expect(range, `${name} → ${dep}`).toBe(version);
      // Every export: types first, then import, both in the tarball's dist/.
      for (const [key, target] of Object.entries(manifest.exports)) {
        if (key === './package.json') continue;
        expect(typeof target, `${name} ${key}`).toBe('object');
        const conditions = target as Record<string, string | null>;
        expect(Object.keys(conditions)[0], `${name} ${key}`).toBe('types');
        for (const condition of ['types', 'import']) {
          expect(conditions[condition], `${name} ${key} ${condition}`).toMatch(/^\.\/dist\//);
          expect(files, `${name} ${key} ${condition}`).toContain(conditions[condition]!.slice(2));
        }
        // The Node-only entries refuse browser bundlers; the others have no browser condition.
        if (BROWSER_ENTRIES.includes(key === '.' ? name : `${name}/${key.slice(2)}`)) expect('browser' in conditions, `${name} ${key}`).toBe(false);
        else expect(conditions.browser, `${name} ${key}`).toBeNull();
      }
      expect(manifest.main, name).toBe((manifest.exports['.'] as Record<string, string>).import);
      expect(manifest.types, name).toBe((manifest.exports['.'] as Record<string, string>).types);
    }
    const cli = tarballs.get('@nladmm/cli')!;
    expect(cli.manifest.bin).toEqual({ nladmm: './bin/nladmm-dist.mjs' });
    expect(cli.files).toContain('bin/nladmm-dist.mjs');
    expect(cli.files).not.toContain('bin/nladmm.mjs');
    for (const name of ['@nladmm/core', '@nladmm/activations', '@nladmm/losses', '@nladmm/cpu-backend', '@nladmm/webgpu-backend']) expect(tarballs.get(name)!.manifest.sideEffects, name).toBe(false);
    // inversify is core's only dependency; the d.ts of the WebGPU backend reference @webgpu/types, so it is a dependency.
    expect(Object.keys(tarballs.get('@nladmm/core')!.manifest.dependencies ?? {})).toEqual(['inversify']);
    expect(tarballs.get('@nladmm/webgpu-backend')!.manifest.dependencies).toHaveProperty('@webgpu/types');
  });
});

describe('the installed packages', () => {
  it('import from plain Node 20, every entry from its dist/', async () => {
    const out = JSON.parse(
      await node(`
        const result = {};
        for (const spec of ${JSON.stringify(ENTRIES)}) {
          const mod = await import(spec);
          result[spec] = { url: import.meta.resolve(spec), exports: Object.keys(mod) };
        }
        console.log(JSON.stringify(result));
      `),
    ) as Record<string, { url: string; exports: string[] }>;
    const expected: Record<string, string[]> = {
      '@nladmm/core': ['Trainer', 'AdmmSolver', 'hostMatrix', 'paperStepRule', 'ActivationRegistry', 'CheckedBackend'],
      '@nladmm/core/container': ['createContainer', 'createEngine', 'TOKENS'],
      '@nladmm/activations': ['createDefaultRegistry', 'builtinActivations', 'sigmoid', 'tanh'],
      '@nladmm/activations/node': ['loadActivationPluginFile', 'loadActivationPlugin'],
      '@nladmm/losses': ['crossEntropy', 'builtinLosses'],
      '@nladmm/losses/node': ['loadLossPluginFile', 'loadLossPlugin'],
      '@nladmm/cpu-backend': ['CpuBackend', 'TypedArrayBackend'],
      '@nladmm/blas-backend': ['BlasBackend', 'BlasUnavailableError'],
      '@nladmm/webgpu-backend': ['WebGpuBackend'],
      '@nladmm/webgpu-backend/node': ['createNodeDevice'],
      '@nladmm/mpi': [],
      '@nladmm/cli': ['runCli'],
    };
    expect(Object.keys(out).sort()).toEqual(Object.keys(expected).sort());
    for (const [spec, names] of Object.entries(expected)) {
      const url = out[spec]!.url;
      expect(url, spec).toMatch(new RegExp(`/node_modules/${spec.split('/').slice(0, 2).join('/')}/dist/[^/]+\\.js$`));
      expect(realpathSync(new URL(url)).startsWith(realpathSync(app)), `${spec} resolved outside the app folder: ${url}`).toBe(true);
      for (const name of names) expect(out[spec]!.exports, spec).toContain(name);
    }
  });

  it('train 3 iterations with Trainer.create and through createEngine of @nladmm/core/container', async () => {
    const out = JSON.parse(
      await node(`
        import { Trainer, hostMatrix, paperStepRule } from '@nladmm/core';
        import { createContainer, createEngine } from '@nladmm/core/container';
        import { createDefaultRegistry } from '@nladmm/activations';
        import { CpuBackend } from '@nladmm/cpu-backend';
        const xs = Array.from({ length: 40 }, (_, k) => -1 + k / 20);
        const data = { x: hostMatrix(1, 40, xs), y: hostMatrix(1, 40, xs.map((v) => v * v)) };
        const config = { layers: [1, 8, 1], beta: 1, lambda: 1e-4, stepRule: paperStepRule, init: { scheme: 'msra', seed: 1 } };
        const backend = new CpuBackend();
        const trainer = await Trainer.create(backend, data, { ...config, activation: createDefaultRegistry().get('tanh') });
        const direct = await trainer.run({ maxIterations: 3 });
        trainer.dispose();
        const engine = createEngine(createContainer({ backend, activations: createDefaultRegistry() }));
        const viaEngine = await engine.createTrainer(data, { ...config, activation: 'tanh' });
        const engineResult = await viaEngine.run({ maxIterations: 3 });
        viaEngine.dispose();
        backend.dispose();
        console.log(JSON.stringify({ iterations: direct.iterations, loss: direct.final.trainLoss, engineIterations: engineResult.iterations, engineLoss: engineResult.final.trainLoss, backend: engine.backend.name }));
      `),
    ) as { iterations: number; loss: number; engineIterations: number; engineLoss: number; backend: string };
    console.log(`packaging: 3 iterations from the installed packages, train loss ${out.loss} (Trainer.create), ${out.engineLoss} (createEngine)`);
    expect(out.iterations).toBe(3);
    expect(out.engineIterations).toBe(3);
    expect(Number.isFinite(out.loss) && out.loss > 0).toBe(true);
    // The same configuration, data and seed: the same iterates.
    expect(out.engineLoss).toBe(out.loss);
    expect(out.backend).toBe('cpu');
  });

  it('run the installed nladmm bin from dist/ (an .mjs plugin included)', async () => {
    const link = join(app, 'node_modules', '.bin', 'nladmm');
    expect(readlinkSync(link)).toMatch(/@nladmm\/cli\/bin\/nladmm-dist\.mjs$/);
    const bin = readFileSync(realpathSync(link), 'utf8');
    expect(bin).toContain("'../dist/main.js'");
    expect(bin).not.toMatch(/src\/main\.ts/);
    const env = { ...process.env, NODE_OPTIONS: '' };
    const version = await exec('npx', ['--no-install', 'nladmm', '--version'], { cwd: work, env });
    expect(version.stdout.trim()).toBe(packages[0]!.version);
    const info = JSON.parse((await exec('npx', ['--no-install', 'nladmm', 'info', '--json'], { cwd: work, env })).stdout) as { nladmm: string; packages: Record<string, string>; backends: { name: string; available: boolean }[] };
    expect(info.nladmm).toBe(packages[0]!.version);
    for (const version of Object.values(info.packages)) expect(version).toBe(packages[0]!.version);
    expect(info.backends.find((b) => b.name === 'cpu')?.available).toBe(true);
    cpSync(join(repoRoot, 'test', 'fixtures', 'plugins', 'softclip.mjs'), join(work, 'softclip.mjs'));
    const train = await exec('npx', ['--no-install', 'nladmm', 'train', '--dataset', 'square', '--layers', '1,6,1', '--n-train', '30', '--n-test', '0', '--activation', './softclip.mjs', '--backend', 'cpu', '--iterations', '3', '--out', 'run', '--no-plots', '--quiet'], { cwd: work, env });
    expect(train.stderr).not.toMatch(/error/i);
    expect(JSON.parse(readFileSync(join(work, 'run', 'config.json'), 'utf8'))).toBeTruthy();
  });
});

describe('an app of the installed packages', () => {
  /** A TypeScript app importing every entry, with a few typed uses. */
  const APP = `
import * as core from '@nladmm/core';
import { type Backend, type TrainResult, Trainer, hostMatrix, paperStepRule } from '@nladmm/core';
import * as container from '@nladmm/core/container';
import { type Engine, createContainer, createEngine } from '@nladmm/core/container';
import * as activations from '@nladmm/activations';
import { createDefaultRegistry } from '@nladmm/activations';
import * as activationsNode from '@nladmm/activations/node';
import * as losses from '@nladmm/losses';
import * as lossesNode from '@nladmm/losses/node';
import * as cpu from '@nladmm/cpu-backend';
import { CpuBackend } from '@nladmm/cpu-backend';
import * as blas from '@nladmm/blas-backend';
import * as webgpu from '@nladmm/webgpu-backend';
import * as webgpuNode from '@nladmm/webgpu-backend/node';
import * as mpi from '@nladmm/mpi';
import * as cli from '@nladmm/cli';

export const modules = [core, container, activations, activationsNode, losses, lossesNode, cpu, blas, webgpu, webgpuNode, mpi, cli] as const;

export async function train(): Promise<number> {
  const backend: Backend = new CpuBackend();
  const xs = Array.from({ length: 20 }, (_, k) => -1 + k / 10);
  const data = { x: hostMatrix(1, 20, xs), y: hostMatrix(1, 20, xs.map((v) => v * v)) };
  const trainer = await Trainer.create(backend, data, { layers: [1, 4, 1], activation: createDefaultRegistry().get('tanh'), beta: 1, lambda: 1e-4, stepRule: paperStepRule, init: { scheme: 'msra', seed: 1 } });
  const result: TrainResult = await trainer.run({ maxIterations: 3 });
  const engine: Engine = createEngine(createContainer({ backend, activations: createDefaultRegistry() }));
  const plugin: Promise<activationsNode.LoadedPlugin> = activationsNode.loadActivationPluginFile(engine.activations, './plugin.mjs');
  void plugin;
  const code: Promise<number> = cli.runCli(['--version']);
  void code;
  const gpu: Promise<webgpuNode.NodeDevice> = webgpuNode.createNodeDevice();
  void gpu;
  const cross: core.Loss = losses.crossEntropy;
  void cross;
  return result.final.trainLoss;
}
`;
  /** A browser app: only the browser entries, no @types/node. */
  const BROWSER_APP = `
import { Trainer, hostMatrix, paperStepRule } from '@nladmm/core';
import { createContainer, createEngine } from '@nladmm/core/container';
import { createDefaultRegistry } from '@nladmm/activations';
import { crossEntropy } from '@nladmm/losses';
import { CpuBackend } from '@nladmm/cpu-backend';
import { WebGpuBackend } from '@nladmm/webgpu-backend';

export async function run(device: GPUDevice): Promise<number> {
  const backend = await WebGpuBackend.create({ device });
  const data = { x: hostMatrix(1, 4, [0, 1, 2, 3]), y: hostMatrix(1, 4, [0, 1, 4, 9]) };
  const trainer = await Trainer.create(backend, data, { layers: [1, 4, 1], activation: createDefaultRegistry().get('sigmoid'), beta: 1, lambda: 1e-3, stepRule: paperStepRule, init: { scheme: 'msra', seed: 1 } });
  const engine = createEngine(createContainer({ backend: new CpuBackend(), activations: createDefaultRegistry(), loss: crossEntropy }));
  void engine;
  return (await trainer.run({ maxIterations: 3 })).final.trainLoss;
}
`;
  const COMMON = { target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, isolatedModules: true, verbatimModuleSyntax: true, forceConsistentCasingInFileNames: true };
  const CONFIGS: Record<string, { compilerOptions: Record<string, unknown>; files: string[] }> = {
    nodenext: { compilerOptions: { ...COMMON, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: ['node'] }, files: ['app.ts'] },
    bundler: { compilerOptions: { ...COMMON, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: ['node'] }, files: ['app.ts'] },
    // The browser entries alone, without @types/node: they use no Node type.
    browser: { compilerOptions: { ...COMMON, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [] }, files: ['browser-app.ts'] },
    // A Node app without the DOM lib: @webgpu/types' own declarations need DOM names (BufferSource, EventTarget
    // options, HTMLImageElement, …), so only with skipLibCheck; nladmm's declarations need no DOM name themselves.
    'nodenext-without-dom': { compilerOptions: { ...COMMON, skipLibCheck: true, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'] }, files: ['app.ts'] },
  };

  beforeAll(() => {
    writeFileSync(join(work, 'app.ts'), APP);
    writeFileSync(join(work, 'browser-app.ts'), BROWSER_APP);
    for (const [kind, config] of Object.entries(CONFIGS)) writeFileSync(join(work, `tsconfig.${kind}.json`), JSON.stringify(config, null, 2));
  });

  it.each(Object.entries(CONFIGS).map(([kind, c]) => [kind, c.compilerOptions.skipLibCheck]))('type-checks with the repo\'s tsc: %s (strict, skipLibCheck %s)', async (kind) => {
    let listed: string;
    try {
      listed = (await exec(process.execPath, [TSC, '-p', `tsconfig.${kind}.json`, '--listFiles'], { cwd: work, maxBuffer: 16 << 20 })).stdout;
    } catch (err) {
      throw new Error(`tsc -p tsconfig.${kind}.json failed:\n${(err as { stdout?: string }).stdout ?? err}`);
    }
    // The declarations come from the installed dist/, never from the repository's sources.
    const nladmmFiles = listed.split('\n').filter((f) => f.includes('/@nladmm/'));
    expect(nladmmFiles.length).toBeGreaterThan(10);
    for (const f of nladmmFiles) expect(f, f).toMatch(/node_modules\/@nladmm\/[^/]+\/dist\/.*\.d\.ts$/);
  });

  it('bundles for the browser without inversify unless @nladmm/core/container is imported', async () => {
    writeFileSync(
      join(work, 'browser-core.ts'),
      `import { Trainer, hostMatrix, paperStepRule } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
export async function train() {
  const backend = new CpuBackend();
  const trainer = await Trainer.create(backend, { x: hostMatrix(1, 3, [0, 1, 2]), y: hostMatrix(1, 3, [0, 1, 4]) }, { layers: [1, 4, 1], activation: createDefaultRegistry().get('tanh'), beta: 1, lambda: 1e-4, stepRule: paperStepRule });
  return (await trainer.run({ maxIterations: 3 })).final.trainLoss;
}
`,
    );
    writeFileSync(
      join(work, 'browser-container.ts'),
      `import { hostMatrix } from '@nladmm/core';
import { createContainer, createEngine } from '@nladmm/core/container';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
export async function train() {
  const engine = createEngine(createContainer({ backend: new CpuBackend(), activations: createDefaultRegistry() }));
  const trainer = await engine.createTrainer({ x: hostMatrix(1, 3, [0, 1, 2]), y: hostMatrix(1, 3, [0, 1, 4]) }, { layers: [1, 4, 1], activation: 'tanh', beta: 1, lambda: 1e-4 });
  return (await trainer.run({ maxIterations: 3 })).final.trainLoss;
}
`,
    );
    const result = await bundleForBrowser({
      entryPoints: { core: join(work, 'browser-core.ts'), container: join(work, 'browser-container.ts') },
      outdir: join(work, 'out'),
      write: false,
      minify: true,
      sourcemap: false,
      absWorkingDir: work,
    });
    const outputs = Object.entries(result.metafile.outputs);
    const output = (name: string) => outputs.find(([file]) => file.endsWith(`${name}.js`))![1];
    const inputs = (name: string) => Object.keys(output(name).inputs);
    const inversify = (files: string[]) => files.filter((f) => /node_modules\/(inversify|@inversifyjs)\//.test(f));
    const fromPackages = (files: string[]) => files.filter((f) => f.includes('node_modules/@nladmm/'));
    // The installed dist/ JavaScript is what got bundled.
    for (const f of fromPackages(inputs('core'))) expect(f).toMatch(/node_modules\/@nladmm\/[^/]+\/dist\/.*\.js$/);
    expect(inversify(inputs('core'))).toEqual([]);
    expect(inputs('core').some((f) => f.endsWith('@nladmm/core/dist/container.js'))).toBe(false);
    expect(inversify(inputs('container')).length).toBeGreaterThan(0);
    expect(inputs('container').some((f) => f.endsWith('@nladmm/core/dist/container.js'))).toBe(true);
    const bytes = { core: output('core').bytes, container: output('container').bytes };
    console.log(`packaging: browser bundle (esbuild, minified) of @nladmm/core + cpu-backend + activations: ${bytes.core} bytes; with @nladmm/core/container (inversify): ${bytes.container} bytes`);
    expect(bytes.container).toBeGreaterThan(bytes.core);
  });

  it('refuses the Node-only entries to a browser bundler', async () => {
    for (const spec of ENTRIES.filter((e) => !BROWSER_ENTRIES.includes(e))) {
      const file = join(work, `node-only-${spec.replace(/[@/]/g, '_')}.ts`);
      writeFileSync(file, `import * as m from '${spec}';\nconsole.log(Object.keys(m));\n`);
      const errors = await bundleForBrowser({ entryPoints: { entry: file }, outdir: join(work, 'out'), write: false, sourcemap: false, absWorkingDir: work }).then(
        () => [] as string[],
        (err: { errors?: { text: string }[] }) => (err.errors ?? []).map((e) => e.text),
      );
      expect(errors.join('\n'), spec).toContain(`Could not resolve "${spec}"`);
    }
  });
});
