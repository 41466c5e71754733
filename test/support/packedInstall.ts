// The publishable packages as a user gets them: built, packed (scripts/pack-packages.mjs) and installed from the
// tarballs with plain npm into an app folder outside the repository (no workspace links, no tsx, no src/ exports).
//
//   const app = await installPackedPackages();   // in a beforeAll with a long timeout (the first call builds,
//                                                // packs and installs: see PACKED_INSTALL_TIMEOUT_MS)
//   execFileSync(process.execPath, ['--input-type=module', '-e', "import('@nladmm/core')…"], { cwd: app });
//
// The folder is os.tmpdir()/nladmm-packed-<hash>, the hash covering everything that goes into the tarballs (the
// packages' sources, manifests, build configs, READMEs, the root LICENSE, the shaders, the pack script and this
// file), so it is made once per change and reused by every test file of a run (and by later runs) — test files run
// in their own forked processes, possibly at the same time. It is made atomically: one process takes a lock (a
// folder made with mkdir), builds, packs and installs into a temporary folder, then renames it into place; the
// others wait for the folder. A lock whose owner died is taken over. The build itself (which rewrites the
// repository's packages/*/dist) takes a second, repository-wide lock, so that builds of two source states never
// overlap. The app folder holds package.json, tarballs/*.tgz, node_modules (the packages, their dependencies,
// @types/node) and packed.json. Folders of earlier sources are removed once an hour old.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PackedPackage, packPackages, publishablePackages, repoRoot } from '../../scripts/pack-packages.mjs';

/** A timeout for the hook that calls {@link installPackedPackages} (the first call of a change builds and installs). */
export const PACKED_INSTALL_TIMEOUT_MS = 600_000;

/** The package types the app installs besides the tarballs (a TypeScript app on Node has them). */
const EXTRA_DEPENDENCIES = ['@types/node@^20.19.0'];

/** What `installPackedPackages` wrote into the app folder, as packed.json. */
export interface PackedInstall {
  readonly hash: string;
  /** Package name → the tarball's path inside the app folder. */
  readonly tarballs: Record<string, string>;
  /** Milliseconds of the build (tsc -b) and packing, and of `npm install`. */
  readonly buildAndPackMs: number;
  readonly installMs: number;
  readonly createdAt: string;
}

const LOCK_POLL_MS = 500;
/** A lock older than this whose owner cannot be checked (another host) is taken over. */
const LOCK_STALE_MS = 20 * 60_000;
/** App folders of other sources older than this are removed when a new one is made. */
const PRUNE_AFTER_MS = 60 * 60_000;

/** Files under `dir` (recursively, sorted), skipping node_modules and dist. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The sha256 (16 hex digits) of every input of the tarballs and of the install. */
export function packedSourcesHash(): string {
  const files = [
    ...['tsconfig.build.json', 'tsconfig.build.base.json', 'LICENSE', 'scripts/pack-packages.mjs', 'scripts/embed-shaders.mjs'].map((f) => join(repoRoot, f)),
    fileURLToPath(import.meta.url),
    ...filesUnder(join(repoRoot, 'shaders')),
  ];
  for (const { dir } of publishablePackages()) {
    for (const f of ['package.json', 'tsconfig.build.json', 'README.md', 'LICENSE']) files.push(join(dir, f));
    files.push(...filesUnder(join(dir, 'src')), ...filesUnder(join(dir, 'bin')));
  }
  const hash = createHash('sha256');
  hash.update(`node ${process.versions.node.split('.')[0]}\n${EXTRA_DEPENDENCIES.join(' ')}\n`);
  for (const file of files) {
    if (!existsSync(file)) continue;
    hash.update(`${relative(repoRoot, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** npm's environment: the caller's, without what pnpm sets for its own children (pnpm's user agent, …). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_config_user_agent|npm_lifecycle_|npm_package_|pnpm_config_|PNPM_)/i.test(key)) continue;
    env[key] = value;
  }
  return env;
}

function runNpm(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    child.on('error', (err) => reject(new Error(`npm ${args.join(' ')}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`npm ${args.join(' ')} (in ${cwd}) failed (${signal ?? `exit code ${code}`}):\n${output.trim()}`));
    });
  });
}

