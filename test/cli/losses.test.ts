// --loss through the CLI (in-process): the built-in cross-entropy trains (ADMM and a baseline) and eval reports the
// same loss; a loss plugin is vetted and validated like an activation plugin (a broken one is refused in one line
// naming its check), recorded by name and sha256, and needed again as --loss FILE by eval and --resume; targets the
// loss cannot use (regression targets with cross-entropy) are a one-line usage error.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@nladmm/core';
import { encodeSafetensors, parseSafetensors } from '@nladmm/cli';
import { type CliRun, PLUGINS, cli, entries, tempDir } from './helpers.ts';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const REGRESSION = ['--dataset', 'teacher', '--layers', '3,6,2', '--n-train', '30', '--n-test', '10', '--lambda', '1e-2', '--no-plots', '--quiet'];
const HUBER = join(PLUGINS, 'loss-pseudo-huber.mjs');

/** The run failed with exactly one line on stderr matching `line`, and printed nothing on stdout. */
function refused(run: CliRun, code: number, line: RegExp): void {
  expect(run.stderr.trimEnd().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr.trimEnd()).toMatch(line);
  expect(run.code, run.stderr).toBe(code);
  expect(run.stdout).toBe('');
}

async function lastMetrics(runDir: string): Promise<{ iteration: number; trainLoss: number; testLoss?: number; trainAccuracy?: number; testAccuracy?: number }> {
  return JSON.parse((await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').at(-1)!);
}

async function metadata(path: string): Promise<Record<string, string>> {
  return parseSafetensors(await readFile(path), path).metadata;
}

let dir: string;

beforeAll(async () => {
  dir = await tempDir('nladmm-loss-');
  const rng = new Rng(3);
  const rows = ['f0,f1,f2,label'];
  for (let k = 0; k < 60; k++) {
    const label = k % 3;
    rows.push([0, 1, 2].map((j) => ((j === label ? 2 : 0) + 0.6 * rng.normal()).toFixed(4)).join(',') + `,${label}`);
  }
  await writeFile(join(dir, 'blobs.csv'), `${rows.join('\n')}\n`);
});

const CLASSES = () => ['--dataset', join(dir, 'blobs.csv'), '--test-split', '0.25', '--layers', '3,6,3', '--lambda', '1e-2', '--no-plots', '--quiet'];

describe('--loss cross-entropy', () => {
  it('trains, records the loss, and eval reports the same loss figure', async () => {
    const run = await cli(['train', ...CLASSES(), '--loss', 'cross-entropy', '--iterations', '4', '--out', 'ce'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'ce', 'config.json'), 'utf8'));
    expect(config.options.loss).toBe('cross-entropy');
    expect(config.nladmm.lossPlugin).toBeUndefined();
    for (const name of ['model.safetensors', 'checkpoint.safetensors']) {
      const meta = await metadata(join(dir, 'ce', name));
      expect(meta.loss).toBe('cross-entropy');
      expect(meta.loss_sha256).toBeUndefined();
      expect(JSON.parse(meta.config).loss).toBe('cross-entropy');
    }
    const final = await lastMetrics(join(dir, 'ce'));
    const evaluated = await cli(['eval', 'ce', '--json'], dir);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const report = JSON.parse(evaluated.stdout);
    expect(report.lossFunction).toBe('cross-entropy');
    expect(report.results).toEqual([
      { set: 'train', samples: 45, loss: final.trainLoss, accuracy: final.trainAccuracy },
      { set: 'test', samples: 15, loss: final.testLoss, accuracy: final.testAccuracy },
    ]);
    // Not the squared loss: eval --loss squared gives another figure for the same model.
    const squared = JSON.parse((await cli(['eval', 'ce', '--json', '--loss', 'squared'], dir)).stdout);
    expect(squared.lossFunction).toBe('squared');
    expect(squared.results[0].loss).not.toBe(final.trainLoss);
    expect((await cli(['eval', 'ce'], dir)).stdout).toMatch(/^model \S+: 3-6-3 sigmoid, iteration 4, loss cross-entropy$/m);
  });

  it('trains a baseline (gd) with it too', async () => {
    const run = await cli(['train', ...CLASSES(), '--loss', 'cross-entropy', '--optimizer', 'gd', '--iterations', '3', '--out', 'ce-gd'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await metadata(join(dir, 'ce-gd', 'model.safetensors'))).loss).toBe('cross-entropy');
    const final = await lastMetrics(join(dir, 'ce-gd'));
    expect(JSON.parse((await cli(['eval', 'ce-gd', '--json'], dir)).stdout).results[0].loss).toBe(final.trainLoss);
  });

  it('refuses regression targets in one line (a usage error), for ADMM and the baselines, writing nothing', async () => {
    const cwd = await tempDir();
    const line = /^nladmm train: --loss cross-entropy cannot use the target of training sample 0: entry \d is -?[\d.e-]+ \(a target must be a probability vector: entries ≥ 0 summing to 1\); the data has raw \(regression\) targets: use class labels with --targets onehot, or --loss squared$/;
    refused(await cli(['train', ...REGRESSION, '--loss', 'cross-entropy', '--iterations', '2', '--out', 'run'], cwd), 2, line);
    refused(await cli(['train', ...REGRESSION, '--loss', 'cross-entropy', '--optimizer', 'adam', '--iterations', '2', '--out', 'run'], cwd), 2, line);
    expect(await entries(cwd)).toEqual([]);
  });
});

describe('a loss plugin', () => {
  let huberSha: string;
  beforeAll(async () => {
    huberSha = sha256(await readFile(HUBER));
    const run = await cli(['train', ...REGRESSION, '--loss', HUBER, '--iterations', '3', '--out', 'huber'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The mean loss is "train loss" / "test loss" with the loss named (it is not the squared loss, nor an MSE).
    expect(run.stdout).toMatch(/^𝓛 \S+  ‖∇𝓛‖ \S+  train loss \(pseudo-huber\) \S+  test loss \(pseudo-huber\) \S+$/m);
    expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^train loss \(pseudo-huber\): \S+  test loss \(pseudo-huber\): \S+$/);
  });

  it('is accepted and recorded by name and sha256 (its path only in config.json)', async () => {
    const config = JSON.parse(await readFile(join(dir, 'huber', 'config.json'), 'utf8'));
    expect(config.nladmm.lossPlugin).toEqual({ name: 'pseudo-huber', sha256: huberSha, path: HUBER });
    for (const name of ['model.safetensors', 'checkpoint.safetensors']) {
      const meta = await metadata(join(dir, 'huber', name));
      expect(meta.loss).toBe('pseudo-huber');
      expect(meta.loss_sha256).toBe(huberSha);
      expect(JSON.parse(meta.config).loss).toBe('pseudo-huber');
      expect(Object.values(meta).some((v) => v.includes('.mjs'))).toBe(false);
    }
  });

  it('eval needs --loss FILE with the recorded sha256, and then reports the run\'s loss', async () => {
    const model = join(dir, 'huber', 'model.safetensors');
    const prefix = huberSha.slice(0, 12);
    refused(await cli(['eval', 'huber'], dir), 1, new RegExp(`^nladmm eval: ${escape(model)} was trained with the loss plugin 'pseudo-huber' \\(sha256 ${prefix}…\\); nladmm never runs code named by a model or run: pass that plugin's file with --loss FILE$`));
    refused(await cli(['eval', 'huber', '--loss', 'squared'], dir), 1, /^nladmm eval: --loss squared: \S+ was trained with the loss plugin 'pseudo-huber' \(sha256 [0-9a-f]{12}…\); pass that plugin's file with --loss FILE$/);
    await mkdir(join(dir, 'plugins'), { recursive: true });
    const changed = join(dir, 'plugins', 'huber-changed.mjs');
    await writeFile(changed, `${await readFile(HUBER, 'utf8')}\n// changed\n`);
    refused(await cli(['eval', 'huber', '--loss', changed], dir), 1, new RegExp(`^nladmm eval: --loss ${escape(changed)}: its sha256 [0-9a-f]{12}… does not match ${escape(model)}, trained with the plugin 'pseudo-huber' of sha256 ${prefix}… \\(a different or modified file\\)$`));
    const text = await cli(['eval', 'huber', '--loss', HUBER], dir);
    expect(text.stdout).toMatch(/^test  +10 samples  loss \(pseudo-huber\) \S+  MSE \S+$/m);
    const ok = await cli(['eval', 'huber', '--json', '--loss', HUBER], dir);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const final = await lastMetrics(join(dir, 'huber'));
    expect(JSON.parse(ok.stdout).results).toEqual([
      { set: 'train', samples: 30, loss: final.trainLoss },
      { set: 'test', samples: 10, loss: final.testLoss },
    ]);
    // predict does not use the loss: no plugin needed.
    const predicted = await cli(['predict', 'huber', '--out', 'huber.csv'], dir);
    expect(predicted.code, predicted.stderr).toBe(0);
  });

  it('--resume needs --loss FILE and continues with it', async () => {
    const runDir = join(dir, 'huber');
    refused(await cli(['train', '--resume', 'huber', '--iterations', '4'], dir), 1, new RegExp(`^nladmm train: the run in ${escape(runDir)} was trained with the loss plugin 'pseudo-huber' \\(sha256 [0-9a-f]{12}…\\); nladmm never runs code named by a model or run: pass that plugin's file with --loss FILE$`));
    const resumed = await cli(['train', '--resume', 'huber', '--iterations', '4', '--quiet', '--loss', HUBER], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const meta = await metadata(join(runDir, 'checkpoint.safetensors'));
    expect(meta.k).toBe('4');
    expect(meta.loss_sha256).toBe(huberSha);
  });

  it('nladmm compare runs both methods with it, and --resume needs --loss FILE', async () => {
    const started = await cli(['compare', ...REGRESSION, '--iterations', '2', '--loss', HUBER, '--out', 'cmp'], dir);
    expect(started.code, started.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'cmp', 'config.json'), 'utf8')).nladmm.lossPlugin).toMatchObject({ name: 'pseudo-huber', sha256: huberSha });
    for (const m of ['admm', 'gd']) expect((await metadata(join(dir, 'cmp', m, 'model.safetensors'))).loss_sha256).toBe(huberSha);
    refused(await cli(['compare', '--resume', 'cmp', '--iterations', '3'], dir), 1, /^nladmm compare: the comparison in \S+cmp was trained with the loss plugin 'pseudo-huber' \(sha256 [0-9a-f]{12}…\); .*--loss FILE$/);
    const resumed = await cli(['compare', '--resume', 'cmp', '--iterations', '3', '--loss', HUBER, '--quiet'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const m of ['admm', 'gd']) expect((await metadata(join(dir, 'cmp', m, 'checkpoint.safetensors'))).k).toBe('3');
  });

  it.each([
    ['broken-loss-infinite.mjs', 'broken-loss-infinite', 'finite', /value\(.+\) = Infinity/],
    ['broken-loss-gradient.mjs', 'broken-loss-gradient', 'gradient', /gradient\(.+\)\[0\] = .+ but a finite difference of value gives .+/],
    ['broken-loss-nonconvex.mjs', 'broken-loss-nonconvex', 'convexity', /value\(.+\) = .+ lies below the tangent at .+/],
    ['broken-loss-newton.mjs', 'broken-loss-newton', 'newton solve', /\(∇²ℓ \+ βI\) s differs from r by .+ \(β = 0\.7\)/],
  ])('%s is refused in one line naming the plugin and the failed check', async (file, name, check, detail) => {
    const cwd = await tempDir();
    const path = join(PLUGINS, file);
    const run = await cli(['train', ...REGRESSION, '--loss', path, '--iterations', '1', '--out', 'run'], cwd);
    refused(run, 1, new RegExp(`^nladmm train: loss '${name}' refused: ${check} check failed: .+ \\(plugin ${escape(path)}\\)$`));
    expect(run.stderr).toMatch(detail);
    expect(await entries(cwd)).toEqual([]);
  });

  it('that never returns from its calls is stopped at the time limit (vetted in a worker thread)', async () => {
    const cwd = await tempDir();
    const path = join(PLUGINS, 'hostile-loss-endless-newton.mjs');
    const saved = process.env.NLADMM_PLUGIN_TIMEOUT_MS;
    process.env.NLADMM_PLUGIN_TIMEOUT_MS = '1500';
    try {
      const started = Date.now();
      refused(
        await cli(['train', ...REGRESSION, '--loss', path, '--iterations', '1', '--out', 'run'], cwd),
        1,
        new RegExp(`^nladmm train: loss plugin ${escape(path)} did not finish loading within 1\\.5 s: the calls of its validation \\(value, gradient, newtonSolve\\) did not return \\(an endless loop or a wait\\?\\); it was stopped \\(NLADMM_PLUGIN_TIMEOUT_MS sets the limit in ms\\)$`),
      );
      expect(Date.now() - started).toBeLessThan(1500 + 5000);
    } finally {
      if (saved === undefined) delete process.env.NLADMM_PLUGIN_TIMEOUT_MS;
      else process.env.NLADMM_PLUGIN_TIMEOUT_MS = saved;
    }
    refused(await cli(['train', ...REGRESSION, '--loss', join(PLUGINS, 'hostile-exit.mjs'), '--out', 'run'], cwd), 1, /^nladmm train: loss plugin \S+hostile-exit\.mjs called process\.exit\(0\) while it was loaded; a plugin must not end the process$/);
    refused(await cli(['train', ...REGRESSION, '--loss', 'hinge', '--out', 'run'], cwd), 2, /^nladmm train: unknown loss 'hinge' \(built in: squared, cross-entropy; or give a plugin file such as \.\/my-loss\.mjs\)$/);
    expect(await entries(cwd)).toEqual([]);
  });
});

describe('records of an older nladmm (no loss)', () => {
  it('mean the squared loss: a model without a loss field evaluates, a run without one resumes', async () => {
    const run = await cli(['train', ...REGRESSION, '--iterations', '2', '--out', 'plain'], dir);
    expect(run.code, run.stderr).toBe(0);
    const source = parseSafetensors(await readFile(join(dir, 'plain', 'model.safetensors')), 'model');
    const { loss, ...kept } = source.metadata;
    expect(loss).toBe('squared');
    const options = JSON.parse(kept.config);
    delete options.loss;
    const meta: Record<string, string> = { ...kept, config: JSON.stringify(options) };
    await writeFile(join(dir, 'old-model.safetensors'), encodeSafetensors(source.tensors.map((t) => ({ name: t.name, dtype: 'F64' as const, shape: t.shape, data: Float64Array.from(t.data) })), meta));
    const old = JSON.parse((await cli(['eval', 'old-model.safetensors', '--json'], dir)).stdout);
    const current = JSON.parse((await cli(['eval', 'plain', '--json'], dir)).stdout);
    expect(old.lossFunction).toBe('squared');
    expect(old.results).toEqual(current.results);
    // config.json without "loss": the resume compares it with the checkpoint's options as the default, squared.
    const configPath = join(dir, 'plain', 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    delete config.options.loss;
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const resumed = await cli(['train', '--resume', 'plain', '--iterations', '3', '--quiet'], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
  });
});

describe('options', () => {
  it('nladmm train --help lists --loss and the β schedule', async () => {
    const help = (await cli(['train', '--help'], dir)).stdout;
    for (const option of ['--loss NAME|FILE', '--beta-factor F', '--beta-every M', '--beta-cap C']) expect(help).toContain(option);
    expect(help).toMatch(/--loss NAME\|FILE\s+loss ℓ\(V_N; Y\): squared .*cross-entropy .*plugin/);
  });

  it('--loss with --theory-parameters is a usage error; nladmm theory with another loss says what it leaves unproven', async () => {
    const cwd = await tempDir();
    refused(await cli(['train', '--preset', 'theory', '--loss', 'cross-entropy', '--out', 'run'], cwd), 2, /^nladmm train: --loss cross-entropy cannot be used with --theory-parameters: Theorem 3 is stated for the squared loss of \(5\)/);
    const report = await cli(['theory', '--preset', 'theory', '--no-theory-parameters', '--loss', HUBER], cwd);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/note: loss 'pseudo-huber' is not the paper's/);
    expect(await entries(cwd)).toEqual([]);
  });

  it('a --config file may set the loss (a plugin path as typed)', async () => {
    const cwd = await tempDir();
    await copyFile(HUBER, join(cwd, 'huber.mjs'));
    await writeFile(join(cwd, 'c.json'), JSON.stringify({ dataset: 'teacher', layers: [3, 4, 2], 'n-train': 20, 'n-test': 0, iterations: 1, plots: false, loss: join(cwd, 'huber.mjs') }));
    const run = await cli(['train', '--config', 'c.json', '--out', 'run', '--quiet'], cwd);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await metadata(join(cwd, 'run', 'model.safetensors'))).loss).toBe('pseudo-huber');
  });
});
