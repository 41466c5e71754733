// Hostile and careless inputs to the run directory and to output files: a run directory is locked while a process
// trains in it (a second --resume, compare --resume or fresh --out refuses with one line naming the PID; a stale
// lock is taken over; the lock goes on every exit path), predict --out never overwrites an input and an existing
// file only with --force (plot --out too), staging folders of killed starts are removed by the next start, and
// --quiet on the WebGPU backend prints only the final lines.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, readdir, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '@nladmm/cli';
import { cli, cliProcess, entries, spawnCli, tempDir } from './helpers.ts';

const LOCK = '.nladmm.lock';
const TASK = ['--dataset', 'teacher', '--layers', '10,60,60,3', '--n-train', '4000', '--n-test', '0', '--metrics-every', '1', '--checkpoint-every', '1', '--no-plots', '--quiet'];
const SMALL = ['--dataset', 'teacher', '--layers', '3,8,2', '--n-train', '50', '--n-test', '10', '--iterations', '3', '--no-plots', '--quiet'];

/** The one line of stderr (fails unless there is exactly one). */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr.endsWith('\n')).toBe(true);
  return lines[0];
}

async function loggedIterations(runDir: string): Promise<number[]> {
  return (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
}

async function checkpointIteration(runDir: string): Promise<number> {
  const path = join(runDir, 'checkpoint.safetensors');
  return Number(parseSafetensors(await readFile(path), path).metadata.k);
}

/** The PID of a process that has exited (not reused this soon). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('close', r));
  return child.pid!;
}

/** A process that sleeps until killed: a live PID that is not this one. */
function sleeper() {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
}

function lockJson(pid: number, host = hostname()): string {
  return `${JSON.stringify({ pid, host, startedAt: '2026-01-01T00:00:00.000Z', token: 'feedfacefeedface' })}\n`;
}

/** No staging folders, temporary files or locks left in a folder (recursively one level into run directories). */
async function noLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    expect(name, `${dir}/${name}`).not.toMatch(/\.partial-|\.tmp-|\.new-|\.stale-|^\.nladmm\.lock$/);
  }
}

const sleepers: ReturnType<typeof sleeper>[] = [];
afterAll(() => {
  for (const s of sleepers) s.kill('SIGKILL');
});

