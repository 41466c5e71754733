// End to end through the CLI (in-process): train on small synthetic and CSV tasks, then eval, predict and plot
// read back what train wrote.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@nladmm/core';
import { parseNpy, parseSafetensors } from '@nladmm/cli';
import { type CliRun, checkWellFormedXml, cli, entries, pngInfo, tempDir } from './helpers.ts';

interface Record_ {
  iteration: number;
  augmentedLagrangian: number;
  gradNorm: number;
  residuals: number[];
  trainLoss: number;
  testLoss?: number;
  trainAccuracy?: number;
  testAccuracy?: number;
  runningMeanGradSq: number | null;
}

async function metrics(runDir: string): Promise<Record_[]> {
  const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trim().split('\n').map((line) => JSON.parse(line) as Record_);
}

describe('train → eval → predict → plot on a small regression task (teacher network)', () => {
  let dir: string;
  let run: CliRun;
  const args = ['--dataset', 'teacher', '--layers', '3,12,12,2', '--n-train', '150', '--n-test', '60', '--iterations', '12', '--metrics-every', '2', '--checkpoint-every', '5', '--lambda', '1e-3', '--activation', 'tanh'];

  beforeAll(async () => {
    dir = await tempDir();
    run = await cli(['train', ...args, '--out', 'run'], dir);
  });

  it('exits 0 and ends with the train and test loss', () => {
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^train loss: \S+ {2}test loss: \S+$/);
    expect(run.stdout).not.toMatch(/MSE|ℒ/);
  });

  it('writes a complete run directory', async () => {
    expect(await entries(join(dir, 'run'))).toEqual(['checkpoint.safetensors', 'config.json', 'metrics.jsonl', 'model.safetensors', 'plots']);
    expect(await entries(dir)).toEqual(['run']); // no staging or temporary files left
    const config = JSON.parse(await readFile(join(dir, 'run', 'config.json'), 'utf8'));
    expect(config.options).toMatchObject({ dataset: 'teacher', layers: [3, 12, 12, 2], activation: 'tanh', iterations: 12, lambda: 1e-3 });
  });

  it('logs parseable metrics at the evaluated iterations', async () => {
    const records = await metrics(join(dir, 'run'));
    expect(records.map((r) => r.iteration)).toEqual([1, 2, 4, 6, 8, 10, 12]);
    for (const r of records) {
      expect(r.residuals).toHaveLength(3);
      for (const v of [r.augmentedLagrangian, r.gradNorm, r.trainLoss, r.testLoss!]) expect(Number.isFinite(v)).toBe(true);
    }
    expect(records.at(-1)!.runningMeanGradSq).toBeGreaterThan(0);
  });

  it('gives a model that eval loads with exactly the numbers of training', async () => {
    const final = (await metrics(join(dir, 'run'))).at(-1)!;
    const evaluated = await cli(['eval', 'run', '--json'], dir);
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(evaluated.stdout);
    expect(report.iteration).toBe(12);
    expect(report.results).toEqual([
      { set: 'train', samples: 150, loss: final.trainLoss },
      { set: 'test', samples: 60, loss: final.testLoss },
    ]);
    const text = await cli(['eval', join(dir, 'run', 'model.safetensors')], dir);
    expect(text.stdout).toMatch(/test\s+60 samples {2}loss/);
  });

  it('reproduces the run from its config.json', async () => {
    const again = await cli(['train', '--config', 'run/config.json', '--out', 'again', '--quiet'], dir);
    expect(again.code).toBe(0);
    const a = parseSafetensors(await readFile(join(dir, 'run', 'model.safetensors')), 'a');
    const b = parseSafetensors(await readFile(join(dir, 'again', 'model.safetensors')), 'b');
    expect(b.tensors.map((t) => t.name)).toEqual(['W1', 'b1', 'W2', 'b2', 'W3', 'b3']);
    for (const t of a.tensors) expect(b.get(t.name)!.data).toEqual(t.data);
  });

  it('draws the charts as well-formed SVG and PNG of the stated size', async () => {
    const plotted = await cli(['plot', 'run', '--out', 'charts', '--width', '640', '--height', '400'], dir);
    expect(plotted.code).toBe(0);
    for (const plots of [join(dir, 'run', 'plots'), join(dir, 'charts')]) {
      const names = await entries(plots);
      expect(names).toEqual(['gradient.png', 'gradient.svg', 'lagrangian.png', 'lagrangian.svg', 'loss.png', 'loss.svg', 'rate.png', 'rate.svg', 'residuals.png', 'residuals.svg']);
      for (const name of names.filter((n) => n.endsWith('.svg'))) {
        const svg = await readFile(join(plots, name), 'utf8');
        const { root, elements } = checkWellFormedXml(svg);
        expect(root).toBe('svg');
        expect(elements).toBeGreaterThan(20);
        expect(svg).toContain('<polyline');
      }
      const size = plots.endsWith('charts') ? [640, 400] : [960, 600];
      for (const name of names.filter((n) => n.endsWith('.png'))) {
        const info = pngInfo(await readFile(join(plots, name)));
        expect(info).toEqual({ signature: true, ihdr: true, width: size[0], height: size[1] });
      }
    }
  });

  it('writes predictions as CSV and .npy', async () => {
    const csv = await cli(['predict', 'run', '--out', 'p.csv'], dir);
    expect(csv.code).toBe(0);
    const lines = (await readFile(join(dir, 'p.csv'), 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('output_0,output_1');
    expect(lines).toHaveLength(61);
    const npy = await cli(['predict', 'run', '--split', 'all', '--out', 'p.npy'], dir);
    expect(npy.code).toBe(0);
    const array = parseNpy(await readFile(join(dir, 'p.npy')), 'p.npy');
    expect(array.shape).toEqual([210, 2]);
    expect(array.data[150 * 2 + 1]).toBe(Number(lines[1].split(',')[1]));
  });
});

describe('classification from a CSV file', () => {
  it('trains, and eval reproduces the final accuracies; predict writes classes', async () => {
    const dir = await tempDir();
    const rng = new Rng(5);
    const rows = ['f0,f1,label,f2'];
    for (let k = 0; k < 240; k++) {
      const label = k % 3;
      const f = [0, 1, 2].map((j) => (j === label ? 2 : 0) + 0.7 * rng.normal());
      rows.push(`${f[0].toFixed(4)},${f[1].toFixed(4)},${label},${(10 * f[2]).toFixed(3)}`);
    }
    await writeFile(join(dir, 'blobs.csv'), `${rows.join('\n')}\n`);
    const run = await cli(['train', '--dataset', 'blobs.csv', '--label-column', 'label', '--test-split', '0.25', '--scale', 'standard', '--layers', '3,10,10,3', '--iterations', '15', '--lambda', '0.01', '--out', 'run', '--no-plots'], dir);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const last = run.stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^test accuracy: \d+\.\d\d%$/);
    const final = (await metrics(join(dir, 'run'))).at(-1)!;
    expect(final.testAccuracy).toBeGreaterThan(0.8);
    const report = JSON.parse((await cli(['eval', 'run', '--json'], dir)).stdout);
    expect(report.results).toEqual([
      { set: 'train', samples: 180, loss: final.trainLoss, accuracy: final.trainAccuracy },
      { set: 'test', samples: 60, loss: final.testLoss, accuracy: final.testAccuracy },
    ]);
    const predicted = await cli(['predict', 'run', '--labels-only', '--out', 'classes.npy'], dir);
    expect(predicted.code).toBe(0);
    const classes = parseNpy(await readFile(join(dir, 'classes.npy')), 'classes.npy');
    expect(classes.shape).toEqual([60]);
    expect([...classes.data].every((c) => c >= 0 && c < 3)).toBe(true);
    expect(await entries(join(dir, 'run'))).not.toContain('plots');
  });
});

