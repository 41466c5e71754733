// @nladmm/losses/node: the loss plugin loader on the shared plugin harness. The vetting worker's exercise must make
// exactly the calls of core's validateLoss (so that the validation in the calling thread makes no call the time limit
// did not cover): checked here call by call on a loss that passes every check.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOSS_VALIDATION, type Loss, LossValidationError, validateLoss } from '@nladmm/core';
import { crossEntropy } from '@nladmm/losses';
import { loadLossPlugin, loadLossPluginFile, lossPluginKind } from '@nladmm/losses/node';
import { PluginHashMismatchError } from '@nladmm/activations/node';

const PLUGINS = fileURLToPath(new URL('./fixtures/plugins/', import.meta.url));

/** A copy of `loss` that logs every call (name and arguments' values) into `log`. */
function recording(loss: Loss, log: string[]): Loss {
  const show = (a: unknown) => (a instanceof Float64Array ? Array.from(a).join(' ') : String(a));
  return {
    ...loss,
    value(v, y) {
      log.push(`value ${show(v)} | ${show(y)}`);
      return loss.value(v, y);
    },
    gradient(v, y, g) {
      log.push(`gradient ${show(v)} | ${show(y)}`);
      loss.gradient(v, y, g);
    },
    newtonSolve(v, y, beta, r, s) {
      log.push(`newtonSolve ${show(v)} | ${show(y)} | ${beta} | ${show(r)}`);
      loss.newtonSolve(v, y, beta, r, s);
    },
    checkTarget: loss.checkTarget
      ? (y) => {
          log.push(`checkTarget ${show(y)}`);
          return loss.checkTarget!(y);
        }
      : undefined,
  };
}

describe('the vetting exercise of loss plugins', () => {
  it.each([
    ['cross-entropy (with checkTarget)', crossEntropy],
    ['pseudo-huber (without)', undefined],
  ])('makes the calls of validateLoss, in its order and at its points: %s', async (_name, given) => {
    const loss = given ?? (await loadLossPlugin(join(PLUGINS, 'loss-pseudo-huber.mjs')));
    const samples = { ...DEFAULT_LOSS_VALIDATION, points: 12 };
    const validated: string[] = [];
    validateLoss(recording(loss, validated), samples);
    const exercised: string[] = [];
    const exercise = new Function(`return (${lossPluginKind.exercise});`)() as (f: Loss, data: unknown) => void;
    exercise(recording(loss, exercised), samples);
    expect(exercised.length).toBeGreaterThan(1000);
    expect(exercised).toEqual(validated);
  });
});

describe('loadLossPluginFile', () => {
  it('loads and validates the example plugin, with its path and sha256', async () => {
    const loaded = await loadLossPluginFile(join(PLUGINS, 'loss-pseudo-huber.mjs'));
    expect(loaded.loss.name).toBe('pseudo-huber');
    expect(loaded.path).toBe(join(PLUGINS, 'loss-pseudo-huber.mjs'));
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(loadLossPluginFile(loaded.path, { sha256: '0'.repeat(64) })).rejects.toBeInstanceOf(PluginHashMismatchError);
    await expect(loadLossPluginFile(loaded.path, { sha256: '0'.repeat(64) })).rejects.toThrow(/^loss plugin \S+ has sha256 [0-9a-f]{12}…, expected 000000000000…$/);
  });

  it('refuses a broken plugin with the LossValidationError naming the loss, the check and the plugin', async () => {
    const path = join(PLUGINS, 'broken-loss-newton.mjs');
    const error = await loadLossPlugin(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LossValidationError);
    expect((error as LossValidationError).check).toBe('newton solve');
    expect((error as Error).message).toMatch(new RegExp(`^loss 'broken-loss-newton' refused: newton solve check failed: .* \\(plugin ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
  });

  it('names the kind in the harness errors (missing file, no default export)', async () => {
    const missing = join(PLUGINS, 'no-such-loss.mjs');
    await expect(loadLossPlugin(missing)).rejects.toThrow(`loss plugin ${missing} does not exist (ENOENT)`);
    const noDefault = join(PLUGINS, 'broken-no-default-export.mjs');
    await expect(loadLossPlugin(noDefault)).rejects.toThrow(`loss plugin ${noDefault} has no default export`);
  });
});
