// Hostile and careless inputs around activation plugins: a model or run file never names code to run (a plugin is
// recorded by name and sha256 and used only from a file given with --activation, whose hash must match); a plugin
// that hangs, never settles or exits while it loads is one line and exit 1 (vetted in a worker thread under a
// time limit); a model with a NaN weight is refused. Every refusal is one line on stderr and leaves every file as it was.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensors } from '@nladmm/cli';
import { PLUGINS, type CliRun, cli, cliProcess, tempDir } from './helpers.ts';

const TASK = ['--dataset', 'teacher', '--layers', '3,8,8,2', '--n-train', '40', '--n-test', '20', '--lambda', '1e-2', '--metrics-every', '1', '--no-plots', '--quiet'];
/** The time limit the hostile-plugin tests set (ms). */
const LIMIT_MS = 1500;
const LIMIT_ENV = { NLADMM_PLUGIN_TIMEOUT_MS: String(LIMIT_MS) };

/** `s` as a literal inside a RegExp. */
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir` (relative path → sha256 of its bytes): what a refused command must leave as it was. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(dir, p)] = sha256(await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

/** The run failed with exactly one line on stderr matching `line`, and printed nothing on stdout. */
function refused(run: CliRun, code: number, line: RegExp): void {
  expect(run.stderr.endsWith('\n'), run.stderr).toBe(true);
  expect(run.stderr.trimEnd().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr.trimEnd()).toMatch(line);
  expect(run.code, run.stderr).toBe(code);
  expect(run.stdout).toBe('');
}

/** A copy of a safetensors file with its metadata changed (`undefined` removes a key) and its tensors edited. */
async function craft(from: string, to: string, metadata: Record<string, string | undefined>, edit?: (name: string, data: Float64Array) => void): Promise<void> {
  const file = parseSafetensors(await readFile(from), from);
  const meta: Record<string, string> = { ...file.metadata };
  for (const [k, v] of Object.entries(metadata)) {
    if (v === undefined) delete meta[k];
    else meta[k] = v;
  }
  const tensors = file.tensors.map((t) => {
    const data = Float64Array.from(t.data);
    edit?.(t.name, data);
    return { name: t.name, dtype: 'F64' as const, shape: t.shape, data };
  });
  await writeFile(to, encodeSafetensors(tensors, meta));
}

let dir: string;
let softclipCopy: string;
let softclipSha: string;
/** A module that writes `pwned.txt` next to itself when imported. */
let evil: string;
let marker: string;

beforeAll(async () => {
  dir = await tempDir('nladmm-trust-');
  await mkdir(join(dir, 'plugins'));
  softclipCopy = join(dir, 'plugins', 'softclip.mjs');
  await copyFile(join(PLUGINS, 'softclip.mjs'), softclipCopy);
  softclipSha = sha256(await readFile(softclipCopy));
  marker = join(dir, 'pwned.txt');
  evil = join(dir, 'plugins', 'evil.mjs');
  await writeFile(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'code from a model file ran');\nexport default {};\n`);
  const builtin = await cli(['train', ...TASK, '--activation', 'tanh', '--iterations', '2', '--out', 'tanh-run'], dir);
  expect(builtin.code, builtin.stderr).toBe(0);
  const plugin = await cli(['train', ...TASK, '--activation', 'plugins/softclip.mjs', '--iterations', '2', '--out', 'plugin-run'], dir);
  expect(plugin.code, plugin.stderr).toBe(0);
});