describe('the paper-square preset', () => {
  it('reaches a training MSE below 1e-8 in 50 iterations', async () => {
    const dir = await tempDir();
    const run = await cli(['train', '--preset', 'paper-square', '--out', 'square', '--no-plots', '--metrics-every', '10'], dir);
    expect(run.code).toBe(0);
    // The final line is the mean loss ½ n⁻¹ ‖·‖² (d_N = 1): the MSE is twice it.
    const loss = Number(/^train loss: (\S+)/m.exec(run.stdout)![1]);
    expect(2 * loss).toBeLessThan(1e-8);
    const final = (await metrics(join(dir, 'square'))).at(-1)!;
    expect(final.iteration).toBe(50);
    expect(2 * final.trainLoss).toBeLessThan(1e-8);
  });
});

describe('an activation outside Assumption 1 (softplus: σ unbounded)', () => {
  it("trains with --step-rule authors, warning that the guarantees do not apply; eval loads it by name", async () => {
    const dir = await tempDir();
    const run = await cli(['train', '--dataset', 'square', '--layers', '1,6,1', '--n-train', '30', '--n-test', '0', '--activation', 'softplus', '--step-rule', 'authors', '--iterations', '3', '--out', 'run', '--no-plots', '--quiet'], dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("warning: activation 'softplus' does not satisfy Assumption 1: the convergence guarantees of Theorem 1 do not apply");
    expect(run.stderr).not.toMatch(/error/i);
    const config = JSON.parse(await readFile(join(dir, 'run', 'config.json'), 'utf8'));
    expect(JSON.stringify(config)).toContain('"activation":"softplus"');
    const final = (await metrics(join(dir, 'run'))).at(-1)!;
    expect(final.iteration).toBe(3);
    expect(Number.isFinite(final.trainLoss)).toBe(true);
    const report = JSON.parse((await cli(['eval', 'run', '--json'], dir)).stdout);
    expect(report.results[0].loss).toBe(final.trainLoss);
  });
});
