/**
 * Run directories: the names of their files, a fresh run's default directory, checking that one can be created
 * (missing or empty, its nearest existing ancestor a directory), creating it atomically with its first files and
 * its lock (io/lock.ts), and removing what interrupted writes left before a resume. Used by `nladmm train` and
 * `nladmm compare`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError, messageOf } from '../errors.ts';
import type { TrainSettings } from '../trainOptions.ts';
import { syncDirectory, writeFileAtomic } from './atomic.ts';
import { type RunLock, RunLockedError, acquireRunLock, liveLock, removeStaleStaging, stagingName } from './lock.ts';

/** The files of a run directory. */
export const CONFIG = 'config.json';
export const METRICS = 'metrics.jsonl';
export const CHECKPOINT = 'checkpoint.safetensors';
export const MODEL = 'model.safetensors';
export const PLOTS = 'plots';

function timestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** A fresh default run directory name under runs/. */
export function defaultRunDir(s: Pick<TrainSettings, 'preset' | 'dataset'>, cwd: string): string {
  const label = (s.preset ?? basename(s.dataset).replace(/\.[^.]*$/, '')).replace(/[^A-Za-z0-9_.-]/g, '_');
  const base = join(cwd, 'runs', `${timestamp(new Date())}-${label}`);
  let candidate = base;
  for (let k = 2; existsSync(candidate); k++) candidate = `${base}-${k}`;
  return candidate;
}

/** Removes the temporary files of atomic writes that a kill interrupted (the files they were meant to replace are intact). */
export async function removeInterruptedWrites(runDir: string): Promise<void> {
  for (const name of await readdir(runDir)) if (/^\..*\.tmp-\d+-[0-9a-f]+$/.test(name)) await rm(join(runDir, name), { force: true });
}

/** Fails unless `dir` does not exist or is an empty directory. */
async function checkFreshDirectory(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    return;
  }
  if (!info.isDirectory()) throw new CliError(`cannot create run directory ${dir}: a file with that name exists`);
  if ((await readdir(dir)).length === 0) return;
  const holder = liveLock(dir);
  if (holder) throw new RunLockedError(dir, holder);
  throw new CliError(`run directory ${dir} already exists and is not empty (continue it with --resume ${dir}, or choose another --out)`);
}

/** Creates missing parent folders, remembering which were created (so that a failure can remove them). */
async function makeParents(dir: string): Promise<string[]> {
  const created: string[] = [];
  let current = dir;
  const missing: string[] = [];
  while (!existsSync(current)) {
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const m of missing) {
    try {
      await mkdir(m);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Created meanwhile by a concurrent start: use it (and leave it to that start).
      if (code === 'EEXIST' && (await stat(m).catch(() => undefined))?.isDirectory()) continue;
      // Only the folders still empty: a concurrent start may have put its run directory into one.
      for (const c of created.reverse()) await rmdir(c).catch(() => undefined);
      throw new CliError(`cannot create run directory ${dir}: ${code === 'ENOTDIR' ? `${dirname(m)} is not a directory` : code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? `${dirname(m)} is not writable` : messageOf(err)}`);
    }
    created.push(m);
  }
  return created;
}

/**
 * Creates the run directory atomically: its first files are written into a hidden staging folder next to it,
 * which is then renamed into place. A failure (or a kill) before the rename leaves no run directory.
 */
export async function precheckRunDirectory(dir: string): Promise<void> {
  await checkFreshDirectory(dir);
  // The nearest existing ancestor must be a directory.
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  if (!(await stat(parent)).isDirectory()) throw new CliError(`cannot create run directory ${dir}: ${parent} is not a directory`);
}

/**
 * Creates the run directory with its first files and its lock (see io/lock.ts), held by this process until the
 * returned lock is released. The staging folder `.NAME.partial-PID-RANDOM` is renamed into place, which fails when
 * a concurrent start got there first (then: the one-line error naming the PID holding it). Staging folders of
 * starts that were killed (their PID no longer runs) are removed first.
 */
export async function createRunDirectory(dir: string, files: { name: string; data: Uint8Array | string }[]): Promise<RunLock> {
  await precheckRunDirectory(dir);
  const parent = dirname(dir);
  const createdParents = await makeParents(parent);
  removeStaleStaging(parent);
  const staging = join(parent, stagingName(basename(dir)));
  let lock: RunLock | undefined;
  try {
    await mkdir(staging);
    lock = acquireRunLock(staging);
    for (const f of files) await writeFileAtomic(join(staging, f.name), f.data);
    await moveIntoPlace(staging, dir);
    lock.moved(dir);
    await syncDirectory(parent);
    return lock;
  } catch (err) {
    lock?.release();
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    for (const c of createdParents.reverse()) await rmdir(c).catch(() => undefined);
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot create run directory ${dir}: ${code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? 'not writable' : messageOf(err)}`);
  }
}

/**
 * Renames the staging folder to `dir`, which may be missing or an empty directory (rename(2) replaces an empty
 * one). A directory that a concurrent start filled meanwhile is refused as checkFreshDirectory refuses it.
 */
async function moveIntoPlace(staging: string, dir: string): Promise<void> {
  try {
    await rename(staging, dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'ENOTDIR') throw err;
    await checkFreshDirectory(dir); // in use, not empty, or a file: the error
  }
  // An empty directory that this platform's rename does not replace (or one removed meanwhile).
  await rmdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(staging, dir);
}
