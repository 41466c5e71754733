// nladmm theory (the hypotheses (42)-(47) of Theorem 3), the theory preset of nladmm train, and the rate chart of
// nladmm plot, end to end through the CLI (in-process).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, checkWellFormedXml, cli, pngInfo, tempDir } from './helpers.ts';

// N = 3, so that (44) has an instance (i = 1…N−2).
const TINY = ['--dataset', 'teacher', '--layers', '2,3,3,1', '--n-train', '8', '--n-test', '0', '--no-bias', '--init', 'xavier'];

interface Check {
  id: string;
  equation: string;
  holds: boolean;
  defined: boolean;
}

describe('nladmm theory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('has --help and is listed in the main help', async () => {
    const help = await cli(['theory', '--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: nladmm theory/);
    expect(help.stdout).toContain('--suggest');
    expect((await cli(['--help'], dir)).stdout).toMatch(/^ {2}theory /m);
  });

  it('refuses a β schedule (Theorem 3 fixes β) with a usage error', async () => {
    const run = await cli(['theory', ...TINY, '--beta-factor', '2', '--beta-every', '3', '--beta-cap', '8'], dir);
    expect(run.stderr).toBe('nladmm theory: Theorem 3 holds for a fixed β: drop --beta-factor, --beta-every and --beta-cap\n');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });

  it('with --loss cross-entropy, reports the hypotheses and says what the loss leaves unproven', async () => {
    const run = await cli(['theory', '--dataset', 'fashion-mnist', '--n-train', '30', '--n-test', '0', '--layers', '784,4,10', '--init', 'xavier', '--loss', 'cross-entropy', '--beta', '5', '--lambda', '1'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\(42\) +(holds|FAILS)/m);
    expect(run.stdout).toMatch(/note: loss 'cross-entropy' is not the paper's .*Theorems 1 and 3 are unproven for it/);
  });

  it('prints one line per hypothesis (42)-(47) and exits 0 even when they fail', async () => {
    const run = await cli(['theory', ...TINY, '--beta', '5', '--lambda', '1'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const id of ['(42)', '(43)', '(44) i=1', '(45)', '(46)', '(47) V i=1', '(47) V i=3', '(47) Λ i=3']) {
      expect(run.stdout).toMatch(new RegExp(`^${id.replace(/[()]/g, '\\$&')}\\s+(holds|FAILS|undefined)\\s`, 'm'));
    }
    expect(run.stdout).toMatch(/^failing: /m); // β = 5 everywhere breaks (43)
  });

  it('--suggest gives β and λ that satisfy the checker (--json)', async () => {
    const run = await cli(['theory', ...TINY, '--suggest', '--json'], dir);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { report: { hypotheses: Check[] }; suggestion: { betas: number[]; lambda: number; astronomical: boolean; report: { hypotheses: Check[] } } };
    const { betas, lambda } = out.suggestion;
    expect(betas).toHaveLength(3);
    expect(betas[2]).toBe(3.5);
    expect(new Set(out.report.hypotheses.map((h) => h.equation))).toEqual(new Set(['(42)', '(43)', '(44)', '(45)', '(46)', '(47)']));
    for (const h of out.suggestion.report.hypotheses) if (['(42)', '(43)', '(44)', '(45)'].includes(h.equation)) expect(h.holds, h.id).toBe(true);
    // Checked again independently: the suggested values given as flags.
    const again = await cli(['theory', ...TINY, '--beta', betas.map(String).join(','), '--lambda', String(lambda), '--json'], dir);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout).report as { hypotheses: Check[] };
    for (const h of report.hypotheses) if (['(42)', '(43)', '(44)', '(45)'].includes(h.equation)) expect(h.holds, h.id).toBe(true);
    // β_1 is in the hundreds of thousands for this net: the text output says so plainly.
    expect(out.suggestion.astronomical).toBe(true);
    const text = await cli(['theory', ...TINY, '--suggest'], dir);
    expect(text.stdout).toMatch(/^suggested .*--beta \S+ --lambda \S+$/m);
    expect(text.stdout).toMatch(/astronomically large/);
  });
});

describe('the theory preset and the rate diagnostics', () => {
  let dir: string;
  let run: CliRun;
  beforeAll(async () => {
    dir = await tempDir();
    run = await cli(['train', '--preset', 'theory', '--out', 'run', '--quiet'], dir);
  });

  it('trains with the suggested parameters and records them in config.json', async () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'run', 'config.json'), 'utf8'));
    const suggested = config.nladmm.theoryParameters;
    expect(suggested.failing).toEqual([]);
    expect(config.options['theory-parameters']).toBe(true);
    expect(config.options.beta).toEqual(suggested.betas);
    expect(config.options.lambda).toBe(suggested.lambda);
    const check = await cli(['theory', '--config', 'run/config.json', '--json'], dir);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).report.allHold).toBe(true);
  });

  it('drives ‖∇𝓛‖ below a small tolerance with a running-mean slope ≤ −0.9', async () => {
    const records = (await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { iteration: number; gradNorm: number });
    const grads = records.map((r) => r.gradNorm);
    expect(grads.at(-1)!).toBeLessThan(1e-8);
    expect(grads.at(-1)!).toBeLessThan(grads[0] * 1e-6);
    const line = run.stdout.split('\n').find((l) => l.startsWith('rate: '));
    expect(line).toBeDefined();
    const slope = Number(/slope (-?[\d.]+)/.exec(line!)![1]);
    expect(slope).toBeLessThanOrEqual(-0.9);
    expect(line).toMatch(/Theorem 1\(c\)/);
  });

  it('plot writes the rate chart with the fitted slope', async () => {
    const plotted = await cli(['plot', 'run', '--out', 'charts'], dir);
    expect(plotted.code).toBe(0);
    const svg = await readFile(join(dir, 'charts', 'rate.svg'), 'utf8');
    expect(checkWellFormedXml(svg).root).toBe('svg');
    expect(svg).toMatch(/tail slope −1\.0\d/);
    expect(svg).toContain('<polyline');
    expect(pngInfo(await readFile(join(dir, 'charts', 'rate.png')))).toEqual({ signature: true, ihdr: true, width: 960, height: 600 });
  });
});
