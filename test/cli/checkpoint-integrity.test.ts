// Hostile and careless inputs to a resume and a start: a checkpoint carries the sha256 of every tensor and metadata
// entry and of its whole header; a resume refuses (one line, exit 1, naming the tensor, the metadata entry or "the
// metadata") an edited or corrupted checkpoint, a config.json edited against the checkpoint's options, and metadata
// out of range (k against metrics.jsonl); an untouched checkpoint still resumes bit for bit, one without checksums
// (an older nladmm) with a notice. A network that cannot fit is refused at once with the estimate; contradictory
// options and --backend webgpu in f64 are usage errors (exit 2); a --config file with a UTF-8 BOM is read. Every
// refusal leaves the files as they were.
import { createHash } from 'node:crypto';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensors } from '@nladmm/cli';
import { cli, entries, readSafetensorsRaw, tempDir } from './helpers.ts';

const TASK = ['--dataset', 'teacher', '--layers', '3,8,8,2', '--n-train', '40', '--n-test', '10', '--lambda', '0.01', '--metrics-every', '5', '--checkpoint-every', '10', '--no-plots', '--quiet'];
const BASELINE = [...TASK, '--optimizer', 'gd', '--momentum', '0.5', '--learning-rate', '0.05'];

let root: string;
/** Runs of 30 iterations, copied for each test: ADMM and a gd baseline with momentum. */
let admmRun: string;
let gdRun: string;

beforeAll(async () => {
  root = await tempDir('nladmm-integrity-');
  const a = await cli(['train', ...TASK, '--iterations', '30', '--out', 'admm'], root);
  expect(a.stderr).toBe('');
  expect(a.code).toBe(0);
  const g = await cli(['train', ...BASELINE, '--iterations', '30', '--out', 'gd'], root);
  expect(g.stderr).toBe('');
  expect(g.code).toBe(0);
  admmRun = join(root, 'admm');
  gdRun = join(root, 'gd');
});

/** A copy of a finished run in a fresh folder. */
async function copyRun(run: string): Promise<{ dir: string; runDir: string; checkpoint: string }> {
  const dir = await tempDir();
  const runDir = join(dir, 'run');
  await cp(run, runDir, { recursive: true });
  return { dir, runDir, checkpoint: join(runDir, 'checkpoint.safetensors') };
}

/** Every file of a folder (hidden ones included) with the sha256 of its bytes. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  return out;
}

/** A safetensors file with its JSON header edited (re-padded and its length rewritten), the data unchanged. */
function editHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => void): Uint8Array {
  const { header, dataStart } = readSafetensorsRaw(bytes);
  edit(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json);
  const out = new Uint8Array(8 + head.length + (bytes.length - dataStart));
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(bytes.subarray(dataStart), 8 + head.length);
  return out;
}

/** The file re-encoded with its metadata edited: with fresh checksums (a careful edit), or none at all. */
function reencode(bytes: Uint8Array, edit: (meta: Record<string, string>) => void, checksums: boolean): Uint8Array {
  const file = parseSafetensors(bytes, 'x');
  const meta: Record<string, string> = { ...file.metadata };
  delete meta.checksums;
  delete meta.header_sha256;
  edit(meta);
  const tensors = file.tensors.map((t) => ({ name: t.name, dtype: t.dtype as 'F64' | 'F32', shape: t.shape, data: t.data }));
  return encodeSafetensors(tensors, meta, { checksums });
}

/** Flips bits of one byte of a tensor's data (`at`: the byte within the tensor). */
function flipByte(bytes: Uint8Array, tensor: string, at: number, mask: number): Uint8Array {
  const { header, dataStart } = readSafetensorsRaw(bytes);
  const out = Uint8Array.from(bytes);
  out[dataStart + header[tensor].data_offsets[0] + at] ^= mask;
  return out;
}

/** Resumes a copy whose checkpoint (or config.json) was changed, and checks the refusal: exit code, one line, no file changed. */
async function refusedResume(run: string, change: (r: { runDir: string; checkpoint: string }) => Promise<void>, error: RegExp, code = 1) {
  const r = await copyRun(run);
  await change(r);
  const before = await snapshot(r.runDir);
  const resumed = await cli(['train', '--resume', 'run', '--iterations', '40', '--quiet'], r.dir);
  expect(resumed.stderr).toMatch(error);
  expect(resumed.stderr.endsWith('\n')).toBe(true);
  expect(resumed.stderr.trim().split('\n')).toHaveLength(1);
  expect(resumed.code).toBe(code);
  expect(resumed.stdout).toBe('');
  expect(await snapshot(r.runDir)).toEqual(before);
  expect(await entries(r.dir)).toEqual(['run']);
}