describe('run directory lock', () => {
  it('two concurrent --resume of one run: exactly one proceeds, the other exits 1 naming the PID; no duplicated iterations', async () => {
    const dir = await tempDir();
    const first = await cli(['train', ...TASK, '--iterations', '5', '--out', 'run'], dir);
    expect(first.code).toBe(0);
    const runDir = join(dir, 'run');
    const before = await readFile(join(runDir, 'config.json'));
    // Long enough that the second process starts (≈ 1-2 s of tsx) well before the first is done.
    const argv = ['train', '--resume', 'run', '--iterations', '60', '--quiet'];
    const children = [spawnCli(argv, dir), spawnCli(argv, dir)];
    const results = await Promise.all(
      children.map(
        (child) =>
          new Promise<{ pid: number; code: number | null; stdout: string; stderr: string }>((resolve) => {
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d) => (stdout += d));
            child.stderr.on('data', (d) => (stderr += d));
            child.on('close', (code) => resolve({ pid: child.pid!, code, stdout, stderr }));
          }),
      ),
    );
    const winner = results.find((r) => r.code === 0);
    const loser = results.find((r) => r.code === 1);
    expect(results.map((r) => r.code).sort(), JSON.stringify(results.map((r) => r.stderr))).toEqual([0, 1]);
    expect(oneLine(loser!.stderr)).toMatch(
      new RegExp(`^nladmm train: run directory ${runDir} is in use by PID ${winner!.pid} \\(since [0-9T:.Z-]+\\): another nladmm is training in it; wait until it ends \\(or delete ${join(runDir, LOCK)} if no nladmm runs there\\)$`),
    );
    expect(loser!.stdout).toBe('');
    expect(winner!.stderr).toBe('');
    expect(winner!.stdout).toMatch(/^reached --iterations 60 at iteration 60/);
    expect(await loggedIterations(runDir)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await checkpointIteration(runDir)).toBe(60);
    expect(await readFile(join(runDir, 'config.json'))).toEqual(before);
    expect(existsSync(join(runDir, LOCK))).toBe(false);
    await noLeftovers(runDir);
  });

  it('a lock left by a dead process is taken over (silently with --quiet, with one notice without)', async () => {
    const dir = await tempDir();
    expect((await cli(['train', ...TASK, '--iterations', '2', '--out', 'run'], dir)).code).toBe(0);
    const runDir = join(dir, 'run');
    const pid = await deadPid();
    await writeFile(join(runDir, LOCK), lockJson(pid));
    const quiet = await cli(['train', '--resume', 'run', '--iterations', '3', '--quiet'], dir);
    expect(quiet.stderr).toBe('');
    expect(quiet.code).toBe(0);
    expect(existsSync(join(runDir, LOCK))).toBe(false);

    await writeFile(join(runDir, LOCK), lockJson(pid));
    const loud = await cli(['train', '--resume', 'run', '--iterations', '4'], dir);
    expect(loud.code).toBe(0);
    expect(loud.stderr).toContain(`nladmm train: notice: took over the stale lock of PID ${pid} (since 2026-01-01T00:00:00.000Z; no longer running) of ${runDir}\n`);
    expect(loud.stderr.split('\n').filter((l) => l.includes('notice'))).toHaveLength(1);
    expect(await loggedIterations(runDir)).toEqual([1, 2, 3, 4]);

    // A lock taken on another host (its process cannot be checked from here) is taken over too, with a notice.
    await writeFile(join(runDir, LOCK), lockJson(1, 'elsewhere.invalid'));
    const other = await cli(['train', '--resume', 'run', '--iterations', '5'], dir);
    expect(other.code).toBe(0);
    expect(other.stderr).toContain('notice: took over the lock of PID 1 on another host (elsewhere.invalid');
    expect(existsSync(join(runDir, LOCK))).toBe(false);
    // So is an unreadable one, once it is old (a young one may be still being written).
    await writeFile(join(runDir, LOCK), 'garbage');
    const young = await cli(['train', '--resume', 'run', '--iterations', '6', '--quiet'], dir);
    expect(young.code).toBe(1);
    expect(oneLine(young.stderr)).toBe(`nladmm train: run directory ${runDir} is in use: another process is creating its lock ${join(runDir, LOCK)}`);
    await utimes(join(runDir, LOCK), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await cli(['train', '--resume', 'run', '--iterations', '6', '--quiet'], dir)).code).toBe(0);
    expect(existsSync(join(runDir, LOCK))).toBe(false);
    await noLeftovers(runDir);
  });

  it('a live lock refuses train --resume, a fresh train --out and compare --resume with one line; nothing is changed', async () => {
    const dir = await tempDir();
    expect((await cli(['train', ...SMALL, '--out', 'run'], dir)).code).toBe(0);
    expect((await cli(['compare', ...SMALL, '--out', 'cmp'], dir)).code).toBe(0);
    const holder = sleeper();
    sleepers.push(holder);
    const runDir = join(dir, 'run');
    const cmpDir = join(dir, 'cmp');
    for (const d of [runDir, cmpDir]) await writeFile(join(d, LOCK), lockJson(holder.pid!));
    const snapshot = async (d: string) => Promise.all((await entries(d)).filter((n) => !n.startsWith('.') && n !== 'admm' && n !== 'gd' && n !== 'plots').map((n) => readFile(join(d, n))));
    const [runBefore, cmpBefore] = [await snapshot(runDir), await snapshot(cmpDir)];

    const resumed = await cli(['train', '--resume', 'run', '--iterations', '5', '--quiet'], dir);
    expect(resumed.code).toBe(1);
    expect(oneLine(resumed.stderr)).toMatch(new RegExp(`^nladmm train: run directory ${runDir} is in use by PID ${holder.pid} \\(since 2026-01-01T00:00:00.000Z\\): another nladmm is training in it`));
    const fresh = await cli(['train', ...SMALL, '--out', 'run'], dir);
    expect(fresh.code).toBe(1);
    expect(oneLine(fresh.stderr)).toMatch(new RegExp(`^nladmm train: run directory ${runDir} is in use by PID ${holder.pid} `));
    const cmp = await cli(['compare', '--resume', 'cmp', '--iterations', '5', '--quiet'], dir);
    expect(cmp.code).toBe(1);
    expect(oneLine(cmp.stderr)).toMatch(new RegExp(`^nladmm compare: run directory ${cmpDir} is in use by PID ${holder.pid} `));
    const freshCmp = await cli(['compare', ...SMALL, '--out', 'cmp'], dir);
    expect(freshCmp.code).toBe(1);
    expect(oneLine(freshCmp.stderr)).toMatch(/is in use by PID/);

    expect(await snapshot(runDir)).toEqual(runBefore);
    expect(await snapshot(cmpDir)).toEqual(cmpBefore); // config.json not rewritten with the new --iterations
    expect(await checkpointIteration(runDir)).toBe(3);
    expect(await readFile(join(runDir, LOCK), 'utf8')).toBe(lockJson(holder.pid!)); // the holder's lock is kept
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('close', r));
    // Once its holder is gone, the same resume proceeds.
    const after = await cli(['compare', '--resume', 'cmp', '--iterations', '5', '--quiet'], dir);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(existsSync(join(cmpDir, LOCK))).toBe(false);
  });

  it('two fresh runs racing on one --out: one creates it, the other refuses with one line', async () => {
    const dir = await tempDir();
    const runs = await Promise.all([cli(['train', ...SMALL, '--out', 'same'], dir), cli(['train', ...SMALL, '--out', 'same'], dir)]);
    expect(runs.map((r) => r.code).sort()).toEqual([0, 1]);
    const loser = runs.find((r) => r.code === 1)!;
    expect(oneLine(loser.stderr)).toMatch(new RegExp(`^nladmm train: run directory ${join(dir, 'same')} (is in use by PID ${process.pid} |already exists and is not empty)`));
    expect((await entries(join(dir, 'same'))).filter((n) => !n.startsWith('.'))).toEqual(['checkpoint.safetensors', 'config.json', 'metrics.jsonl', 'model.safetensors']);
    await noLeftovers(dir);
    await noLeftovers(join(dir, 'same'));
  });

  it('the lock is released on an error, on a graceful SIGTERM and on the second signal; kill -9 leaves a stale one that is taken over', async () => {
    const dir = await tempDir();
    expect((await cli(['train', ...TASK, '--iterations', '2', '--out', 'run'], dir)).code).toBe(0);
    const runDir = join(dir, 'run');
    const checkpoint = join(runDir, 'checkpoint.safetensors');
    const good = await readFile(checkpoint);

    // An error after the lock was taken: a damaged checkpoint.
    await truncate(checkpoint, 20);
    const broken = await cli(['train', '--resume', 'run', '--iterations', '4', '--quiet'], dir);
    expect(broken.code).toBe(1);
    oneLine(broken.stderr);
    expect(existsSync(join(runDir, LOCK))).toBe(false);
    await writeFile(checkpoint, good);

    const waitForLock = async (child: ReturnType<typeof spawnCli>, runDir: string, atLeast: number) => {
      const deadline = Date.now() + 60_000;
      while (!existsSync(join(runDir, LOCK)) || (await checkpointIteration(runDir).catch(() => 0)) < atLeast) {
        if (child.exitCode !== null) throw new Error(`exited early (${child.exitCode})`);
        if (Date.now() > deadline) throw new Error('no lock in time');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(JSON.parse(await readFile(join(runDir, LOCK), 'utf8')).pid).toBe(child.pid);
    };
    const closed = (child: ReturnType<typeof spawnCli>) => new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));

    // SIGTERM: the graceful stop (checkpoint, exit 143).
    let child = spawnCli(['train', '--resume', 'run', '--iterations', '1000000'], dir);
    let done = closed(child);
    await waitForLock(child, runDir, 4);
    child.kill('SIGTERM');
    expect((await done).code).toBe(143);
    expect(existsSync(join(runDir, LOCK))).toBe(false);

    // Two SIGINTs during one long iteration (≈ 0.7 s here): the second exits at once (130, process.exit), with
    // no summary on stdout.
    const slowDir = join(dir, 'slow');
    child = spawnCli(['train', '--dataset', 'teacher', '--layers', '10,300,300,3', '--n-train', '6000', '--n-test', '0', '--checkpoint-every', '1', '--no-plots', '--quiet', '--iterations', '1000000', '--out', slowDir], dir);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    done = closed(child);
    await waitForLock(child, slowDir, 1);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect((await done).code).toBe(130);
    expect(stdout).toBe('');
    expect(existsSync(join(slowDir, LOCK))).toBe(false);

    // kill -9 leaves the lock; the next resume takes it over without a word under --quiet.
    child = spawnCli(['train', '--resume', 'run', '--iterations', '1000000'], dir);
    done = closed(child);
    await waitForLock(child, runDir, 6);
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    expect(existsSync(join(runDir, LOCK))).toBe(true);
    const k = await checkpointIteration(runDir);
    const next = await cli(['train', '--resume', 'run', '--iterations', String(k + 2), '--quiet'], dir);
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
    expect(existsSync(join(runDir, LOCK))).toBe(false);
    const logged = await loggedIterations(runDir);
    expect(logged).toEqual(Array.from({ length: k + 2 }, (_, i) => i + 1));
    await noLeftovers(runDir);
  });
});

