// Every bad input exits non-zero with one clear line on stderr and leaves nothing half-written: the run
// directory is created only after validation (and atomically), so the working folder stays empty.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { parseSafetensors } from '@nladmm/cli';
import { PLUGINS, cli, cliProcess, entries, idxBytes, npyBytes, tempDir } from './helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/safetensors/', import.meta.url));

let inputs: string;

/** An MNIST-format folder whose four files can be replaced one at a time. */
async function idxFolder(name: string, replace: Record<string, Uint8Array> = {}): Promise<string> {
  const dir = join(inputs, name);
  await mkdir(dir);
  const n = 20;
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte.gz': gzipSync(idxBytes([n, 2, 2], Array.from({ length: n * 4 }, (_, k) => k % 256))),
    'train-labels-idx1-ubyte.gz': gzipSync(idxBytes([n], Array.from({ length: n }, (_, k) => k % 10))),
    't10k-images-idx3-ubyte.gz': gzipSync(idxBytes([5, 2, 2], Array.from({ length: 20 }, (_, k) => k))),
    't10k-labels-idx1-ubyte.gz': gzipSync(idxBytes([5], [0, 1, 2, 3, 4])),
    ...replace,
  };
  for (const [file, bytes] of Object.entries(files)) await writeFile(join(dir, file), bytes);
  return dir;
}

beforeAll(async () => {
  inputs = await tempDir('nladmm-inputs-');
  await writeFile(join(inputs, 'text.csv'), 'f0,f1,label\n1,2,0\n3,abc,1\n');
  await writeFile(join(inputs, 'nan.csv'), 'f0,f1,label\n1,NaN,0\n3,4,1\n');
  await writeFile(join(inputs, 'good.csv'), 'f0,f1,f2,label\n1,2,3,0\n3,4,5,1\n5,6,7,0\n');
  await writeFile(join(inputs, 'nan.npy'), npyBytes('<f8', [2, 2], [1, 2, Number.NaN, 4]));
  await writeFile(join(inputs, 'labels.npy'), npyBytes('<i8', [2], [0, 1]));
  await writeFile(join(inputs, 'bad-config.json'), '{"layers": [1, 2,');
  await writeFile(join(inputs, 'a-file'), 'not a directory');
  await mkdir(join(inputs, 'a-folder.npy'));
  const truncated = await readFile(join(FIXTURES, 'init-2-3-1.safetensors'));
  await writeFile(join(inputs, 'truncated.safetensors'), truncated.subarray(0, truncated.length - 10));
  await idxFolder('missing-labels');
  const full = gzipSync(idxBytes([20, 2, 2], Array.from({ length: 80 }, (_, k) => k)));
  await idxFolder('truncated-gz', { 'train-images-idx3-ubyte.gz': full.subarray(0, full.length - 30) });
  await idxFolder('truncated-raw', { 'train-images-idx3-ubyte.gz': idxBytes([20, 2, 2], Array.from({ length: 70 }, (_, k) => k)) });
  await idxFolder('bad-magic', { 'train-images-idx3-ubyte.gz': Uint8Array.from([0, 0, 0x07, 3, 0, 0, 0, 1]) });
  await idxFolder('count-mismatch', { 'train-labels-idx1-ubyte.gz': gzipSync(idxBytes([19], Array.from({ length: 19 }, () => 1))) });
});

const SMALL = ['--iterations', '2', '--quiet'];

