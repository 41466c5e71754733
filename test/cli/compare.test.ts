// `nladmm compare` and `nladmm train --optimizer gd|sgd` on a small synthetic regression task (teacher).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, readInitWeights } from '@nladmm/cli';
import { type CliRun, checkWellFormedXml, cli, entries, npyBytes, pngInfo, tempDir } from './helpers.ts';

const TASK = ['--dataset', 'teacher', '--layers', '3,10,2', '--n-train', '80', '--n-test', '40', '--lambda', '1e-3', '--activation', 'tanh', '--quiet'];

describe('nladmm compare', () => {
  let dir: string;
  let run: CliRun;
  beforeAll(async () => {
    dir = await tempDir();
    run = await cli(['compare', ...TASK, '--iterations', '8', '--baseline', 'sgd', '--batch-size', '16', '--learning-rate', '0.05', '--out', 'cmp'], dir);
  });

  it('exits 0 and prints the table', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\| admm \| 8 \|/);
    expect(run.stdout).toMatch(/\| sgd \| 8 \|/);
  });

  it('writes the chart (well-formed SVG, PNG) and the tables', async () => {
    expect(await entries(join(dir, 'cmp'))).toEqual([
      'admm', 'compare.json', 'compare.md', 'compare.png', 'compare.svg', 'config.json', 'initial-admm.safetensors', 'initial-sgd.safetensors', 'initial.safetensors', 'outcomes.json', 'sgd',
    ]);
    expect(run.stdout).not.toContain('run directory:'); // --quiet: only the table, not each run's summary
    // Each method is an ordinary run directory (resumable with nladmm train --resume as well).
    expect(await entries(join(dir, 'cmp', 'sgd'))).toEqual(['checkpoint.safetensors', 'config.json', 'metrics.jsonl', 'model.safetensors']);
    expect(await entries(join(dir, 'cmp', 'admm'))).toEqual(expect.arrayContaining(['checkpoint.safetensors', 'config.json', 'metrics.jsonl', 'model.safetensors']));
    const svg = await readFile(join(dir, 'cmp', 'compare.svg'), 'utf8');
    expect(checkWellFormedXml(svg).root).toBe('svg');
    expect(svg).toContain('Training loss vs wall time');
    const png = pngInfo(await readFile(join(dir, 'cmp', 'compare.png')));
    expect(png).toMatchObject({ signature: true, ihdr: true, width: 1280, height: 420 });
    const md = await readFile(join(dir, 'cmp', 'compare.md'), 'utf8');
    expect(md).toMatch(/\| method \| iterations \| final train loss/);
    expect(md).toContain('Same initial weights W^0 for both methods: yes');
    const json = JSON.parse(await readFile(join(dir, 'cmp', 'compare.json'), 'utf8'));
    expect(json.methods.map((m: { method: string }) => m.method)).toEqual(['admm', 'sgd']);
    for (const m of json.methods) {
      expect(m.iterations).toBe(8);
      expect(Number.isFinite(m.finalTrainLoss)).toBe(true);
      expect(m.msPerIteration).toBeGreaterThan(0);
    }
    for (const name of ['admm', 'sgd']) {
      const lines = (await readFile(join(dir, 'cmp', name, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.at(-1).iteration).toBe(8);
    }
  });

  it('starts both methods from identical weights', async () => {
    const json = JSON.parse(await readFile(join(dir, 'cmp', 'compare.json'), 'utf8'));
    expect(json.initialWeights).toMatchObject({ identical: true, maxAbsDiff: 0, admmVsDrawn: 0, baselineVsDrawn: 0 });
    const a = await readInitWeights(join(dir, 'cmp', 'initial-admm.safetensors'), [3, 10, 2], true);
    const b = await readInitWeights(join(dir, 'cmp', 'initial-sgd.safetensors'), [3, 10, 2], true);
    expect(a.map((w) => [w.rows, w.cols])).toEqual([[10, 4], [2, 11]]);
    expect(b.map((w) => Array.from(w.data))).toEqual(a.map((w) => Array.from(w.data)));
    expect(a[0].data.some((v) => v !== 0)).toBe(true);
  });
});

