import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, DataError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';

/** Why reading a file failed, in a few words: "no such file", "is a directory", "cannot be read (EACCES)". */
export function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(err)})`;
}

/** Reads a whole input file; a failure is a DataError naming the file, and what it was read as when given. */
export async function readInputFile(path: string, what?: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new DataError(path, `${what ? `${what}: ` : ''}${readFailure(err)}`);
  }
}

/** An input of a command that writes a user-named output: a file or a folder of files (`what`: how it is named). */
export interface InputFile {
  readonly path: string;
  readonly what: string;
}

interface Identified {
  readonly path: string;
  readonly what: string;
  readonly real: string;
  readonly dev: number;
  readonly ino: number;
}

/** The existing input files (a folder stands for the files in it), with their real paths and dev+inode. */
async function identify(inputs: readonly InputFile[]): Promise<Identified[]> {
  const out: Identified[] = [];
  const add = async (path: string, what: string, expand: boolean) => {
    let info;
    try {
      info = await stat(path);
    } catch {
      return; // not there (a synthetic data set's name, a model read from elsewhere): nothing to protect
    }
    if (info.isDirectory()) {
      if (expand) for (const name of await readdir(path).catch(() => [] as string[])) await add(join(path, name), `${what} file`, false);
      return;
    }
    out.push({ path, what, real: await realpath(path).catch(() => path), dev: info.dev, ino: info.ino });
  };
  for (const input of inputs) await add(input.path, input.what, true);
  return out;
}

/**
 * Checks a user-named output file before anything is computed or written: it must not be one of the inputs (the
 * same path, a symbolic or hard link to one, or a relative path to one: compared by real path and by device +
 * inode), not a folder, and it may exist only with `force`. Errors are one line naming the option and the file.
 */
export async function checkOutputFile(path: string, inputs: readonly InputFile[], force: boolean, option = '--out'): Promise<void> {
  let entry;
  try {
    entry = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // a new file cannot be an input
    throw new CliError(`${option} ${path}: ${readFailure(err)}`);
  }
  let target;
  try {
    target = await stat(path); // follows a symbolic link
  } catch {
    target = undefined; // a dangling link: replacing it loses no data but the link
  }
  if (target?.isDirectory()) throw new CliError(`${option} ${path} is a directory (give a file name)`);
  if (target) {
    const real = await realpath(path).catch(() => path);
    for (const input of await identify(inputs)) {
      if ((input.dev === target.dev && input.ino === target.ino) || input.real === real) {
        const via = entry.isSymbolicLink() ? ' (through a symbolic link)' : input.real !== real ? ' (a hard link to it)' : '';
        throw new CliError(`${option} ${path} is the ${input.what} ${input.path}${via}: an output never overwrites an input; choose another file`);
      }
    }
  }
  if (!force) throw new CliError(`${option} ${path} already exists (add --force to overwrite it)`);
}

/**
 * Writes a user-named output file atomically after checking it again against the inputs (see
 * {@link checkOutputFile}); without `force` it never replaces a file, also one created since the check.
 */
export async function writeOutputFile(path: string, data: Uint8Array | string, inputs: readonly InputFile[], force: boolean, option = '--out'): Promise<void> {
  await checkOutputFile(path, inputs, force, option);
  try {
    await writeFileAtomic(path, data, { overwrite: force });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${option} ${path} already exists (add --force to overwrite it)`);
    throw new CliError(`cannot write ${path}: ${code === 'ENOENT' ? 'no such folder' : code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? 'not writable' : (code ?? String(err))}`);
  }
}
