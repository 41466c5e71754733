// The CLI on the blas backend (the system's OpenBLAS): `--backend blas` trains in f64 and f32 and agrees with the
// JavaScript reference; a library that cannot be used is one line and exit 1 (nothing written); `--backend auto`
// falls back to cpu with one notice; `--threads` is checked, recorded in config.json and kept by a resume;
// `nladmm info` describes the library. The NLADMM_BLAS / NLADMM_THREADS cases run the executable as a child process
// (the library is loaded once per process).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess, entries, tempDir } from './helpers.ts';

const TASK = ['--dataset', 'teacher', '--layers', '3,8,8,2', '--n-train', '60', '--n-test', '20', '--lambda', '0.1', '--activation', 'tanh', '--no-plots'];
const BROKEN = { NLADMM_BLAS: '/nonexistent/libfoo.so' };

interface Metrics {
  iteration: number;
  augmentedLagrangian: number;
  gradNorm: number;
  trainLoss: number;
  testLoss: number;
}

async function lastMetrics(runDir: string): Promise<Metrics> {
  const lines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  return JSON.parse(lines.at(-1)!);
}

async function runConfig(runDir: string): Promise<{ nladmm: { backend: string }; options: Record<string, unknown> }> {
  return JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8'));
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

/** A shared library that is not a BLAS: the C library. */
function libc(): string | undefined {
  try {
    const found = /\blibc\.so\.6 \([^)]*\) => (\S+)/.exec(execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }))?.[1];
    if (found && existsSync(found)) return found;
  } catch {
    // no ldconfig: the usual places
  }
  return ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/lib64/libc.so.6'].find((p) => existsSync(p));
}

