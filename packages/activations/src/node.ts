/**
 * Node-only activation plugin loading. Kept out of the main entry so that `@nladmm/activations` stays
 * bundleable for browsers.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Activation, ActivationRegistry } from '@nladmm/core';

/**
 * Loads an activation plugin from an ES module file whose default export is an {@link Activation}, validates
 * it and registers it in `registry` (see {@link ActivationRegistry.registerModule}). A relative `filePath` is
 * resolved against the current working directory.
 *
 * Errors: a missing, non-file or unreadable path is reported with the resolved path; an error thrown while the
 * module evaluates as `activation plugin <path> could not be loaded: <message>`; a plugin that fails
 * validation with the `ActivationValidationError` naming the activation and the failed check.
 */
export async function loadActivationPlugin(registry: ActivationRegistry, filePath: string): Promise<Activation> {
  const absolutePath = resolve(filePath);
  let isFile: boolean;
  try {
    isFile = (await stat(absolutePath)).isFile();
  } catch (err) {
    throw new Error(`activation plugin ${absolutePath} does not exist (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  if (!isFile) throw new Error(`activation plugin ${absolutePath} is not a file`);
  try {
    await access(absolutePath, constants.R_OK);
  } catch (err) {
    throw new Error(`activation plugin ${absolutePath} is not readable (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return registry.registerModule(pathToFileURL(absolutePath).href, absolutePath);
}
