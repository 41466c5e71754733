import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsyncs a directory so that a rename inside it is durable (ignored where directories cannot be opened). */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

export interface AtomicWriteOptions {
  /**
   * false: never replace an existing file; the temporary file is hard-linked to `path`, which fails with an error
   * of code EEXIST when `path` exists (atomically: also when another process creates it meanwhile). Default true.
   */
  readonly overwrite?: boolean;
}

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, which is fsynced and then
 * renamed over `path`. A reader (or a crash at any moment) sees the old file or the new one, never a mix.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    if (options.overwrite === false) await linkNoClobber(tmp, path);
    else await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Gives the complete file `tmp` the name `path` unless that exists (EEXIST), then drops the name `tmp`. */
async function linkNoClobber(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // No hard links on this file system: an exclusive create, then the rename over the (new, empty) file.
    const handle = await open(path, 'wx', 0o644);
    await handle.close();
    await rename(tmp, path);
    return;
  }
  await rm(tmp, { force: true });
}
