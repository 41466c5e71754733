/**
 * The lock of a run directory: while a process trains in a directory (`nladmm train`, `train --resume`, `nladmm
 * compare`, `compare --resume`) the file DIR/.nladmm.lock holds its PID, host name and start time. It is created
 * atomically (the contents are written to a temporary file that is hard-linked to the lock's name, which fails when
 * the name exists; where links are not supported, an O_EXCL open), so two processes can never both hold it. A lock
 * whose process is gone (same host, `kill(pid, 0)` → ESRCH) or that was taken on another host is stale and is taken
 * over; a live one makes the second process refuse with one line naming the directory and the PID.
 *
 * The lock is released (the file removed, if it is still ours) by `release()`, and on every process exit
 * (`process.exit` included, e.g. the second SIGINT) by an 'exit' handler; a kill -9 leaves a stale lock, which the
 * next run takes over.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors.ts';

export const LOCK_FILE = '.nladmm.lock';

/** What a lock file holds. */
export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** Unique per acquisition: a holder removes the file on release only while it still holds its own token. */
  readonly token: string;
}

export interface RunLock {
  /** The lock file's path (it follows the directory: see {@link RunLock.moved}). */
  readonly path: string;
  /** After the folder holding the lock was renamed to `dir` (a staging folder renamed into place). */
  moved(dir: string): void;
  /** Removes the lock file if it is still this lock's; idempotent. */
  release(): void;
}

/** The run directory is held by a live process. */
export class RunLockedError extends CliError {
  constructor(
    readonly dir: string,
    readonly holder: LockInfo,
  ) {
    const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
    super(`run directory ${dir} is in use by PID ${holder.pid}${where} (since ${holder.startedAt}): another nladmm is training in it; wait until it ends (or delete ${join(dir, LOCK_FILE)} if no nladmm runs there)`);
    this.name = 'RunLockedError';
  }
}

/** Whether a process with this PID runs on this machine (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false; // kill(0) / kill(-n) would signal process groups
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.startedAt === 'string' && typeof v.token === 'string') return v as LockInfo;
  } catch {
    // not a lock we wrote
  }
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The lock held in `dir` by a live process on this host, if any (a stale or unreadable lock counts as none). */
export function liveLock(dir: string): LockInfo | undefined {
  let text;
  try {
    text = readText(join(dir, LOCK_FILE));
  } catch {
    return undefined;
  }
  const info = text === undefined ? undefined : parseLock(text);
  return info && info.host === hostname() && holderAlive(info) ? info : undefined;
}

/** The tokens of the locks this process holds (a lock with this process's PID but another token is a dead one's). */
const held = new Set<string>();

/** Whether the holder of a lock on this host is alive. */
function holderAlive(info: LockInfo): boolean {
  return info.pid === process.pid ? held.has(info.token) : processAlive(info.pid);
}

/** Why a lock is stale (undefined: its holder is alive). */
function staleness(info: LockInfo | undefined): string | undefined {
  if (!info) return 'an unreadable lock file';
  if (info.host !== hostname()) return `the lock of PID ${info.pid} on another host (${info.host}, since ${info.startedAt})`;
  if (!holderAlive(info)) return `the stale lock of PID ${info.pid} (since ${info.startedAt}; no longer running)`;
  return undefined;
}

function statMtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Creates the lock file with `contents` unless it exists (false then). */
function createExclusive(path: string, contents: string): boolean {
  // Not named like writeFileAtomic's temporary files (a resume removes those as leftovers of a kill).
  const tmp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // No hard links on this file system: an O_EXCL open (a reader may briefly see it empty).
    let fd2;
    try {
      fd2 = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      writeSync(fd2, contents);
      fsyncSync(fd2);
    } finally {
      closeSync(fd2);
    }
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Removes the stale lock file whose contents were `seen`: it is first renamed aside (atomic), so that of several
 * processes taking it over only one removes it; a file that turns out not to be the one judged stale (another
 * process replaced it meanwhile) is put back.
 */
function removeStale(path: string, seen: string): boolean {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // someone else took it over first
    throw err;
  }
  try {
    if (readText(aside) === seen) return true;
    try {
      linkSync(aside, path);
    } catch {
      // a third process created a lock meanwhile: it holds the directory
    }
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** The temporary files of lock operations that a kill interrupted (`.nladmm.lock.new-PID-…`, `.stale-PID-…`). */
function removeDeadLeftovers(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      const m = /^\.nladmm\.lock\.(?:new|stale)-(\d+)-[0-9a-f]+$/.exec(name);
      if (m && !processAlive(Number(m[1]))) rmSync(join(dir, name), { force: true });
    }
  } catch {
    // best effort
  }
}

function lockHandle(initialPath: string, contents: string, token: string): RunLock {
  let path = initialPath;
  let released = false;
  held.add(token);
  const release = () => {
    if (released) return;
    released = true;
    held.delete(token);
    process.off('exit', release);
    try {
      if (readText(path) === contents) unlinkSync(path);
    } catch {
      // the directory is gone (a failed start removed it): nothing to release
    }
  };
  process.on('exit', release);
  return {
    get path() {
      return path;
    },
    moved(dir: string) {
      path = join(dir, LOCK_FILE);
    },
    release,
  };
}

/**
 * Takes the lock of the existing directory `dir`; a live holder → {@link RunLockedError}. A stale lock is taken
 * over, with a one-line `notice` saying whose it was.
 */
export function acquireRunLock(dir: string, notice?: (text: string) => void): RunLock {
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const contents = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let created;
    try {
      created = createExclusive(path, contents);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(`cannot lock run directory ${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? 'not writable' : (code ?? String(err))}`);
    }
    if (created) {
      removeDeadLeftovers(dir);
      return lockHandle(path, contents, info.token);
    }
    const seen = readText(path);
    if (seen === undefined) continue; // released meanwhile
    const holder = parseLock(seen);
    // Unreadable: being written where hard links are missing (an O_EXCL create, then the write), or damaged. Only an
    // old one is taken over.
    if (!holder && Date.now() - (statMtime(path) ?? 0) < 5000) throw new CliError(`run directory ${dir} is in use: another process is creating its lock ${path}`);
    const stale = staleness(holder);
    if (stale === undefined) throw new RunLockedError(dir, holder!);
    if (removeStale(path, seen)) notice?.(`took over ${stale} of ${dir}`);
  }
  throw new CliError(`cannot lock run directory ${dir}: other processes keep taking its lock`);
}

/** The folder name of a staging folder of `name`, unique to this process: `.NAME.partial-PID-RANDOM`. */
export function stagingName(name: string): string {
  return `.${name}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
}

const STAGING = /^\..+\.partial-(\d+)(?:-[0-9a-f]+)?$/;

/**
 * Removes the staging folders in `parent` that a killed start left behind: those whose creating process (the PID in
 * the name) is gone. A staging folder of a live process (a concurrent start) is kept, and so is one whose lock names
 * another host (its process may be alive there). Returns the removed paths.
 */
export function removeStaleStaging(parent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = STAGING.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const path = join(parent, name);
    try {
      if (!statSync(path).isDirectory()) continue;
      const lockPath = join(path, LOCK_FILE);
      if (existsSync(lockPath)) {
        const holder = parseLock(readText(lockPath) ?? '');
        if (holder && holder.host !== hostname()) continue;
      }
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // not ours to remove (permissions) or already gone
    }
  }
  return removed;
}