const writeCheckpoint = (f: (bytes: Uint8Array) => Uint8Array) => async ({ checkpoint }: { checkpoint: string }) => writeFile(checkpoint, f(await readFile(checkpoint)));

describe('a resume verifies the checkpoint', () => {
  it('writes the sha256 of every tensor and metadata entry, and of the header', async () => {
    const file = parseSafetensors(await readFile(join(admmRun, 'checkpoint.safetensors')), 'cp');
    const table = JSON.parse(file.metadata.checksums);
    expect(table.algorithm).toBe('sha256');
    expect(Object.keys(table.tensors).sort()).toEqual(file.tensors.map((t) => t.name).sort());
    expect(Object.keys(table.metadata)).toContain('k');
    expect(Object.keys(table.metadata)).toContain('config');
    expect(file.metadata.header_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(file.metadata.k).toBe('30');
    expect(file.metadata.resumedFrom).toBe('0');
  });

  it('k edited to −3 or 1000: refused naming k (by its checksum, and by its range when re-signed)', async () => {
    const edits: [string, boolean, RegExp][] = [
      ['-3', false, /checkpoint\.safetensors: the metadata entry 'k' does not match its sha256 checksum \(the file is corrupt or was edited\)\n$/],
      ['1000', false, /checkpoint\.safetensors: the metadata entry 'k' does not match its sha256 checksum/],
      ['-3', true, /checkpoint\.safetensors: checkpoint metadata k = "-3" is out of range: it must be an integer ≥ 0\n$/],
      ['1000', true, /checkpoint\.safetensors: checkpoint metadata k = 1000 is out of range: it must be ≤ 34 \(metrics\.jsonl ends at iteration 30 and the run that wrote the checkpoint logged its metrics every 5 iterations from iteration 0\)\n$/],
    ];
    for (const [k, resign, error] of edits) {
      const edit = resign ? (b: Uint8Array) => reencode(b, (m) => (m.k = k), true) : (b: Uint8Array) => editHeader(b, (h) => (h.__metadata__.k = k));
      await refusedResume(admmRun, writeCheckpoint(edit), error);
    }
  });

  it('other metadata out of range (re-signed): refused naming the field', async () => {
    const cases: [string, string, RegExp][] = [
      ['gradSqCount', '31', /checkpoint metadata gradSqCount = "31" is out of range: it must be an integer ≥ 0 and ≤ k = 30\n$/],
      ['gradSqSum', '-1', /checkpoint metadata gradSqSum = "-1" is out of range: it must be a finite number ≥ 0\n$/],
      ['elapsedMs', 'NaN', /checkpoint metadata elapsedMs = "NaN" is out of range: it must be a finite number ≥ 0\n$/],
      ['resumedFrom', '31', /checkpoint metadata resumedFrom = "31" is out of range: it must be an integer ≥ 0 and ≤ k = 30\n$/],
    ];
    for (const [key, value, error] of cases) await refusedResume(admmRun, writeCheckpoint((b) => reencode(b, (m) => (m[key] = value), true)), error);
  });

  it("config.json's λ edited: refused naming lambda (the checkpoint's options are the run's)", async () => {
    await refusedResume(
      admmRun,
      async ({ runDir }) => {
        const path = join(runDir, 'config.json');
        const config = JSON.parse(await readFile(path, 'utf8'));
        config.options.lambda = 0.5;
        await writeFile(path, JSON.stringify(config, null, 2));
      },
      /config\.json: lambda is 0\.5 but the run's checkpoint was written with 0\.01; a resume continues the checkpoint's run, so only --iterations, .* may change \(as flags\): undo the edit of config\.json\n$/,
    );
  });

  it('a flipped mantissa byte in W1: refused naming W1', async () => {
    await refusedResume(admmRun, writeCheckpoint((b) => flipByte(b, 'W1', 8 * 5, 0x01)), /checkpoint\.safetensors: tensor W1 does not match its sha256 checksum \(the file is corrupt or was edited\)\n$/);
  });

  it('a flipped exponent byte in Λ2 (L2): refused naming L2, not reported as divergence', async () => {
    await refusedResume(admmRun, writeCheckpoint((b) => flipByte(b, 'L2', 8 * 3 + 7, 0x40)), /^nladmm train: .*checkpoint\.safetensors: tensor L2 does not match its sha256 checksum/);
  });

  it('edited metadata: refused naming the metadata', async () => {
    // A plain edit of one entry, and one that also rewrote that entry's checksum (the header's digest no longer matches).
    await refusedResume(admmRun, writeCheckpoint((b) => editHeader(b, (h) => (h.__metadata__.elapsedMs = '1'))), /the metadata entry 'elapsedMs' does not match its sha256 checksum/);
    await refusedResume(
      admmRun,
      writeCheckpoint((b) =>
        editHeader(b, (h) => {
          const table = JSON.parse(h.__metadata__.checksums);
          h.__metadata__.elapsedMs = '1';
          table.metadata.elapsedMs = createHash('sha256').update('1').digest('hex');
          h.__metadata__.checksums = JSON.stringify(table);
        }),
      ),
      /checkpoint\.safetensors: the metadata does not match its sha256 checksum \(header_sha256\) \(the file is corrupt or was edited\)\n$/,
    );
    await refusedResume(admmRun, writeCheckpoint((b) => editHeader(b, (h) => delete h.__metadata__.header_sha256)), /the metadata has 'checksums' without 'header_sha256'/);
  });

  it('a baseline checkpoint: a flipped byte in its velocity M1 is refused naming M1', async () => {
    await refusedResume(gdRun, writeCheckpoint((b) => flipByte(b, 'M1', 8 * 2 + 6, 0x10)), /checkpoint\.safetensors: tensor M1 does not match its sha256 checksum/);
  });

  it('an untouched checkpoint resumes bit for bit as an uninterrupted run', async () => {
    const r = await copyRun(admmRun);
    const resumed = await cli(['train', '--resume', 'run', '--iterations', '40', '--quiet'], r.dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const straight = await cli(['train', ...TASK, '--iterations', '40', '--out', 'straight'], r.dir);
    expect(straight.code).toBe(0);
    const a = parseSafetensors(await readFile(r.checkpoint), 'a');
    const b = parseSafetensors(await readFile(join(r.dir, 'straight', 'checkpoint.safetensors')), 'b');
    expect(a.tensors.map((t) => t.name)).toEqual(b.tensors.map((t) => t.name));
    for (const t of b.tensors) expect(Buffer.from(a.get(t.name)!.data.buffer).equals(Buffer.from(t.data.buffer)), t.name).toBe(true);
    expect(a.metadata.k).toBe('40');
    expect(a.metadata.resumedFrom).toBe('30');
    expect(a.metadata.gradSqCount).toBe(b.metadata.gradSqCount);
    // And it resumes again (its own checkpoint verifies).
    const again = await cli(['train', '--resume', 'run', '--iterations', '41', '--quiet'], r.dir);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  it('a checkpoint without checksums (an older nladmm) resumes with one notice', async () => {
    const r = await copyRun(admmRun);
    await writeFile(r.checkpoint, reencode(await readFile(r.checkpoint), (m) => delete m.resumedFrom, false));
    const resumed = await cli(['train', '--resume', 'run', '--iterations', '35'], r.dir);
    expect(resumed.code).toBe(0);
    const notices = resumed.stderr.split('\n').filter((l) => l.includes('notice'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^nladmm train: notice: .*checkpoint\.safetensors has no checksums \(written by an older nladmm\): it is resumed without verifying its bytes/);
    expect(parseSafetensors(await readFile(r.checkpoint), 'cp').metadata.header_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('sizes that cannot fit', () => {
  for (const layers of ['784,100000,10', '784,20000,10']) {
    it(`--layers ${layers} on fashion-mnist: refused at once with the estimate, no run directory`, async () => {
      const cwd = await tempDir();
      const t0 = performance.now();
      const run = await cli(['train', '--layers', layers, '--n-train', '10000', '--precision', 'f64', '--quiet'], cwd);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(run.stderr).toMatch(new RegExp(`^nladmm train: ${layers.replaceAll(',', '-')} with n = 10000 samples \\(and 10000 test samples\\) needs about [0-9.]+ GB of memory on the CPU \\(f64\\): [0-9.]+ GB for the solver's matrices \\(the largest W2's system [0-9]+×[0-9]+: [0-9.]+ GB\\), .*; [0-9.]+ [GM]B is available \\(os\\.freemem\\): use smaller --layers or --n-train, or --precision f32\\n$`));
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(await entries(cwd)).toEqual([]);
    });
  }
});

describe('options', () => {
  it('--backend webgpu in f64 is a usage error (exit 2), found before any data is read', async () => {
    const cwd = await tempDir();
    const run = await cli(['train', '--dataset', join(cwd, 'missing.csv'), '--layers', '2,3,1', '--backend', 'webgpu'], cwd);
    expect(run.stderr).toBe('nladmm train: the webgpu backend computes in f32: add --precision f32\n');
    expect(run.code).toBe(2);
    expect(await entries(cwd)).toEqual([]);
  });

  it('a --config file with a UTF-8 byte order mark is read', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'bom.json'), `\uFEFF${JSON.stringify({ dataset: 'teacher', layers: [3, 4, 2], 'n-train': 20, 'n-test': 0, iterations: 2, plots: false })}`);
    const run = await cli(['train', '--config', 'bom.json', '--out', 'run', '--quiet'], cwd);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(join(cwd, 'run', 'config.json'), 'utf8')).options.iterations).toBe(2);
  });

  it('contradictory options: a usage error naming both, nothing written', async () => {
    const cwd = await tempDir();
    const weights = join(cwd, '..', `w-${process.pid}.safetensors`);
    const w = (name: string, shape: number[]) => ({ name, dtype: 'F64' as const, shape, data: Float64Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, k) => 0.1 * Math.sin(k + 1)) });
    await writeFile(weights, encodeSafetensors([w('W1', [4, 3]), w('W2', [2, 4])]));
    const small = ['--dataset', 'teacher', '--layers', '3,4,2', '--n-train', '20', '--iterations', '1', '--quiet'];
    const cases: [string[], RegExp][] = [
      [['--preset', 'theory', '--beta', '5'], /^nladmm train: --beta has no effect with --theory-parameters \(set by --preset theory\): β and λ are then the smallest values meeting \(42\)-\(45\) of Theorem 3; drop --beta, or add --no-theory-parameters\n$/],
      [[...small, '--theory-parameters', '--lambda', '2'], /^nladmm train: --lambda has no effect with --theory-parameters: /],
      [[...small, '--init-weights', weights, '--seed', '7'], /^nladmm train: --seed has no effect with --init-weights: the initial weights are read from the file; drop --seed or --init-weights\n$/],
      [[...small, '--init-weights', weights, '--init', 'xavier'], /^nladmm train: --init has no effect with --init-weights: /],
      [[...small, '--data-dir', cwd], /^nladmm train: --data-dir has no effect with --dataset teacher: it is the folder of the IDX files of fashion-mnist or mnist\n$/],
      [[...small, '--delimiter', ';'], /^nladmm train: --delimiter has no effect with --dataset teacher: it applies to CSV files/],
      [['--dataset', 'square', '--layers', '1,4,1', '--teacher-layers', '1,3,1'], /^nladmm train: --teacher-layers has no effect with --dataset square/],
      [[...small, '--optimizer', 'gd', '--beta', '2'], /^nladmm train: --beta has no effect with --optimizer gd: it is a parameter of Algorithm 1 \(--optimizer admm\)\n$/],
      // The β schedule: all three options or none, each in range.
      [[...small, '--beta-factor', '2', '--beta-every', '3'], /^nladmm train: the β schedule needs --beta-factor, --beta-every and --beta-cap together: --beta-factor and --beta-every are given without --beta-cap\n$/],
      [[...small, '--beta-cap', '8'], /^nladmm train: the β schedule needs --beta-factor, --beta-every and --beta-cap together: --beta-cap is given without --beta-factor and --beta-every\n$/],
      [[...small, '--beta-factor', '0', '--beta-every', '3', '--beta-cap', '8'], /^nladmm train: --beta-factor must be a finite number > 0, got 0\n$/],
      [[...small, '--beta-factor', '-2', '--beta-every', '3', '--beta-cap', '8'], /^nladmm train: --beta-factor must be a finite number > 0, got -2\n$/],
      [[...small, '--beta-factor', '2', '--beta-every', '0', '--beta-cap', '8'], /^nladmm train: --beta-every must be an integer ≥ 1, got 0\n$/],
      [[...small, '--beta', '1,4,2', '--beta-factor', '2', '--beta-every', '3', '--beta-cap', '3'], /^nladmm train: --beta-cap must be a finite number ≥ the largest --beta \(4\), got 3\n$/],
      [['--preset', 'theory', '--beta-factor', '2', '--beta-every', '3', '--beta-cap', '8'], /^nladmm train: --beta-factor, --beta-every and --beta-cap cannot be used with --theory-parameters: Theorem 3 holds for a fixed β/],
      [[...small, '--optimizer', 'gd', '--beta-factor', '2', '--beta-every', '3', '--beta-cap', '8'], /^nladmm train: --beta-factor has no effect with --optimizer gd: it is a parameter of Algorithm 1/],
      [['--dataset', join(cwd, 'x.npy'), '--labels', join(cwd, 'y.npy'), '--layers', '2,3,1', '--test-dataset', join(cwd, 't.npy'), '--test-split', '0.2'], /^nladmm train: give either --test-dataset or --test-split, not both\n$/],
    ];
    for (const [args, error] of cases) {
      const run = await cli(['train', ...args], cwd);
      expect(run.stderr, args.join(' ')).toMatch(error);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.code, args.join(' ')).toBe(2);
      expect(await entries(cwd)).toEqual([]);
    }
    // A seed is used with --init-weights when sgd shuffles mini-batches: no contradiction.
    const sgd = await cli(['train', ...small, '--init-weights', weights, '--seed', '7', '--optimizer', 'sgd', '--batch-size', '5', '--out', 'sgd'], cwd);
    expect(sgd.stderr).toBe('');
    expect(sgd.code).toBe(0);
  });
});