describe('nladmm compare --resume', () => {
  const ARGS = ['compare', ...TASK, '--baseline', 'sgd', '--batch-size', '16', '--learning-rate', '0.05', '--checkpoint-every', '3'];
  const tensorsOf = async (path: string) => new Map(parseSafetensors(await readFile(path), path).tensors.map((t) => [t.name, Buffer.from(t.data.buffer)]));
  const expectSameRuns = async (a: string, b: string) => {
    for (const method of ['admm', 'sgd']) {
      const x = await tensorsOf(join(a, method, 'checkpoint.safetensors'));
      const y = await tensorsOf(join(b, method, 'checkpoint.safetensors'));
      expect([...x.keys()]).toEqual([...y.keys()]);
      for (const [name, bytes] of y) expect(x.get(name)!.equals(bytes), `${method} ${name}`).toBe(true);
    }
    const rows = async (d: string) => JSON.parse(await readFile(join(d, 'compare.json'), 'utf8')).methods.map((m: Record<string, unknown>) => [m.method, m.iterations, m.finalTrainLoss, m.finalTestLoss]);
    expect(await rows(a)).toEqual(await rows(b));
  };
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    expect((await cli([...ARGS, '--iterations', '8', '--out', 'straight'], dir)).code).toBe(0);
  });

  it('continues a comparison stopped in its ADMM run, and ends where an uninterrupted one ends', async () => {
    const stop = new AbortController();
    stop.abort(); // as a SIGINT before the first iteration: the ADMM run checkpoints iteration 0 and the comparison stops
    const stopped = await cli([...ARGS, '--iterations', '8', '--out', 'cmp'], dir, stop.signal);
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toContain(`the comparison stopped in the admm run at iteration 0; continue it with: nladmm compare --resume ${join(dir, 'cmp')}`);
    expect(await entries(join(dir, 'cmp'))).toEqual(['admm', 'config.json', 'initial-admm.safetensors', 'initial.safetensors']);
    const resumed = await cli(['compare', '--resume', 'cmp', '--quiet'], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/\| admm \| 8 \|/);
    expect(resumed.stdout).toMatch(/\| sgd \| 8 \|/);
    await expectSameRuns(join(dir, 'cmp'), join(dir, 'straight'));
  });

  it('extends both runs with a larger --iterations, and keeps that budget for later resumes', async () => {
    expect((await cli([...ARGS, '--iterations', '5', '--out', 'short'], dir)).code).toBe(0);
    const resumed = await cli(['compare', '--resume', 'short', '--iterations', '8', '--quiet'], dir);
    expect(resumed.code).toBe(0);
    await expectSameRuns(join(dir, 'short'), join(dir, 'straight'));
    const iterations = (await readFile(join(dir, 'short', 'sgd', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
    expect(iterations.at(-1)).toBe(8);
    expect(new Set(iterations).size).toBe(iterations.length);
    expect(JSON.parse(await readFile(join(dir, 'short', 'config.json'), 'utf8')).options.iterations).toBe(8);
    const again = await cli(['compare', '--resume', 'short', '--quiet'], dir);
    expect(again.code).toBe(0);
    await expectSameRuns(join(dir, 'short'), join(dir, 'straight'));
  });

  it('does not run a finished run again: runs stopped by --time-limit stay as they are on a bare resume', async () => {
    expect((await cli([...ARGS, '--iterations', '1000000', '--time-limit', '0.2', '--out', 'timed'], dir)).code).toBe(0);
    const rows = async () => JSON.parse(await readFile(join(dir, 'timed', 'compare.json'), 'utf8')).methods.map((m: Record<string, unknown>) => [m.method, m.reason, m.iterations]);
    const before = await rows();
    expect(before.map((r: unknown[]) => r[1])).toEqual(['time', 'time']);
    const resumed = await cli(['compare', '--resume', 'timed', '--quiet'], dir);
    expect(resumed.code).toBe(0);
    expect(await rows()).toEqual(before);
  });

  it.each([
    [['--resume', 'straight', '--baseline', 'gd'], /--baseline cannot change when resuming \(the comparison's config\.json fixes it\); only --iterations, --time-limit, --metrics-every, --checkpoint-every, --plots, --threads, --quiet, --debug may be given/],
    [['--resume', 'straight', '--out', 'x'], /give no --out/],
    [['--resume', 'nowhere'], /not a comparison directory/],
    [['--resume', 'straight', '--iterations', '3'], /--iterations 3 is below the 8 iterations the admm run has done/],
  ])('refuses %j', async (args, message) => {
    const run = await cli(['compare', ...args], dir);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
  });

  it('checks the backend before writing anything', async () => {
    const run = await cli(['compare', ...TASK, '--backend', 'webgpu', '--iterations', '3', '--out', 'gpu64'], dir);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/the webgpu backend computes in f32/);
    expect(existsSync(join(dir, 'gpu64'))).toBe(false);
  });

  it('checks the baseline before running ADMM: a bad batch size writes nothing', async () => {
    const run = await cli(['compare', ...TASK, '--baseline', 'sgd', '--batch-size', '81', '--iterations', '3', '--out', 'bad'], dir);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/batchSize must be an integer in \[1, n\] = \[1, 80\]/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });
});

describe('nladmm compare on class labels', () => {
  it('adds the test-accuracy panels and the accuracy columns', async () => {
    // Three separable classes in 2-D (.npy features and integer labels), a test set split off.
    const dir = await tempDir();
    const n = 90;
    const x: number[] = [];
    const y: number[] = [];
    for (let s = 0; s < n; s++) {
      const c = s % 3;
      y.push(c);
      x.push(Math.cos((2 * Math.PI * c) / 3) + 0.05 * Math.sin(7 * s), Math.sin((2 * Math.PI * c) / 3) + 0.05 * Math.cos(5 * s));
    }
    await writeFile(join(dir, 'x.npy'), npyBytes('<f8', [n, 2], x));
    await writeFile(join(dir, 'y.npy'), npyBytes('<i8', [n], y));
    const run = await cli(
      ['compare', '--dataset', 'x.npy', '--labels', 'y.npy', '--test-split', '0.3', '--layers', '2,8,3', '--lambda', '1e-3', '--iterations', '6', '--baseline', 'gd', '--learning-rate', '0.5', '--out', 'cmp', '--quiet'],
      dir,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const svg = await readFile(join(dir, 'cmp', 'compare.svg'), 'utf8');
    expect(checkWellFormedXml(svg).root).toBe('svg');
    expect(svg).toContain('Test accuracy vs iteration');
    expect(svg).toContain('Test accuracy vs wall time');
    expect(pngInfo(await readFile(join(dir, 'cmp', 'compare.png')))).toMatchObject({ signature: true, ihdr: true });
    const json = JSON.parse(await readFile(join(dir, 'cmp', 'compare.json'), 'utf8'));
    for (const m of json.methods) {
      for (const key of ['finalTrainAccuracy', 'finalTestAccuracy']) {
        expect(m[key], `${m.method} ${key}`).toBeGreaterThanOrEqual(0);
        expect(m[key], `${m.method} ${key}`).toBeLessThanOrEqual(1);
      }
    }
    const md = await readFile(join(dir, 'cmp', 'compare.md'), 'utf8');
    expect(md).toMatch(/\| admm \| 6 \| \S+ \| \d+\.\d\d% \| \S+ \| \d+\.\d\d% \|/);
    expect(md).toMatch(/\| gd \| 6 \| \S+ \| \d+\.\d\d% \| \S+ \| \d+\.\d\d% \|/);
  });
});

describe('nladmm train --optimizer', () => {
  it('trains with gd and writes parseable metrics and a model', async () => {
    const dir = await tempDir();
    const run = await cli(['train', ...TASK, '--optimizer', 'gd', '--learning-rate', '0.1', '--momentum', '0.5', '--iterations', '6', '--metrics-every', '2', '--out', 'run'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await entries(join(dir, 'run'))).toEqual(['checkpoint.safetensors', 'config.json', 'metrics.jsonl', 'model.safetensors']);
    const config = JSON.parse(await readFile(join(dir, 'run', 'config.json'), 'utf8'));
    expect(config.options).toMatchObject({ optimizer: 'gd', 'learning-rate': 0.1, momentum: 0.5 });
    const records = (await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.iteration)).toEqual([1, 2, 4, 6]);
    for (const r of records) for (const v of [r.objective, r.trainLoss, r.gradNorm, r.testLoss]) expect(Number.isFinite(v)).toBe(true);
    expect(records.at(-1).trainLoss).toBeLessThan(records[0].trainLoss);
  });

  it('resumes a baseline run (sgd: velocity and the shuffles mid-epoch) bit for bit', async () => {
    const dir = await tempDir();
    const args = ['train', ...TASK, '--optimizer', 'sgd', '--learning-rate', '0.05', '--batch-size', '16', '--metrics-every', '1', '--checkpoint-every', '3'];
    const first = await cli([...args, '--iterations', '7', '--out', 'run'], dir);
    expect(first.code).toBe(0);
    const resumed = await cli(['train', '--resume', 'run', '--iterations', '12', '--quiet'], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^sgd stopped \(iterations\) at iteration 12/);
    const straight = await cli([...args, '--iterations', '12', '--out', 'straight'], dir);
    expect(straight.code).toBe(0);
    const tensorsOf = async (path: string) => new Map(parseSafetensors(await readFile(path), path).tensors.map((t) => [t.name, Buffer.from(t.data.buffer)]));
    const a = await tensorsOf(join(dir, 'run', 'checkpoint.safetensors'));
    const b = await tensorsOf(join(dir, 'straight', 'checkpoint.safetensors'));
    expect([...a.keys()]).toEqual(['W1', 'b1', 'W2', 'b2', 'M1', 'M2', 'order']);
    for (const [name, bytes] of b) expect(a.get(name)!.equals(bytes), name).toBe(true);
    const iterations = (await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
    expect(iterations).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const model = await cli(['eval', 'run', '--json'], dir);
    expect(model.code).toBe(0);
    expect(JSON.parse(model.stdout).iteration).toBe(12);
  });

  it('trains with adam (mini-batch) and lowers the training loss', async () => {
    const dir = await tempDir();
    const run = await cli(['train', ...TASK, '--optimizer', 'adam', '--learning-rate', '0.01', '--batch-size', '16', '--iterations', '20', '--metrics-every', '5', '--out', 'run'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const records = (await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.at(-1).trainLoss).toBeLessThan(records[0].trainLoss);
  });

  it.each([
    [['--optimizer', 'rmsprop'], /optimizer/],
    [['--optimizer', 'adam', '--momentum', '0.5'], /--momentum applies only to --optimizer gd or sgd/],
    [['--optimizer', 'gd', '--learning-rate', '-1'], /--learning-rate must be/],
    [['--optimizer', 'sgd', '--momentum', '1', '--batch-size', '8'], /--momentum must be in \[0, 1\)/],
    [['--optimizer', 'sgd'], /needs --batch-size/],
    [['--optimizer', 'sgd', '--batch-size', '1000'], /batchSize must be an integer in \[1, n\]/],
    [['--optimizer', 'gd', '--batch-size', '8'], /applies only to --optimizer sgd/],
    [['--momentum', '0.5'], /applies only to --optimizer gd, sgd or adam/],
  ])('refuses bad optimizer options %j with one line', async (extra, message) => {
    const dir = await tempDir();
    const run = await cli(['train', ...TASK, '--iterations', '2', '--out', 'run', ...extra], dir);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(await entries(dir)).toEqual([]);
  });

  it('compare refuses a bad baseline with one line', async () => {
    const dir = await tempDir();
    const run = await cli(['compare', ...TASK, '--baseline', 'rmsprop', '--out', 'cmp'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