describe('a model or run names no code to run', () => {
  it('records a plugin by name and sha256 (the path only in config.json, for information)', async () => {
    const config = JSON.parse(await readFile(join(dir, 'plugin-run', 'config.json'), 'utf8'));
    expect(config.nladmm.activationPlugin).toEqual({ name: 'softclip', sha256: softclipSha, path: softclipCopy });
    for (const name of ['model.safetensors', 'checkpoint.safetensors']) {
      const path = join(dir, 'plugin-run', name);
      const meta = parseSafetensors(await readFile(path), path).metadata;
      expect(meta.activation).toBe('softclip');
      expect(meta.activation_sha256).toBe(softclipSha);
      expect(meta.activation_plugin).toBeUndefined();
      expect(JSON.parse(meta.config).activation).toBe('softclip');
      expect(Object.values(meta).some((v) => v.includes('.mjs'))).toBe(false);
    }
    const builtinMeta = parseSafetensors(await readFile(join(dir, 'tanh-run', 'model.safetensors')), 'model').metadata;
    expect(builtinMeta.activation).toBe('tanh');
    expect(builtinMeta.activation_sha256).toBeUndefined();
  });

  const crafted = [
    {
      name: 'an old-style model naming a plugin path',
      file: 'legacy.safetensors',
      metadata: () => ({ activation: 'evil', activation_plugin: evil }),
      line: /^nladmm (eval|predict): \S+legacy\.safetensors was trained with the activation plugin 'evil' from \S+evil\.mjs \(recorded without a hash by an older nladmm\); nladmm never runs code named by a model or run: pass that plugin's file with --activation FILE$/,
    },
    {
      name: 'a model whose activation is a module path',
      file: 'path-as-name.safetensors',
      metadata: () => ({ activation: evil }),
      line: /^nladmm (eval|predict): \S+path-as-name\.safetensors: metadata activation "\S+evil\.mjs" is not an activation name \(a model file never names code to run; a plugin is given with --activation FILE\)$/,
    },
    {
      name: "a model recording the module's own hash",
      file: 'hashed.safetensors',
      metadata: () => ({ activation: 'evil', activation_sha256: evilSha }),
      line: /^nladmm (eval|predict): \S+hashed\.safetensors was trained with the activation plugin 'evil' \(sha256 [0-9a-f]{12}…\); nladmm never runs code named by a model or run: pass that plugin's file with --activation FILE$/,
    },
  ];
  let evilSha = '';

  it.each(crafted)('eval and predict refuse $name without running it', async ({ file, metadata, line }) => {
    evilSha = sha256(await readFile(evil));
    await craft(join(dir, 'tanh-run', 'model.safetensors'), join(dir, file), metadata());
    const before = await snapshot(dir);
    refused(await cli(['eval', file], dir), 1, line);
    refused(await cli(['predict', file, '--out', 'crafted.csv'], dir), 1, line);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'crafted.csv'))).toBe(false);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('eval needs the plugin file of a plugin model, with the recorded hash', async () => {
    const model = join(dir, 'plugin-run', 'model.safetensors');
    const prefix = softclipSha.slice(0, 12);
    const before = await snapshot(dir);
    refused(await cli(['eval', 'plugin-run'], dir), 1, new RegExp(`^nladmm eval: ${escape(model)} was trained with the activation plugin 'softclip' \\(sha256 ${prefix}…\\); nladmm never runs code named by a model or run: pass that plugin's file with --activation FILE$`));
    refused(await cli(['eval', 'plugin-run', '--activation', 'tanh'], dir), 1, /^nladmm eval: --activation tanh: \S+ was trained with the activation plugin 'softclip' \(sha256 [0-9a-f]{12}…\); pass that plugin's file with --activation FILE$/);
    const changed = join(dir, 'plugins', 'softclip-changed.mjs');
    await writeFile(changed, `${await readFile(softclipCopy, 'utf8')}\n// changed\n`);
    const changedPrefix = sha256(await readFile(changed)).slice(0, 12);
    refused(
      await cli(['predict', 'plugin-run', '--activation', 'plugins/softclip-changed.mjs', '--out', 'p.csv'], dir),
      1,
      new RegExp(`^nladmm predict: --activation ${escape(changed)}: its sha256 ${changedPrefix}… does not match ${escape(model)}, trained with the plugin 'softclip' of sha256 ${prefix}… \\(a different or modified file\\)$`),
    );
    expect(await snapshot(dir)).toEqual({ ...before, [relative(dir, changed)]: sha256(await readFile(changed)) });
    // The right bytes from any path: the fixture itself.
    const ok = await cli(['eval', 'plugin-run', '--activation', join(PLUGINS, 'softclip.mjs')], dir);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/3-8-8-2 softclip, iteration 2/);
  });
});

