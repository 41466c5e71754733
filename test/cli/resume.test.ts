// Checkpoints under process death: SIGKILL mid-run leaves a valid checkpoint from which --resume continues so
// that the iterates equal an uninterrupted run's bit for bit (CPU); SIGTERM finishes the iteration,
// checkpoints and exits 143 (also inside nladmm compare, which --resume then finishes).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '@nladmm/cli';
import { cli, spawnCli, tempDir } from './helpers.ts';

const TASK = ['--dataset', 'teacher', '--layers', '10,60,60,3', '--n-train', '4000', '--n-test', '0', '--metrics-every', '1', '--checkpoint-every', '1', '--no-plots', '--quiet'];

/** The iteration k of the checkpoint in a run directory (undefined while there is none). */
async function checkpointIteration(runDir: string): Promise<number | undefined> {
  const path = join(runDir, 'checkpoint.safetensors');
  if (!existsSync(path)) return undefined;
  return Number(parseSafetensors(await readFile(path), path).metadata.k);
}

/** Starts a training process and returns once its checkpoint has reached iteration `atLeast`. */
async function startAndWait(argv: string[], cwd: string, runDir: string, atLeast: number) {
  const child = spawnCli(argv, cwd);
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const k = await checkpointIteration(runDir);
    if (k !== undefined && k >= atLeast) return { child, closed, k, output: () => ({ stdout, stderr }) };
    if (child.exitCode !== null) throw new Error(`training exited early (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error('no checkpoint in time');
    await new Promise((r) => setTimeout(r, 15));
  }
}

function tensors(bytes: Uint8Array, path: string) {
  const file = parseSafetensors(bytes, path);
  return new Map(file.tensors.map((t) => [t.name, t]));
}

describe('checkpoints and --resume', () => {
  it('continues after SIGKILL so that the iterates equal a straight run bit for bit', async () => {
    const dir = await tempDir();
    const runDir = join(dir, 'killed');
    const { child, closed, k } = await startAndWait(['train', ...TASK, '--iterations', '10', '--out', runDir], dir, runDir, 3);
    child.kill('SIGKILL');
    expect((await closed).signal).toBe('SIGKILL');
    expect(k).toBeLessThan(10);
    expect(existsSync(join(runDir, 'model.safetensors'))).toBe(false); // killed mid-run
    const kept = await checkpointIteration(runDir); // the last checkpoint is intact
    expect(kept).toBeGreaterThanOrEqual(3);
    expect(kept).toBeLessThan(10);

    const resumed = await cli(['train', '--resume', 'killed', '--iterations', '20', '--quiet'], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const straight = await cli(['train', ...TASK, '--iterations', '20', '--out', 'straight'], dir);
    expect(straight.code).toBe(0);

    const a = tensors(await readFile(join(runDir, 'checkpoint.safetensors')), 'resumed');
    const b = tensors(await readFile(join(dir, 'straight', 'checkpoint.safetensors')), 'straight');
    expect([...a.keys()]).toEqual(['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'V1', 'V2', 'V3', 'L1', 'L2', 'L3']);
    for (const [name, t] of b) {
      expect(a.get(name)!.shape).toEqual(t.shape);
      expect(Buffer.from(a.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), `tensor ${name}`).toBe(true);
    }
    const iterations = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
    expect(iterations).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const meta = parseSafetensors(await readFile(join(runDir, 'checkpoint.safetensors')), 'x').metadata;
    expect(meta.k).toBe('20');
    expect(Number(meta.gradSqCount)).toBe(20);
  });

  it.each([
    ['admm', []],
    ['gd', ['--optimizer', 'gd', '--learning-rate', '0.05', '--momentum', '0.5']],
  ])('on SIGTERM finishes the iteration, checkpoints and exits 143 (%s)', async (optimizer, extra) => {
    const dir = await tempDir();
    const runDir = join(dir, 'run');
    const { child, closed, output } = await startAndWait(['train', ...TASK, ...extra, '--iterations', '1000000', '--out', runDir], dir, runDir, 2);
    child.kill('SIGTERM');
    const { code } = await closed;
    expect(code).toBe(143);
    const k = await checkpointIteration(runDir);
    expect(k).toBeGreaterThanOrEqual(2);
    expect(k).toBeLessThan(1000000);
    const model = parseSafetensors(await readFile(join(runDir, 'model.safetensors')), 'model');
    expect(model.metadata.k).toBe(String(k));
    const { stdout, stderr } = output();
    expect(stdout).toMatch(new RegExp(`^${optimizer === 'admm' ? '' : `${optimizer} `}stopped by SIGTERM at iteration ${k}[: ]`));
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    const logged = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
    expect(logged.at(-1)).toBe(k);
  });

  it('nladmm compare: SIGTERM in the ADMM run checkpoints it and exits 143; --resume finishes both runs', async () => {
    const dir = await tempDir();
    const cmp = join(dir, 'cmp');
    const { child, closed, output } = await startAndWait(['compare', ...TASK, '--learning-rate', '0.05', '--iterations', '1000000', '--out', cmp], dir, join(cmp, 'admm'), 2);
    child.kill('SIGTERM');
    const { code } = await closed;
    expect(code).toBe(143);
    const k = (await checkpointIteration(join(cmp, 'admm')))!;
    expect(output().stdout).toContain(`the comparison stopped in the admm run at iteration ${k}; continue it with: nladmm compare --resume ${cmp}`);
    expect(existsSync(join(cmp, 'gd'))).toBe(false);
    const resumed = await cli(['compare', '--resume', 'cmp', '--iterations', String(k + 2)], dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`| admm | ${k + 2} |`);
    expect(resumed.stdout).toContain(`| gd | ${k + 2} |`);
    expect(await checkpointIteration(join(cmp, 'gd'))).toBe(k + 2);
  });

  it('keeps a β schedule: resumed across a change of β, the iterates equal an uninterrupted run bit for bit', async () => {
    const dir = await tempDir();
    // The schedule from a --config file, like any option (camelCase or kebab-case keys): β = 1, 2, 4 from k = 1, 4, 7.
    await writeFile(join(dir, 'schedule.json'), JSON.stringify({ betaFactor: 2, 'beta-every': 3, 'beta-cap': 8 }));
    const task = ['--dataset', 'teacher', '--layers', '3,8,8,2', '--n-train', '60', '--n-test', '0', '--lambda', '1e-2', '--metrics-every', '1', '--checkpoint-every', '2', '--no-plots', '--config', 'schedule.json'];
    const first = await cli(['train', ...task, '--iterations', '4', '--out', 'resumed'], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/β = 1 ×2 every 3 iterations up to 8/);
    expect(first.stderr).toContain('β = 2 from iteration 4\n');
    expect(first.stdout).toMatch(/ {2}β 2\n/);
    const options = JSON.parse(await readFile(join(dir, 'resumed', 'config.json'), 'utf8')).options;
    expect(options).toMatchObject({ 'beta-factor': 2, 'beta-every': 3, 'beta-cap': 8 });
    const checkpointPath = join(dir, 'resumed', 'checkpoint.safetensors');
    expect(JSON.parse(parseSafetensors(await readFile(checkpointPath), 'cp').metadata.config)).toMatchObject({ 'beta-factor': 2, 'beta-every': 3, 'beta-cap': 8 });
    expect(await checkpointIteration(join(dir, 'resumed'))).toBe(4);
    const changed = await cli(['train', '--resume', 'resumed', '--iterations', '8', '--beta-factor', '3'], dir);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/^nladmm train: --beta-factor cannot change when resuming/);

    const resumed = await cli(['train', '--resume', 'resumed', '--iterations', '8'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/β = 1 ×2 every 3 iterations up to 8 \(2 at iteration 4\)/);
    expect(resumed.stderr).toContain('β = 4 from iteration 7\n');
    expect(resumed.stdout).toMatch(/ {2}β 4\n/);
    const straight = await cli(['train', ...task, '--iterations', '8', '--out', 'straight', '--quiet'], dir);
    expect(straight.code, straight.stderr).toBe(0);
    const a = tensors(await readFile(checkpointPath), 'resumed');
    const b = tensors(await readFile(join(dir, 'straight', 'checkpoint.safetensors')), 'straight');
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, t] of b) expect(Buffer.from(a.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), `tensor ${name}`).toBe(true);
    // The metrics too (the augmented Lagrangian follows β^k), apart from the timings.
    const untimed = async (runDir: string) =>
      (await readFile(join(dir, runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => {
        const { elapsedMs: _e, msPerIteration: _m, ...rest } = JSON.parse(line);
        return rest;
      });
    const resumedMetrics = await untimed('resumed');
    expect(resumedMetrics.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(resumedMetrics).toEqual(await untimed('straight'));
    // The schedule did act: without it the iterates differ.
    const fixed = await cli(['train', ...task.filter((x) => x !== '--config' && x !== 'schedule.json'), '--iterations', '8', '--out', 'fixed', '--quiet'], dir);
    expect(fixed.code, fixed.stderr).toBe(0);
    const c = tensors(await readFile(join(dir, 'fixed', 'checkpoint.safetensors')), 'fixed');
    expect(Buffer.from(c.get('W1')!.data.buffer).equals(Buffer.from(b.get('W1')!.data.buffer))).toBe(false);
  });

  it('refuses to change the problem when resuming', async () => {
    const dir = await tempDir();
    const first = await cli(['train', ...TASK, '--iterations', '2', '--out', 'run'], dir);
    expect(first.code).toBe(0);
    const bad = await cli(['train', '--resume', 'run', '--lambda', '0.5'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^nladmm train: --lambda cannot change when resuming/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