describe('nladmm train --backend blas', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('trains in f64, records backend blas and its threads in config.json, and matches the cpu run', async () => {
    const run = await cli(['train', ...TASK, '--iterations', '4', '--backend', 'blas', '--threads', '2', '--quiet', '--out', 'blas64'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^reached --iterations 4 at iteration 4: 4 iterations in /);
    expect(run.stdout).toMatch(/train loss: \S+ {2}test loss: /);
    const config = await runConfig(join(dir, 'blas64'));
    expect(config.options.backend).toBe('blas');
    expect(config.options.precision).toBe('f64');
    expect(config.options.threads).toBe(2);
    expect(config.nladmm.backend).toMatch(/^blas \(f64, OpenBLAS, 2 threads: \//);
    const cpu = await cli(['train', ...TASK, '--iterations', '4', '--backend', 'cpu', '--quiet', '--out', 'cpu64'], dir);
    expect(cpu.code).toBe(0);
    const cpuConfig = await runConfig(join(dir, 'cpu64'));
    expect(cpuConfig.options.threads).toBeUndefined(); // not used by cpu: not recorded unless given
    const [b, c] = [await lastMetrics(join(dir, 'blas64')), await lastMetrics(join(dir, 'cpu64'))];
    expect(b.iteration).toBe(4);
    expect(relative(b.augmentedLagrangian, c.augmentedLagrangian)).toBeLessThan(1e-9);
    expect(relative(b.trainLoss, c.trainLoss)).toBeLessThan(1e-9);
  });

  it('trains in f32 and matches the f64 run to f32 accuracy', async () => {
    const run = await cli(['train', ...TASK, '--iterations', '4', '--backend', 'blas', '--precision', 'f32', '--threads', '1', '--quiet', '--out', 'blas32'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const config = await runConfig(join(dir, 'blas32'));
    expect(config.options).toMatchObject({ backend: 'blas', precision: 'f32', threads: 1 });
    expect(config.nladmm.backend).toMatch(/^blas \(f32, OpenBLAS, 1 thread: \//);
    const [b, c] = [await lastMetrics(join(dir, 'blas32')), await lastMetrics(join(dir, 'cpu64'))];
    expect(relative(b.augmentedLagrangian, c.augmentedLagrangian)).toBeLessThan(1e-3);
    expect(relative(b.trainLoss, c.trainLoss)).toBeLessThan(1e-3);
  });

  it('runs a backprop baseline (adam, mini-batch) on blas too', async () => {
    const run = await cli(['train', ...TASK, '--iterations', '4', '--optimizer', 'adam', '--learning-rate', '0.01', '--batch-size', '20', '--backend', 'blas', '--quiet', '--out', 'adam'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^adam stopped \(iterations\) at iteration 4/);
    expect((await runConfig(join(dir, 'adam'))).nladmm.backend).toMatch(/^blas \(f64/);
  });

  it('resumes on the run\'s own backend and thread count bit for bit (NLADMM_THREADS does not change it; --threads does)', async () => {
    const straight = await cli(['train', ...TASK, '--iterations', '6', '--backend', 'blas', '--threads', '2', '--quiet', '--out', 'straight'], dir);
    expect(straight.code).toBe(0);
    const first = await cli(['train', ...TASK, '--iterations', '3', '--backend', 'blas', '--threads', '2', '--quiet', '--out', 'resumed'], dir);
    expect(first.code).toBe(0);
    const before = await readFile(join(dir, 'resumed', 'config.json'), 'utf8');
    const resumed = await cliProcess(['train', '--resume', 'resumed', '--iterations', '6'], dir, { NLADMM_THREADS: '1' });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/backend blas \(f64, OpenBLAS, 2 threads: /);
    const [s, r] = [await lastMetrics(join(dir, 'straight')), await lastMetrics(join(dir, 'resumed'))];
    expect(r.iteration).toBe(6);
    for (const key of ['augmentedLagrangian', 'gradNorm', 'trainLoss', 'testLoss'] as const) expect(r[key]).toBe(s[key]);
    const again = await cli(['train', '--resume', 'resumed', '--iterations', '7', '--threads', '1'], dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/backend blas \(f64, OpenBLAS, 1 thread: /);
    expect(await readFile(join(dir, 'resumed', 'config.json'), 'utf8')).toBe(before);
    const bad = await cli(['train', '--resume', 'resumed', '--iterations', '8', '--threads', '0'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('nladmm train: --threads must be an integer ≥ 1, got 0\n');
  });

  it('evaluates a model on blas (eval takes --backend blas and --threads)', async () => {
    const run = await cli(['eval', 'blas64', '--backend', 'blas', '--threads', '1', '--json'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const cpu = await cli(['eval', 'blas64', '--backend', 'cpu', '--json'], dir);
    expect(cpu.code).toBe(0);
    type Results = { results: { set: string; loss: number }[] };
    const [b, c] = [JSON.parse(run.stdout) as Results, JSON.parse(cpu.stdout) as Results];
    expect(b.results.map((r) => r.set)).toEqual(['train', 'test']);
    b.results.forEach((r, k) => expect(relative(r.loss, c.results[k].loss)).toBeLessThan(1e-9));
    // The run's own final training loss (computed on blas) is what eval on blas finds.
    expect(relative(b.results[0].loss, (await lastMetrics(join(dir, 'blas64'))).trainLoss)).toBeLessThan(1e-12);
    const bad = await cli(['predict', 'blas64', '--threads', '0', '--out', 'p.csv'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('nladmm predict: --threads must be an integer ≥ 1, got 0\n');
  });

  it('compare runs both methods on blas with the comparison\'s --threads, also when a resume changes it', async () => {
    const run = await cli(['compare', ...TASK, '--iterations', '2', '--backend', 'blas', '--threads', '1', '--quiet', '--out', 'cmp'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const method of ['admm', 'gd']) {
      const config = await runConfig(join(dir, 'cmp', method));
      expect(config.options).toMatchObject({ backend: 'blas', threads: 1 });
      expect(config.nladmm.backend).toMatch(/^blas \(f64, OpenBLAS, 1 thread: /);
    }
    const resumed = await cli(['compare', '--resume', 'cmp', '--iterations', '3', '--threads', '2'], dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr.match(/backend blas \(f64, OpenBLAS, 2 threads: /g)).toHaveLength(2);
    expect((await runConfig(join(dir, 'cmp'))).options.threads).toBe(2);
  });

  it('lists blas and --threads in the help', async () => {
    for (const command of ['train', 'compare', 'eval', 'predict']) {
      const help = await cli([command, '--help'], dir);
      expect(help.stdout).toMatch(/\(auto\|cpu\|blas\|webgpu\)/);
      expect(help.stdout).toMatch(/--threads N +threads of the blas backend/);
    }
  });
});

describe('a blas library that cannot be used', () => {
  it('NLADMM_BLAS naming a missing file: --backend blas is one line and exit 1, and no run directory', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...TASK, '--iterations', '2', '--backend', 'blas', '--out', 'run'], dir, BROKEN);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^nladmm train: blas backend: cannot load NLADMM_BLAS=\/nonexistent\/libfoo\.so \(.+\)\n$/);
    expect(run.stdout).toBe('');
    expect(await entries(dir)).toEqual([]);
  });

  const notBlas = libc();
  it.skipIf(notBlas === undefined)('NLADMM_BLAS naming a library without the CBLAS/LAPACK routines (the libc): one line and exit 1', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...TASK, '--iterations', '2', '--backend', 'blas', '--precision', 'f32', '--out', 'run'], dir, { NLADMM_BLAS: notBlas });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^nladmm train: blas backend: \S*libc\.so\.6 is not a CBLAS \+ LAPACK library: it lacks cblas_dgemm, .*dpotrf_, spotrf_\n$/);
    expect(await entries(dir)).toEqual([]);
  });

  it('--backend auto (f64) falls back to cpu with exactly one notice line (none under --quiet)', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...TASK, '--iterations', '2', '--out', 'auto'], dir, BROKEN);
    expect(run.code).toBe(0);
    const notices = lines(run.stderr).filter((l) => /notice|blas/.test(l));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^nladmm train: notice: blas backend unavailable \(cannot load NLADMM_BLAS=\/nonexistent\/libfoo\.so \(.+\)\); using the JavaScript reference \(cpu\)$/);
    const config = await runConfig(join(dir, 'auto'));
    expect(config.options.backend).toBe('auto');
    expect(config.nladmm.backend).toMatch(/^cpu \(f64/);
    const quiet = await cliProcess(['train', ...TASK, '--iterations', '2', '--quiet', '--out', 'quiet'], dir, BROKEN);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('compare --backend auto prints the notice once for the comparison', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['compare', ...TASK, '--iterations', '2', '--out', 'cmp'], dir, BROKEN);
    expect(run.code).toBe(0);
    expect(lines(run.stderr).filter((l) => /notice/.test(l))).toHaveLength(1);
    expect(run.stderr).toMatch(/^nladmm compare: notice: blas backend unavailable \(cannot load NLADMM_BLAS=/m);
  });

  it('nladmm info lists blas as unavailable with the reason', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['info'], dir, BROKEN);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}blas +unavailable +cannot load NLADMM_BLAS=\/nonexistent\/libfoo\.so \(/m);
    const json = await cliProcess(['info', '--json'], dir, BROKEN);
    const blas = (JSON.parse(json.stdout) as { backends: { name: string; available: boolean; detail: string; library?: unknown }[] }).backends.find((b) => b.name === 'blas');
    expect(blas).toMatchObject({ available: false, detail: expect.stringMatching(/NLADMM_BLAS=\/nonexistent\/libfoo\.so/) });
    expect(blas?.library).toBeUndefined();
  });
});

describe('--threads and NLADMM_THREADS', () => {
  it.each([
    ['0', /^nladmm train: --threads must be an integer ≥ 1, got 0\n$/],
    ['x', /^nladmm train: --threads: expected an integer, got "x"\n$/],
    ['1.5', /^nladmm train: --threads: expected an integer, got "1\.5"\n$/],
  ])('--threads %s is a usage error (exit 2) and writes nothing', async (value, error) => {
    const dir = await tempDir();
    const run = await cli(['train', ...TASK, '--iterations', '2', '--backend', 'blas', '--threads', value, '--out', 'run'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(error);
    expect(await entries(dir)).toEqual([]);
  });

  it('a bad NLADMM_THREADS is a usage error for blas and auto, and ignored by cpu', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...TASK, '--iterations', '2', '--out', 'run'], dir, { NLADMM_THREADS: 'many' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("nladmm train: NLADMM_THREADS must be an integer ≥ 1, got 'many'\n");
    const cpu = await cliProcess(['train', ...TASK, '--iterations', '2', '--backend', 'cpu', '--quiet', '--out', 'cpu'], dir, { NLADMM_THREADS: 'many' });
    expect(cpu.code).toBe(0);
    expect(await entries(dir)).toEqual(['cpu']);
  });

  it('NLADMM_THREADS is the default thread count of a new run', async () => {
    const dir = await tempDir();
    const run = await cliProcess(['train', ...TASK, '--iterations', '1', '--backend', 'blas', '--quiet', '--out', 'run'], dir, { NLADMM_THREADS: '1' });
    expect(run.code).toBe(0);
    const config = await runConfig(join(dir, 'run'));
    expect(config.options.threads).toBe(1);
    expect(config.nladmm.backend).toMatch(/^blas \(f64, OpenBLAS, 1 thread: /);
  });
});

describe('nladmm info', () => {
  it('describes the blas library: path, vendor, build, threading and threads', async () => {
    const dir = await tempDir();
    const text = await cli(['info'], dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ {2}blas +available +OpenBLAS \((pthreads|OpenMP|sequential|unknown) threading, \d+ threads?\): \/\S+/m);
    expect(text.stdout).toMatch(/^ +config: OpenBLAS \d/m);
    expect(text.stdout).toMatch(/@nladmm\/blas-backend \d/);
    const json = await cli(['info', '--json'], dir);
    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout) as { packages: Record<string, string>; backends: { name: string; available: boolean; library?: Record<string, unknown> }[] };
    expect(info.backends.map((b) => b.name)).toEqual(['cpu', 'blas', 'webgpu']);
    const blas = info.backends.find((b) => b.name === 'blas')!;
    expect(blas.available).toBe(true);
    expect(blas.library).toMatchObject({ vendor: 'OpenBLAS', config: expect.stringMatching(/^OpenBLAS \d/), threading: expect.any(String), threadsControllable: true });
    expect(existsSync(blas.library!.path as string)).toBe(true);
    expect(Number.isInteger(blas.library!.threads) && (blas.library!.threads as number) >= 1).toBe(true);
    expect(info.packages['@nladmm/blas-backend']).toMatch(/^\d/);
  });

  it('lists every workspace package and the losses', async () => {
    const dir = await tempDir();
    const text = await cli(['info'], dir);
    expect(text.stdout).toMatch(/^losses: squared \(the paper's, default\), cross-entropy; plus any plugin file: --loss /m);
    const info = JSON.parse((await cli(['info', '--json'], dir)).stdout) as { packages: Record<string, string>; losses: { name: string; paper: boolean }[] };
    expect(Object.keys(info.packages).sort()).toEqual(['activations', 'blas-backend', 'core', 'cpu-backend', 'losses', 'mpi', 'webgpu-backend'].map((p) => `@nladmm/${p}`));
    expect(info.losses).toEqual([{ name: 'squared', smoothness: 1, paper: true }, { name: 'cross-entropy', smoothness: 0.5, paper: false }]);
  });
});
