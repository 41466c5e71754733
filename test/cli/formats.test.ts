// The file formats of the CLI: .npy (f32 / f64 / u8, both byte orders), IDX (raw and gzip), CSV, and
// safetensors (the header nladmm writes, and --init-weights reading a fixture of known bytes); the charts' PNG
// files, decoded by pngjs.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodePng, parseCsv, parseIdx, parseNpy, parseSafetensors } from '@nladmm/cli';
import { cli, idxBytes, npyBytes, readSafetensorsRaw, tempDir } from './helpers.ts';

describe('.npy reading', () => {
  const values = [1.5, -2.25, 3, 0.1, 1e-3, -7];
  for (const descr of ['<f4', '>f4', '<f8', '>f8']) {
    it(`reads ${descr} in C order`, () => {
      const t = parseNpy(npyBytes(descr, [2, 3], values), 'x.npy');
      expect(t.shape).toEqual([2, 3]);
      const expected = descr.endsWith('f4') ? values.map((v) => Math.fround(v)) : values;
      expect([...t.data]).toEqual(expected);
    });
  }
  it('reads uint8 (|u1) and int64 labels in both byte orders', () => {
    expect([...parseNpy(npyBytes('|u1', [4], [0, 7, 255, 3]), 'u.npy').data]).toEqual([0, 7, 255, 3]);
    expect([...parseNpy(npyBytes('<i8', [3], [2, 0, 9]), 'l.npy').data]).toEqual([2, 0, 9]);
    expect([...parseNpy(npyBytes('>i8', [3], [2, 0, 9]), 'l.npy').data]).toEqual([2, 0, 9]);
  });
  it('refuses Fortran order, unsupported dtypes, truncation and non-npy files clearly', () => {
    expect(() => parseNpy(npyBytes('<f8', [2, 3], values, { fortran: true }), 'f.npy')).toThrow(/f\.npy: Fortran-order arrays are not supported/);
    expect(() => parseNpy(npyBytes('<c16', [1], []), 'c.npy')).toThrow(/c\.npy: unsupported dtype '<c16'/);
    const full = npyBytes('<f8', [2, 3], values);
    expect(() => parseNpy(full.subarray(0, full.length - 5), 't.npy')).toThrow(/t\.npy: truncated: the header declares 2×3 f64 values \(48 bytes\) but only 43 bytes follow/);
    expect(() => parseNpy(Buffer.from('hello world, not numpy'), 'h.npy')).toThrow(/h\.npy: not a \.npy file/);
  });
  it('trains from big-endian f32 features with int64 labels', async () => {
    const dir = await tempDir();
    const n = 30;
    const x: number[] = [];
    const y: number[] = [];
    for (let s = 0; s < n; s++) {
      y.push(s % 2);
      x.push((s % 2) * 2 - 1 + 0.01 * s, 0.5 - 0.02 * s);
    }
    await writeFile(join(dir, 'x.npy'), npyBytes('>f4', [n, 2], x));
    await writeFile(join(dir, 'y.npy'), npyBytes('<i8', [n], y));
    const run = await cli(['train', '--dataset', 'x.npy', '--labels', 'y.npy', '--layers', '2,6,6,2', '--iterations', '3', '--out', 'r', '--quiet', '--no-plots'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/train accuracy: \d/);
  });
});

describe('IDX reading', () => {
  const images = idxBytes([3, 2, 2], [0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 253]);
  it('reads raw and gzip files with their dimensions', () => {
    for (const bytes of [images, gzipSync(images)]) {
      const raw = bytes[0] === 0x1f ? new Uint8Array(gunzipSync(bytes)) : bytes;
      const t = parseIdx(raw, 'i');
      expect(t.shape).toEqual([3, 2, 2]);
      expect(t.dtype).toBe('u8');
      expect([...t.data]).toEqual([0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 253]);
    }
  });
  it('checks the magic number, truncation and trailing bytes', () => {
    expect(() => parseIdx(Uint8Array.of(1, 2, 3, 4, 5), 'bad')).toThrow(/bad: not an IDX file: magic number 0x01020304/);
    expect(() => parseIdx(images.subarray(0, images.length - 1), 'short')).toThrow(/short: truncated: the header declares 3×2×2 u8 values \(12 bytes\) but only 11 bytes follow/);
    expect(() => parseIdx(Uint8Array.from([...images, 9]), 'long')).toThrow(/long: 1 unexpected bytes after/);
    expect(() => parseIdx(images.subarray(0, 9), 'head')).toThrow(/head: truncated IDX header/);
  });
  it('trains from an MNIST-format folder (gzip and raw files mixed)', async () => {
    const dir = await tempDir();
    const data = join(dir, 'digits');
    await mkdir(data);
    const n = 40;
    const pixels = Array.from({ length: n * 16 }, (_, k) => (k * 37) % 256);
    const labels = Array.from({ length: n }, (_, k) => k % 10);
    await writeFile(join(data, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([n, 4, 4], pixels)));
    await writeFile(join(data, 'train-labels-idx1-ubyte'), idxBytes([n], labels));
    await writeFile(join(data, 't10k-images-idx3-ubyte'), idxBytes([10, 4, 4], pixels.slice(0, 160)));
    await writeFile(join(data, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxBytes([10], labels.slice(0, 10))));
    const run = await cli(['train', '--dataset', 'mnist', '--data-dir', 'digits', '--layers', '16,8,8,10', '--iterations', '2', '--out', 'r', '--quiet', '--no-plots'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/test accuracy: \d+\.\d\d%/);
    const config = JSON.parse(await readFile(join(dir, 'r', 'config.json'), 'utf8'));
    expect(config.nladmm.data).toBe('mnist: 40 training + 10 test samples, 16 features, 10 classes (one-hot), inputs scaled (÷255)');
  });
});

describe('CSV reading', () => {
  it('detects a header, honours quotes and skips blank lines', () => {
    const t = parseCsv('a,"b, quoted",c\n1,2,3\n\n4.5,-6e-1,"7"\n', 'x.csv');
    expect(t.header).toEqual(['a', 'b, quoted', 'c']);
    expect([...t.data]).toEqual([1, 2, 3, 4.5, -0.6, 7]);
    expect(t.lines).toEqual([2, 4]);
  });
  it('names the line and column of a bad cell', () => {
    expect(() => parseCsv('x,y\n1,2\n3,abc\n', 'd.csv')).toThrow(/d\.csv: line 3, column 2 \('y'\): 'abc' is not a number/);
    expect(() => parseCsv('1,2\n3,\n', 'e.csv')).toThrow(/e\.csv: line 2, column 2: an empty cell is not a number/);
    expect(() => parseCsv('1,2\n3\n', 'r.csv')).toThrow(/r\.csv: line 2 has 1 cells but the first line has 2/);
    expect(() => parseCsv('1,nan\n', 'n.csv')).toThrow(/n\.csv: line 1, column 2: NaN in the data/);
  });
});

describe('safetensors', () => {
  it('writes a valid header: dtypes, shapes, contiguous offsets and string metadata', async () => {
    const dir = await tempDir();
    for (const precision of ['f64', 'f32']) {
      const run = await cli(['train', '--dataset', 'product', '--layers', '2,5,4,1', '--n-train', '30', '--n-test', '0', '--iterations', '3', '--precision', precision, '--out', precision, '--quiet', '--no-plots'], dir);
      expect(run.code).toBe(0);
      for (const [file, names] of [
        ['model.safetensors', ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']],
        ['checkpoint.safetensors', ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'V1', 'V2', 'V3', 'L1', 'L2', 'L3']],
      ] as const) {
        const bytes = await readFile(join(dir, precision, file));
        const { header, dataStart } = readSafetensorsRaw(bytes);
        const dtype = precision === 'f64' ? 'F64' : 'F32';
        const size = precision === 'f64' ? 8 : 4;
        const shapes: Record<string, number[]> = { W1: [5, 2], b1: [5], W2: [4, 5], b2: [4], W3: [1, 4], b3: [1], V1: [5, 30], V2: [4, 30], V3: [1, 30], L1: [5, 30], L2: [4, 30], L3: [1, 30] };
        const tensorNames = Object.keys(header).filter((k) => k !== '__metadata__');
        expect(tensorNames).toEqual(names);
        let offset = 0;
        for (const name of tensorNames) {
          const t = header[name];
          expect(t.dtype).toBe(dtype);
          expect(t.shape).toEqual(shapes[name]);
          expect(t.data_offsets).toEqual([offset, offset + shapes[name].reduce((a, b) => a * b, 1) * size]);
          offset = t.data_offsets[1];
        }
        expect(dataStart + offset).toBe(bytes.length);
        const meta = header.__metadata__;
        for (const v of Object.values(meta)) expect(typeof v).toBe('string');
        expect(meta.k).toBe('3');
        expect(JSON.parse(meta.config)).toMatchObject({ dataset: 'product', layers: [2, 5, 4, 1], precision });
        if (file === 'checkpoint.safetensors') {
          expect(meta.format).toBe('nladmm-checkpoint');
          for (const key of ['gradSqSum', 'gradSqCount', 'elapsedMs']) expect(Number.isFinite(Number(meta[key]))).toBe(true);
        } else expect(meta.format).toBe('nladmm-model');
      }
    }
  });

  it('--init-weights reads a fixture of known bytes (F32 and F64 tensors, a missing bias)', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/safetensors/init-2-3-1.safetensors', import.meta.url));
    const bytes = await readFile(fixture);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('b516ee3026b6291ecc67e48cda35001d48397248150964d31da8f67f709b80f0');
    const dir = await tempDir();
    const run = await cli(['train', '--dataset', 'product', '--layers', '2,3,1', '--n-train', '20', '--n-test', '0', '--init-weights', fixture, '--iterations', '0', '--out', 'r', '--quiet', '--no-plots'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const model = parseSafetensors(await readFile(join(dir, 'r', 'model.safetensors')), 'model');
    expect([...model.get('W1')!.data]).toEqual([0.5, -1.25, 2, 0.75, -0.5, 1.5]);
    expect([...model.get('b1')!.data]).toEqual([0.1, -0.2, 0.3]);
    expect([...model.get('W2')!.data]).toEqual([1, -2, 0.25]);
    expect([...model.get('b2')!.data]).toEqual([0]);
  });

  it('refuses a truncated or inconsistent file', () => {
    const good = readFileSyncFixture();
    expect(() => parseSafetensors(good.subarray(0, good.length - 8), 'cut')).toThrow(/cut: invalid safetensors file: tensor 'W2' ends at byte 72 but the data section has 64 bytes/);
    const bad = Uint8Array.from(good);
    bad[3] = 0x01; // the header length grows past the end of the file
    expect(() => parseSafetensors(bad, 'len')).toThrow(/len: invalid safetensors file: truncated/);
  });
});

function readFileSyncFixture(): Uint8Array {
  return new Uint8Array(readFileSync(fileURLToPath(new URL('../fixtures/safetensors/init-2-3-1.safetensors', import.meta.url))));
}

describe('PNG (the charts), read back by pngjs', () => {
  it('decodes to the pixels encoded', () => {
    const [width, height] = [7, 5];
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, k) => (k * 37 + (k >> 3)) & 0xff);
    const png = PNG.sync.read(Buffer.from(encodePng(width, height, rgb)));
    expect([png.width, png.height]).toEqual([width, height]);
    const rgba = Array.from({ length: width * height }, (_, p) => [rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255]).flat();
    expect([...png.data]).toEqual(rgba);
  });
});