const CASES: { name: string; args: () => string[]; error: RegExp; code?: number }[] = [
  { name: 'an unknown flag', args: () => ['train', '--iteratons', '5'], error: /^nladmm train: unknown option --iteratons for 'nladmm train' \(did you mean --iterations\?\)/, code: 2 },
  { name: 'a missing IDX file', args: () => ['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'nowhere'), '--layers', '4,3,10', ...SMALL], error: /^nladmm train: mnist: .*nowhere\/train-images-idx3-ubyte\[\.gz\] not found/ },
  { name: 'a corrupt IDX file (bad magic number)', args: () => ['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'bad-magic'), '--layers', '4,3,10', ...SMALL], error: /train-images-idx3-ubyte\.gz: not an IDX file: magic number 0x00000703/ },
  { name: 'a truncated gzip IDX file', args: () => ['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'truncated-gz'), '--layers', '4,3,10', ...SMALL], error: /train-images-idx3-ubyte\.gz: truncated gzip stream/ },
  { name: 'a truncated IDX file', args: () => ['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'truncated-raw'), '--layers', '4,3,10', ...SMALL], error: /train-images-idx3-ubyte\.gz: truncated: the header declares 20×2×2 u8 values \(80 bytes\) but only 70 bytes follow/ },
  { name: 'more images than labels', args: () => ['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'count-mismatch'), '--layers', '4,3,10', ...SMALL], error: /train-labels-idx1-ubyte\.gz: has 19 labels but .*train-images-idx3-ubyte\.gz has 20 samples/ },
  { name: 'a CSV with a non-numeric cell', args: () => ['train', '--dataset', join(inputs, 'text.csv'), '--layers', '2,3,2', ...SMALL], error: /text\.csv: line 3, column 2 \('f1'\): 'abc' is not a number/ },
  { name: 'NaN in a CSV file', args: () => ['train', '--dataset', join(inputs, 'nan.csv'), '--layers', '2,3,2', ...SMALL], error: /nan\.csv: line 2, column 2 \('f1'\): NaN in the data/ },
  { name: 'NaN in a .npy file', args: () => ['train', '--dataset', join(inputs, 'nan.npy'), '--labels', join(inputs, 'labels.npy'), '--layers', '2,3,2', ...SMALL], error: /nan\.npy: NaN in the data at sample 1, feature 0/ },
  { name: 'layer sizes that do not fit the data', args: () => ['train', '--dataset', join(inputs, 'good.csv'), '--layers', '5,4,2', ...SMALL], error: /^nladmm train: --layers 5,4,2 does not fit the data: d_0 = 5 but the data has 3 features\n$/, code: 2 },
  { name: 'an output width that does not fit the classes', args: () => ['train', '--dataset', join(inputs, 'good.csv'), '--layers', '3,4,1', '--targets', 'onehot', ...SMALL], error: /d_N = 1 but the targets have 1 classes|label 1 of sample 1 is not a class 0…0/ },
  { name: 'an unknown activation', args: () => ['train', '--preset', 'paper-square', '--activation', 'relu', ...SMALL], error: /^nladmm train: unknown activation 'relu' \(built in: sigmoid, tanh, atan, softplus, silu; or give a plugin file/, code: 2 },
  { name: "an unbounded activation with the paper's step rule", args: () => ['train', '--dataset', 'square', '--layers', '1,4,1', '--n-train', '20', '--n-test', '0', '--activation', 'silu', ...SMALL], error: /^nladmm train: --step-rule paper needs finite activation bounds, but activation 'silu' has L0=Infinity, L1=1\.09983\d+, L2=0\.5 \(outside Assumption 1\): use --step-rule authors\n$/, code: 2 },
  { name: 'a plugin file that throws', args: () => ['train', '--preset', 'paper-square', '--activation', join(PLUGINS, 'broken-throws-at-import.mjs'), ...SMALL], error: /^nladmm train: activation plugin .*broken-throws-at-import\.mjs could not be loaded: / },
  { name: 'a plugin that fails validation', args: () => ['train', '--preset', 'paper-square', '--activation', join(PLUGINS, 'broken-derivative.mjs'), ...SMALL], error: /refused: derivative check failed/ },
  { name: 'an unwritable run directory', args: () => ['train', '--preset', 'paper-square', '--out', join(inputs, 'a-file', 'run'), ...SMALL], error: /^nladmm train: cannot create run directory .*a-file\/run: .*a-file is not a directory\n$/ },
  { name: 'a run directory that is not empty', args: () => ['train', '--preset', 'paper-square', '--out', inputs, ...SMALL], error: /already exists and is not empty \(continue it with --resume/ },
  { name: 'truncated --init-weights', args: () => ['train', '--preset', 'paper-square', '--layers', '2,3,1', '--dataset', 'product', '--init-weights', join(inputs, 'truncated.safetensors'), ...SMALL], error: /truncated\.safetensors: invalid safetensors file: tensor 'W2' ends at byte 72/ },
  { name: 'an unknown data set', args: () => ['train', '--dataset', 'cifar', '--layers', '2,3,1', ...SMALL], error: /unknown data set 'cifar' \(built-in: fashion-mnist, mnist, square, product, teacher/, code: 2 },
  { name: 'a config file that is not JSON', args: () => ['train', '--config', join(inputs, 'bad-config.json')], error: /^nladmm train: --config .*bad-config\.json: not valid JSON/, code: 2 },
  { name: 'a bad value', args: () => ['train', '--preset', 'paper-square', '--beta', '1,x'], error: /^nladmm train: --beta: expected numbers separated by commas, got "x" in "1,x"\n$/, code: 2 },
  { name: 'the webgpu backend in f64', args: () => ['train', '--preset', 'paper-square', '--backend', 'webgpu', ...SMALL], error: /^nladmm train: the webgpu backend computes in f32: add --precision f32\n$/, code: 2 },
  { name: 'the webgpu backend in f64 (compare)', args: () => ['compare', '--preset', 'paper-square', '--backend', 'webgpu', '--out', 'cmp', ...SMALL], error: /^nladmm compare: the webgpu backend computes in f32: add --precision f32\n$/, code: 2 },
  { name: '--labels with a synthetic data set', args: () => ['train', '--dataset', 'square', '--layers', '1,4,1', '--labels', join(inputs, 'labels.npy'), ...SMALL], error: /^nladmm train: --dataset square is generated; --labels \/ --test-dataset \/ --test-labels are for file data sets\n$/, code: 2 },
  { name: 'eval without a model', args: () => ['eval'], error: /^nladmm eval: give a model file or run directory \(see nladmm eval --help\)\n$/, code: 2 },
  { name: 'predict without --out', args: () => ['predict', join(inputs, 'nothing.safetensors')], error: /^nladmm predict: --out FILE\.csv\|FILE\.npy is required \(or --out - for CSV on stdout\)\n$/, code: 2 },
  { name: 'plot without a run', args: () => ['plot'], error: /^nladmm plot: give one RUN_DIR or metrics\.jsonl \(see nladmm plot --help\)\n$/, code: 2 },
  { name: 'a data file that is a directory', args: () => ['train', '--dataset', join(inputs, 'a-folder.npy'), '--labels', join(inputs, 'labels.npy'), '--layers', '2,3,2', ...SMALL], error: /a-folder\.npy: is a directory\n$/ },
  { name: 'a metrics file that is missing', args: () => ['plot', inputs], error: /metrics\.jsonl: no such file\n$/ },
  { name: 'eval of a missing model', args: () => ['eval', join(inputs, 'nothing.safetensors')], error: /^nladmm eval: .*nothing\.safetensors: model: no such file\n$/ },
  { name: 'an unknown command', args: () => ['trian'], error: /^nladmm: unknown command 'trian' \(did you mean 'train'\?\)/, code: 2 },
];

describe('bad inputs', () => {
  for (const c of CASES) {
    it(`${c.name}: exits non-zero with one line and writes nothing`, async () => {
      const cwd = await tempDir();
      const run = await cli(c.args(), cwd);
      expect(run.stderr).toMatch(c.error);
      expect(run.stderr.endsWith('\n')).toBe(true);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
      expect(run.code).toBe(c.code ?? 1);
      expect(run.stdout).toBe('');
      expect(await entries(cwd)).toEqual([]);
    });
  }

  it('the real executable: exit codes, one line, and the stack only with --debug', async () => {
    const cwd = await tempDir();
    const unknown = await cliProcess(['train', '--bogus'], cwd);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("nladmm train: unknown option --bogus for 'nladmm train'; see nladmm train --help\n");
    const corrupt = await cliProcess(['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'bad-magic'), '--layers', '4,3,10'], cwd);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    const debug = await cliProcess(['train', '--dataset', 'mnist', '--data-dir', join(inputs, 'bad-magic'), '--layers', '4,3,10', '--debug'], cwd);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/DataError: .*not an IDX file[\s\S]*\n\s+at /);
    expect(await entries(cwd)).toEqual([]);
  });
});

describe('divergence', () => {
  it('stops with the iteration, block and layer, and keeps the last good checkpoint', async () => {
    const cwd = await tempDir();
    const run = await cli(['train', '--dataset', 'product', '--layers', '2,3,1', '--n-train', '20', '--n-test', '0', '--init-weights', join(FIXTURES, 'huge-2-3-1.safetensors'), '--iterations', '5', '--out', 'run', '--quiet'], cwd);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^nladmm train: diverged at iteration 1: block W1 holds NaN or Infinity; the last good checkpoint \(iteration 0\) is kept in .*run\/checkpoint\.safetensors\n$/);
    const cp = parseSafetensors(await readFile(join(cwd, 'run', 'checkpoint.safetensors')), 'cp');
    expect(cp.metadata.k).toBe('0');
    for (const t of cp.tensors) expect(t.data.every(Number.isFinite)).toBe(true);
    expect(await entries(join(cwd, 'run'))).toEqual(['checkpoint.safetensors', 'config.json', 'metrics.jsonl']);
  });
});
