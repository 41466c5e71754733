import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.ts';

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