describe('files of an older nladmm (a plugin path, no hash)', () => {
  it('a model is used with the plugin given by --activation FILE (checked by name), never from its path', async () => {
    await craft(join(dir, 'plugin-run', 'model.safetensors'), join(dir, 'old-model.safetensors'), { activation_sha256: undefined, activation_plugin: evil });
    const before = await snapshot(dir);
    refused(await cli(['eval', 'old-model.safetensors'], dir), 1, /^nladmm eval: \S+old-model\.safetensors was trained with the activation plugin 'softclip' from \S+evil\.mjs \(recorded without a hash by an older nladmm\); .*--activation FILE$/);
    refused(
      await cli(['eval', 'old-model.safetensors', '--activation', join(PLUGINS, 'broken-throws-at-import.mjs')], dir),
      1,
      /^nladmm eval: activation plugin \S+broken-throws-at-import\.mjs could not be loaded: softclip table could not be initialised$/,
    );
    expect(existsSync(marker)).toBe(false);
    expect(await snapshot(dir)).toEqual(before);
    const ok = await cli(['eval', 'old-model.safetensors', '--activation', softclipCopy], dir);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('a run whose config.json names its plugin by path resumes only with --activation FILE', async () => {
    const old = join(dir, 'old-run');
    await mkdir(old);
    for (const f of await readdir(join(dir, 'plugin-run'))) await copyFile(join(dir, 'plugin-run', f), join(old, f));
    const config = JSON.parse(await readFile(join(old, 'config.json'), 'utf8'));
    config.nladmm.activationPlugin = evil;
    config.options.activation = evil;
    await writeFile(join(old, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const before = await snapshot(old);
    refused(await cli(['train', '--resume', 'old-run', '--iterations', '3'], dir), 1, new RegExp(`^nladmm train: the run in ${escape(old)} was trained with the activation plugin from ${escape(evil)} \\(recorded without a hash by an older nladmm\\); .*--activation FILE$`));
    expect(existsSync(marker)).toBe(false);
    expect(await snapshot(old)).toEqual(before);
    const resumed = await cli(['train', '--resume', 'old-run', '--iterations', '3', '--quiet', '--activation', softclipCopy], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('--resume of a plugin run', () => {
  it('is refused without --activation FILE and with a modified file, and continues with the right one', async () => {
    const runDir = join(dir, 'plugin-run');
    const prefix = softclipSha.slice(0, 12);
    const before = await snapshot(runDir);
    refused(
      await cli(['train', '--resume', 'plugin-run', '--iterations', '4'], dir),
      1,
      new RegExp(`^nladmm train: the run in ${escape(runDir)} was trained with the activation plugin 'softclip' \\(sha256 ${prefix}…\\); nladmm never runs code named by a model or run: pass that plugin's file with --activation FILE$`),
    );
    // The plugin file named in config.json is modified: a resume with it is refused by the hash.
    const original = await readFile(softclipCopy, 'utf8');
    await writeFile(softclipCopy, original.replace('export default {', 'globalThis.touched = true;\nexport default {'));
    try {
      refused(
        await cli(['train', '--resume', 'plugin-run', '--iterations', '4', '--activation', 'plugins/softclip.mjs'], dir),
        1,
        new RegExp(`^nladmm train: --activation ${escape(softclipCopy)}: its sha256 [0-9a-f]{12}… does not match the run in ${escape(runDir)}, trained with the plugin 'softclip' of sha256 ${prefix}… \\(a different or modified file\\)$`),
      );
    } finally {
      await writeFile(softclipCopy, original);
    }
    expect(await snapshot(runDir)).toEqual(before);
    const resumed = await cli(['train', '--resume', 'plugin-run', '--iterations', '4', '--quiet', '--activation', join(PLUGINS, 'softclip.mjs')], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const meta = parseSafetensors(await readFile(join(runDir, 'checkpoint.safetensors')), 'checkpoint').metadata;
    expect(meta.k).toBe('4');
    expect(meta.activation_sha256).toBe(softclipSha);
  });

  it('of a built-in run needs nothing and refuses another activation', async () => {
    const before = await snapshot(join(dir, 'tanh-run'));
    refused(await cli(['train', '--resume', 'tanh-run', '--iterations', '3', '--activation', 'plugins/softclip.mjs'], dir), 2, /^nladmm train: --activation cannot change when resuming: the run in \S+tanh-run uses the built-in activation 'tanh'$/);
    expect(await snapshot(join(dir, 'tanh-run'))).toEqual(before);
  });

  it('nladmm compare --resume needs the plugin file too', async () => {
    const args = ['--dataset', 'teacher', '--layers', '3,6,2', '--n-train', '30', '--n-test', '10', '--lambda', '1e-2', '--quiet', '--no-plots'];
    const started = await cli(['compare', ...args, '--iterations', '2', '--activation', 'plugins/softclip.mjs', '--out', 'cmp'], dir);
    expect(started.code, started.stderr).toBe(0);
    const cmpConfig = JSON.parse(await readFile(join(dir, 'cmp', 'config.json'), 'utf8'));
    expect(cmpConfig.nladmm.activationPlugin).toMatchObject({ name: 'softclip', sha256: softclipSha });
    const before = await snapshot(join(dir, 'cmp'));
    refused(await cli(['compare', '--resume', 'cmp', '--iterations', '3'], dir), 1, /^nladmm compare: the comparison in \S+cmp was trained with the activation plugin 'softclip' \(sha256 [0-9a-f]{12}…\); .*--activation FILE$/);
    refused(await cli(['compare', '--resume', 'cmp', '--iterations', '3', '--activation', join(PLUGINS, 'broken-derivative.mjs')], dir), 1, /^nladmm compare: --activation \S+broken-derivative\.mjs: its sha256 [0-9a-f]{12}… does not match the comparison in \S+cmp/);
    expect(await snapshot(join(dir, 'cmp'))).toEqual(before);
    const resumed = await cli(['compare', '--resume', 'cmp', '--iterations', '3', '--activation', join(PLUGINS, 'softclip.mjs')], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const m of ['admm', 'gd']) expect(parseSafetensors(await readFile(join(dir, 'cmp', m, 'checkpoint.safetensors')), m).metadata.k).toBe('3');
  });
});

describe('a plugin that hangs, never settles or exits while it loads', () => {
  const plugin = (file: string) => join(PLUGINS, file);

  it('a top-level await that never settles: train and eval exit 1 with one line (not 13, not silence)', async () => {
    const work = await tempDir('nladmm-trust-tla-');
    const path = plugin('hostile-never-settles.mjs');
    const line = new RegExp(`^nladmm (train|eval): activation plugin ${escape(path)} never finished loading: its module body waits on something that never settles \\(a top-level await\\?\\)$`);
    refused(await cliProcess(['train', ...TASK, '--iterations', '1', '--activation', path, '--out', 'run'], work, LIMIT_ENV), 1, line);
    expect(await readdir(work)).toEqual([]);
    const before = await snapshot(dir);
    refused(await cliProcess(['eval', join(dir, 'tanh-run'), '--activation', path], work, LIMIT_ENV), 1, line);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('an endless loop at import: exit 1 within the time limit, with one line', async () => {
    const work = await tempDir('nladmm-trust-loop-');
    const path = plugin('hostile-endless-loop.mjs');
    const line = new RegExp(`^nladmm (train|eval): activation plugin ${escape(path)} did not finish loading within 1\\.5 s: its import did not return \\(an endless loop or a wait\\?\\); it was stopped \\(NLADMM_PLUGIN_TIMEOUT_MS sets the limit in ms\\)$`);
    const started = Date.now();
    refused(await cliProcess(['train', ...TASK, '--iterations', '1', '--activation', path, '--out', 'run'], work, LIMIT_ENV), 1, line);
    expect(Date.now() - started).toBeLessThan(LIMIT_MS + 20_000); // the process start (tsx) included
    expect(await readdir(work)).toEqual([]);
    // In this process too: the loop runs in the vetting worker, which is terminated.
    const saved = process.env.NLADMM_PLUGIN_TIMEOUT_MS;
    process.env.NLADMM_PLUGIN_TIMEOUT_MS = String(LIMIT_MS);
    try {
      const t0 = Date.now();
      refused(await cli(['eval', join(dir, 'tanh-run'), '--activation', path], work), 1, line);
      expect(Date.now() - t0).toBeLessThan(LIMIT_MS + 5_000);
      refused(
        await cli(['train', ...TASK, '--iterations', '1', '--activation', plugin('hostile-endless-sigma.mjs'), '--out', 'run'], work),
        1,
        /^nladmm train: activation plugin \S+hostile-endless-sigma\.mjs did not finish loading within 1\.5 s: the calls of its validation \(sigma, dsigma, d2sigma\) did not return/,
      );
    } finally {
      if (saved === undefined) delete process.env.NLADMM_PLUGIN_TIMEOUT_MS;
      else process.env.NLADMM_PLUGIN_TIMEOUT_MS = saved;
    }
    expect(await readdir(work)).toEqual([]);
  });

  it('process.exit(0) at import: one line, exit 1', async () => {
    const work = await tempDir('nladmm-trust-exit-');
    const path = plugin('hostile-exit.mjs');
    const line = new RegExp(`^nladmm (train|eval): activation plugin ${escape(path)} called process\\.exit\\(0\\) while it was loaded; a plugin must not end the process$`);
    refused(await cliProcess(['train', ...TASK, '--iterations', '1', '--activation', path, '--out', 'run'], work, LIMIT_ENV), 1, line);
    expect(await readdir(work)).toEqual([]);
    refused(await cli(['eval', join(dir, 'tanh-run'), '--activation', path], work), 1, line);
  });
});

describe('a model with a NaN or infinite weight', () => {
  it('is an error in eval and predict naming the tensor, and nothing is written', async () => {
    await craft(join(dir, 'tanh-run', 'model.safetensors'), join(dir, 'nan.safetensors'), {}, (name, data) => {
      if (name === 'W2') data[3 * 8 + 7] = Number.NaN;
    });
    await craft(join(dir, 'tanh-run', 'model.safetensors'), join(dir, 'inf.safetensors'), {}, (name, data) => {
      if (name === 'b1') data[2] = -Infinity;
    });
    const before = await snapshot(dir);
    const nan = /^nladmm (eval|predict): \S+nan\.safetensors: W2 holds NaN at row 3, column 7 \(a model's weights must be finite\)$/;
    refused(await cli(['eval', 'nan.safetensors'], dir), 1, nan);
    refused(await cli(['predict', 'nan.safetensors', '--out', 'nan-out.csv'], dir), 1, nan);
    refused(await cli(['predict', 'nan.safetensors', '--out', 'nan-out.npy'], dir), 1, nan);
    refused(await cli(['eval', 'inf.safetensors', '--json'], dir), 1, /^nladmm eval: \S+inf\.safetensors: b1 holds -Infinity at row 2 \(a model's weights must be finite\)$/);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('eval refuses a loss that overflows (finite weights, infinite outputs)', async () => {
    await craft(join(dir, 'tanh-run', 'model.safetensors'), join(dir, 'huge.safetensors'), {}, (name, data) => {
      if (name === 'b3') data.fill(1e200);
    });
    refused(await cli(['eval', 'huge.safetensors'], dir), 1, /^nladmm eval: \S+huge\.safetensors: the loss on the \w+ samples is Infinity \(the network's outputs are not finite\)$/);
  });
});