describe('staging folders of killed starts', () => {
  it('the next run in the same parent removes those of dead processes and keeps those of live ones', async () => {
    const dir = await tempDir();
    const runs = join(dir, 'runs');
    await mkdir(runs);
    const dead = await deadPid();
    const live = sleeper();
    sleepers.push(live);
    const names = {
      dead: `.a.partial-${dead}-0123abcd`,
      deadOld: `.b.partial-${dead}`, // the name before the random suffix
      live: `.c.partial-${live.pid}-0123abcd`,
      self: `.d.partial-${process.pid}-0123abcd`,
      deadOtherHost: `.e.partial-${dead}-4567cdef`,
    };
    for (const name of Object.values(names)) {
      await mkdir(join(runs, name));
      await writeFile(join(runs, name, 'config.json'), '{}');
    }
    await writeFile(join(runs, names.deadOtherHost, LOCK), lockJson(dead, 'elsewhere.invalid'));
    await writeFile(join(runs, 'unrelated.partial-1'), 'a file that is not a staging folder');
    const run = await cli(['train', ...SMALL, '--out', 'runs/new'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await entries(runs)).toEqual([names.self, names.live, names.deadOtherHost, 'new', 'unrelated.partial-1'].sort());
    live.kill('SIGKILL');
  });

});

describe('outputs never overwrite inputs', () => {
  let dir: string;
  let data: string;
  let original: Buffer;
  beforeAll(async () => {
    dir = await tempDir();
    data = join(dir, 'in.csv');
    const rows = ['x1,x2,y'];
    for (let k = 0; k < 40; k++) rows.push(`${(k % 7) / 7},${(k % 5) / 5},${((k % 7) * (k % 5)) / 35}`);
    await writeFile(data, `${rows.join('\n')}\n`);
    original = await readFile(data);
    const train = await cli(['train', '--dataset', data, '--layers', '2,6,1', '--iterations', '2', '--no-plots', '--quiet', '--out', 'run'], dir);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    await symlink(data, join(dir, 'link.csv'));
    await link(data, join(dir, 'hard.csv'));
    await mkdir(join(dir, 'sub'));
  });

  it.each([
    ['the same path', () => data, []],
    ['a relative path', () => 'in.csv', []],
    ['a path through ..', () => 'sub/../in.csv', []],
    ['a symbolic link', () => 'link.csv', []],
    ['a hard link', () => 'hard.csv', []],
    ['the same path, with --force', () => data, ['--force']],
    ['a symbolic link, with --force', () => 'link.csv', ['--force']],
  ])('predict --out onto its own --dataset via %s: exit 1, one line, the input unchanged', async (_name, out, extra) => {
    const run = await cli(['predict', 'run', '--dataset', data, '--out', out(), ...extra], dir);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toMatch(/^nladmm predict: --out .* is the data set .*: an output never overwrites an input; choose another file$/);
    expect(run.stdout).toBe('');
    expect(await readFile(data)).toEqual(original);
    await noLeftovers(dir);
  });

  it('predict --out onto the data recorded in the model (no --dataset given) or onto the model itself is refused', async () => {
    const recorded = await cli(['predict', 'run', '--out', 'in.csv', '--force'], dir);
    expect(recorded.code).toBe(1);
    expect(oneLine(recorded.stderr)).toMatch(/is the data set /);
    expect(await readFile(data)).toEqual(original);
    // A model file named like an output: predict reads run/m.npy as the model, and must not write onto it.
    const model = await readFile(join(dir, 'run', 'model.safetensors'));
    await writeFile(join(dir, 'm.npy'), model);
    const self = await cli(['predict', 'm.npy', '--dataset', data, '--out', 'm.npy', '--force'], dir);
    expect(self.code).toBe(1);
    expect(oneLine(self.stderr)).toMatch(/^nladmm predict: --out .*m\.npy is the model /);
    expect(await readFile(join(dir, 'm.npy'))).toEqual(model);
  });

  it('predict --out onto an existing unrelated file: refused without --force, replaced with it', async () => {
    const other = join(dir, 'other.csv');
    await writeFile(other, 'keep me\n');
    const refused = await cli(['predict', 'run', '--dataset', data, '--out', 'other.csv'], dir);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toBe(`nladmm predict: --out ${other} already exists (add --force to overwrite it)`);
    expect(await readFile(other, 'utf8')).toBe('keep me\n');
    const forced = await cli(['predict', 'run', '--dataset', data, '--out', 'other.csv', '--force'], dir);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    const written = (await readFile(other, 'utf8')).trim().split('\n');
    expect(written[0]).toBe('output_0');
    expect(written).toHaveLength(41);
    const fresh = await cli(['predict', 'run', '--dataset', data, '--out', 'new.csv'], dir);
    expect(fresh.code).toBe(0);
    expect(await readFile(join(dir, 'new.csv'), 'utf8')).toBe(await readFile(other, 'utf8'));
    expect(await readFile(data)).toEqual(original);
    await noLeftovers(dir);
  });

  it('plot --out: chart files that exist are replaced only with --force; the run\'s plots/ folder is refreshed', async () => {
    const plotted = await cli(['plot', 'run', '--out', 'charts', '--format', 'svg'], dir);
    expect(plotted.code).toBe(0);
    const loss = join(dir, 'charts', 'loss.svg');
    await writeFile(loss, 'mine');
    const again = await cli(['plot', 'run', '--out', 'charts', '--format', 'svg'], dir);
    expect(again.code).toBe(1);
    expect(oneLine(again.stderr)).toMatch(/^nladmm plot: --out .*charts\/\w+\.svg already exists \(add --force to overwrite it\)$/);
    expect(await readFile(loss, 'utf8')).toBe('mine');
    const forced = await cli(['plot', 'run', '--out', 'charts', '--format', 'svg', '--force'], dir);
    expect(forced.code).toBe(0);
    expect(await readFile(loss, 'utf8')).toMatch(/^<\?xml|^<svg/);
    const file = await cli(['plot', 'run', '--out', 'in.csv'], dir);
    expect(file.code).toBe(1);
    expect(oneLine(file.stderr)).toMatch(/--out .*in\.csv is not a directory/);
    expect(await readFile(data)).toEqual(original);
    expect((await cli(['plot', 'run', '--format', 'svg'], dir)).code).toBe(0);
    expect((await cli(['plot', 'run', '--format', 'svg'], dir)).code).toBe(0);
  });
});

describe('--quiet', () => {
  it('on the WebGPU backend (SwiftShader) prints only the final lines, as a real process', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...SMALL, '--backend', 'webgpu', '--precision', 'f32', '--out', 'gpu'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^reached --iterations 3 at iteration 3/);
    expect(lines.at(-1)).toMatch(/^train loss: \S+  test loss: \S+$/);
  });

  it('--backend auto --precision f32 on a machine without a GPU prints no Vulkan loader warnings (Dawn is not started)', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...SMALL, '--backend', 'auto', '--precision', 'f32', '--out', 'auto'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^train loss: /);
    const predicted = await cliProcess(['predict', 'auto', '--backend', 'auto', '--precision', 'f32', '--out', 'p.csv'], dir);
    expect(predicted.stderr).toBe('');
    expect(predicted.code).toBe(0);
  });
});
