#!/usr/bin/env node
// Packs the publishable packages (every packages/*/package.json without "private") as npm would publish them:
// embeds the shaders (scripts/embed-shaders.mjs), builds dist/ of every package with `tsc -b tsconfig.build.json`
// (after deleting the old dist/ folders, so that no output of a deleted source is packed), then runs
// `pnpm pack --pack-destination DIR` in each package. pnpm applies publishConfig (exports, main, types and bin
// pointing at dist/), rewrites `workspace:*` to the packages' version and adds the root LICENSE. Prints the tarball
// paths, one per line, on stdout.
//
//   node scripts/pack-packages.mjs [--out DIR] [--no-build]
//
// DIR defaults to dist/packages at the root. test/support/packedInstall.ts installs the tarballs into an app folder.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from './args.mjs';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The publishable packages, in folder order: `{ name, version, dir }` of every packages/* without "private". */
export function publishablePackages() {
  const packagesDir = join(repoRoot, 'packages');
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(packagesDir, e.name, 'package.json')))
    .map((e) => {
      const dir = join(packagesDir, e.name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: manifest.name, version: manifest.version, dir, private: manifest.private === true };
    })
    .filter((p) => !p.private)
    .map(({ name, version, dir }) => ({ name, version, dir }));
}

/** Runs a command; resolves with its stdout, rejects with its output when it fails. */
function run(command, args, { cwd = repoRoot, echo = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
      if (echo) process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      if (echo) process.stderr.write(chunk);
    });
    child.on('error', (err) => reject(new Error(`${command} ${args.join(' ')}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed (${signal ?? `exit code ${code}`})${echo ? '' : `:\n${output.trim()}`}`));
    });
  });
}

/** Embeds the shaders and builds every package's dist/ from scratch (tsc -b tsconfig.build.json). */
export async function buildPackages({ echo = false } = {}) {
  await run(process.execPath, [join(repoRoot, 'scripts', 'embed-shaders.mjs')], { echo });
  for (const { dir } of publishablePackages()) rmSync(join(dir, 'dist'), { recursive: true, force: true });
  await run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(repoRoot, 'tsconfig.build.json')], { echo });
}

/** The tarball name `pnpm pack` gives a package: `@scope/name` 1.2.3 → scope-name-1.2.3.tgz. */
export function tarballName(name, version) {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/**
 * Builds (unless `build: false`) and packs every publishable package into `outDir`. Returns
 * `[{ name, version, dir, tarball }]` (absolute tarball paths).
 */
export async function packPackages({ outDir = join(repoRoot, 'dist', 'packages'), build = true, echo = false } = {}) {
  if (build) await buildPackages({ echo });
  mkdirSync(outDir, { recursive: true });
  const packed = [];
  for (const pkg of publishablePackages()) {
    const tarball = join(outDir, tarballName(pkg.name, pkg.version));
    rmSync(tarball, { force: true });
    await run('pnpm', ['pack', '--pack-destination', outDir], { cwd: pkg.dir });
    if (!existsSync(tarball)) throw new Error(`pnpm pack of ${pkg.name} did not write ${tarball}`);
    packed.push({ ...pkg, tarball });
  }
  return packed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseCommandLine({
    name: 'pack-packages',
    usage: '[--out DIR] [--no-build]',
    options: { out: { type: 'string' }, 'no-build': { type: 'boolean' } },
  });
  try {
    const started = performance.now();
    const packed = await packPackages({ outDir: values.out ? resolve(values.out) : undefined, build: !values['no-build'], echo: true });
    for (const { tarball } of packed) console.log(tarball);
    console.error(`pack-packages: ${packed.length} packages in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`pack-packages: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