/** Whether the lock at `lock` was left by a process that is gone (or is older than LOCK_STALE_MS). */
function lockIsStale(lock: string): boolean {
  let owner: { pid?: number; host?: string } | undefined;
  try {
    owner = JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8')) as { pid?: number; host?: string };
  } catch {
    owner = undefined; // being written, or the owner died right after mkdir: judged by age below
  }
  if (owner?.pid !== undefined && owner.host === hostname()) {
    try {
      process.kill(owner.pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > (owner ? LOCK_STALE_MS : 30_000);
  } catch {
    return false; // gone already
  }
}

/** Builds, packs and installs into a temporary folder, then renames it to `target` (unless another process won). */
async function createApp(target: string, hash: string): Promise<void> {
  const temp = `${target}.tmp-${process.pid}-${Date.now()}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(join(temp, 'tarballs'), { recursive: true });
  try {
    writeFileSync(join(temp, 'package.json'), `${JSON.stringify({ name: 'nladmm-packed-app', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`);
    const t0 = performance.now();
    let packed: PackedPackage[] = [];
    await withLock(buildLock(), () => false, async () => {
      packed = await packPackages({ outDir: join(temp, 'tarballs') });
    });
    const t1 = performance.now();
    const tarballs = packed.map((p) => `./${relative(temp, p.tarball)}`);
    await runNpm(['install', '--no-audit', '--no-fund', ...tarballs, ...EXTRA_DEPENDENCIES], temp);
    const t2 = performance.now();
    const info: PackedInstall = {
      hash,
      tarballs: Object.fromEntries(packed.map((p) => [p.name, relative(temp, p.tarball)])),
      buildAndPackMs: Math.round(t1 - t0),
      installMs: Math.round(t2 - t1),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(temp, 'packed.json'), `${JSON.stringify(info, null, 2)}\n`);
    try {
      renameSync(temp, target);
    } catch (err) {
      // Another process (one that took over a lock it judged stale) finished first: use its folder.
      if (!isComplete(target)) throw err;
      rmSync(temp, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Removes the app folders of earlier sources (each holds a few hundred MB: Dawn's `webgpu` package) and leftovers of
 * interrupted runs, once they are an hour old (a run still using one is that long only in theory).
 */
function pruneOldApps(keep: string): void {
  const cutoff = Date.now() - PRUNE_AFTER_MS;
  for (const name of readdirSync(tmpdir())) {
    if (!/^nladmm-packed-[0-9a-f]{16}(\.tmp-\d+-\d+)?$/.test(name)) continue;
    const path = join(tmpdir(), name);
    if (path === keep || existsSync(`${path}.lock`)) continue;
    try {
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

function isComplete(folder: string): boolean {
  return existsSync(join(folder, 'packed.json'));
}

/** The app folder's packed.json (how long its build, pack and install took). */
export function packedInstallInfo(app: string): PackedInstall {
  return JSON.parse(readFileSync(join(app, 'packed.json'), 'utf8')) as PackedInstall;
}

/**
 * Runs `fn` holding the lock `lock` (a folder made with mkdir, holding owner.json), after `ready()` turned false;
 * returns undefined without running `fn` when `ready()` turns true while waiting. A lock whose owner is gone is
 * taken over.
 */
async function withLock<T>(lock: string, ready: () => boolean, fn: () => Promise<T>): Promise<T | undefined> {
  const deadline = Date.now() + PACKED_INSTALL_TIMEOUT_MS;
  for (;;) {
    if (ready()) return undefined;
    let locked = false;
    try {
      mkdirSync(lock);
      locked = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (locked) {
      try {
        writeFileSync(join(lock, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
        return ready() ? undefined : await fn();
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
    if (lockIsStale(lock)) {
      // Renamed away first (atomic), so that two waiters do not both remove it and then one the other's new lock.
      const stale = `${lock}.stale-${process.pid}-${Date.now()}`;
      try {
        renameSync(lock, stale);
        rmSync(stale, { recursive: true, force: true });
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`installPackedPackages: gave up after ${PACKED_INSTALL_TIMEOUT_MS / 1000} s waiting for ${lock} to go (its owner is still running)`);
    await sleep(LOCK_POLL_MS);
  }
}

/**
 * The lock of the repository's packages/*\/dist folders: the build deletes and rewrites them, so two builds (of two
 * different source states, e.g. two test runs while files change) never run at once.
 */
function buildLock(): string {
  return join(tmpdir(), `nladmm-packed-build-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}.lock`);
}

/**
 * The path of an app folder (under os.tmpdir()) where every publishable package was installed from its tarball with
 * `npm install --no-audit --no-fund <tarballs…>` (see the top of this file). Builds, packs and installs only when no
 * folder exists for the current sources; waits while another process makes it.
 */
export async function installPackedPackages(): Promise<string> {
  const hash = packedSourcesHash();
  const target = join(tmpdir(), `nladmm-packed-${hash}`);
  await withLock(`${target}.lock`, () => isComplete(target), async () => {
    // A folder without packed.json cannot come from the rename below; clear whatever it is so that the rename works.
    rmSync(target, { recursive: true, force: true });
    await createApp(target, hash);
    pruneOldApps(target);
  });
  return target;
}
