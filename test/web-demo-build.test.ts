// The web demo's build and its static server, without a browser: the files it writes, the Fashion-MNIST subset
// (read back with the page's own decoder), the demo's task helpers and charts (the CLI's chart layout), and
// scripts/serve-static.mjs (MIME types, HEAD, 404, no directory traversal).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOneHot } from '@nladmm/core';
import { FASHION_MNIST_DIR, buildWebDemo, readIdx } from '../scripts/build-web-demo.mjs';
import { contentType, resolveRequestPath, startStaticServer } from '../scripts/serve-static.mjs';
import { TASKS, decodeSubset, fashionMnistData, parseLayers, syntheticData, syntheticTestSize } from '../packages/web-demo/src/tasks.ts';
import { type ChartOptions, lineChartSpec } from '../packages/web-demo/src/charts.ts';
import { chartScene } from '../packages/cli/src/plot/chart.ts';

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'nladmm-demo-build-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** GET/HEAD through a raw path (no client-side normalisation of `..`). */
function fetchRaw(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('web demo build', () => {
  it('writes the page, the bundle, the plugin and the manifest', async () => {
    const out = join(workDir, 'no-data');
    const built = await buildWebDemo({ outDir: out, datasetDir: join(workDir, 'missing-dataset') });
    for (const f of ['index.html', 'style.css', 'main.js', 'main.js.map', 'plugins/gudermannian.mjs', 'data/manifest.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('src="main.js"');
    // Without the data set the build still succeeds, says so, and the manifest has no Fashion-MNIST.
    expect(built.dataset).toBeNull();
    expect(built.warnings.join('\n')).toMatch(/Fashion-MNIST not written/);
    expect(JSON.parse(readFileSync(join(out, 'data', 'manifest.json'), 'utf8')).fashionMnist).toBeNull();
  });

  it.skipIf(!existsSync(FASHION_MNIST_DIR))('writes a Fashion-MNIST subset that the page decodes to the original pixels', async () => {
    const out = join(workDir, 'with-data');
    const built = await buildWebDemo({ outDir: out, train: 300, test: 100 });
    expect(built.dataset).toMatchObject({ train: 300, test: 100, rows: 28, cols: 28 });
    const file = readFileSync(join(out, 'data', 'fashion-mnist-subset.bin'));
    expect(file.byteLength).toBe(24 + 400 * 785);
    const subset = decodeSubset(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
    const images = readIdx(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
    const labels = readIdx(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
    const testLabels = readIdx(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'));
    expect(Array.from(subset.train.pixels.subarray(0, 784 * 3))).toEqual(Array.from(images.data.subarray(0, 784 * 3)));
    expect(Array.from(subset.train.labels)).toEqual(Array.from(labels.data.subarray(0, 300)));
    expect(Array.from(subset.test.labels)).toEqual(Array.from(testLabels.data.subarray(0, 100)));
    const data = fashionMnistData(subset, 200);
    expect([data.x.rows, data.x.cols, data.y.rows, data.y.cols]).toEqual([784, 200, 10, 200]);
    expect([data.xTest!.cols, data.yTest!.cols]).toEqual([100, 100]);
    expect(isOneHot(data.y)).toBe(true);
    // Image c is column c: pixel r of image 1 is X[r, 1], scaled to [0, 1].
    for (const r of [0, 300, 783]) expect(data.x.data[r * 200 + 1]).toBe(images.data[784 + r] / 255);
    expect(() => decodeSubset(new ArrayBuffer(10))).toThrow(/too short/);
    expect(() => decodeSubset(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength - 1))).toThrow(/bytes, expected/);
  });

  it('parses layers and builds the synthetic tasks of the demo', () => {
    expect(parseLayers('784, 64,64 ,10')).toEqual([784, 64, 64, 10]);
    expect(() => parseLayers('2, 16')).toThrow(/at least 3/);
    expect(() => parseLayers('2, 0, 1')).toThrow(/positive integer/);
    expect(parseLayers('784 64 10')).toEqual([784, 64, 10]);
    expect(parseLayers('784-64-10')).toEqual([784, 64, 10]);
    expect(parseLayers('784×64x10')).toEqual([784, 64, 10]);
    // A minus sign, a zero, a fraction or an empty entry is refused with the entry named, not dropped or read as a separator.
    expect(() => parseLayers('2, -5, 1')).toThrow('layers: "-5" (entry 2) is not a positive integer');
    expect(() => parseLayers('2,-5,1')).toThrow('layers: "-5" (entry 2) is not a positive integer');
    expect(() => parseLayers('2, 0, 1')).toThrow('layers: "0" (entry 2) is not a positive integer');
    expect(() => parseLayers('2, 1.5, 1')).toThrow('layers: "1.5" (entry 2) is not a positive integer');
    expect(() => parseLayers('2, 16, 1e1')).toThrow('layers: "1e1" (entry 3) is not a positive integer');
    expect(() => parseLayers('2,, 5, 1')).toThrow('layers: entry 2 of "2,, 5, 1" is empty');
    expect(() => parseLayers('2, 5, 1,')).toThrow('layers: entry 4 of "2, 5, 1," is empty');
    expect(() => parseLayers('  ')).toThrow(/at least 3/);
    const data = syntheticData('product', 40, 7);
    expect([data.x.rows, data.x.cols, data.y.rows, data.xTest!.cols]).toEqual([2, 40, 1, syntheticTestSize(40)]);
    for (let k = 0; k < 40; k++) expect(data.y.data[k]).toBeCloseTo(data.x.data[k] * data.x.data[40 + k], 15);
    for (const task of Object.values(TASKS)) {
      expect(task.defaults.layers[0]).toBe(task.inputs);
      expect(task.defaults.layers[task.defaults.layers.length - 1]).toBe(task.outputs);
    }
  });
});

describe('web demo charts', () => {
  it('are laid out by the CLI chart scene: the empty text, an automatic log axis, whole iterations, dots, a legend of the drawn series', () => {
    const options: ChartOptions = { title: 'Augmented Lagrangian', series: [{ name: 'L', color: '#2457c5' }, { name: 'objective', color: '#9c6ade', dashed: true }], scale: 'auto', emptyText: 'press Start' };
    const empty = chartScene(lineChartSpec(options, [[], []], 400, 240));
    expect(empty.items.filter((p) => p.kind === 'text').map((p) => p.text)).toEqual(['Augmented Lagrangian', 'press Start']);
    const points = [100, 10, 1].map((y, k) => ({ x: k + 1, y }));
    const spec = lineChartSpec(options, [points, []], 400, 240);
    expect([spec.yLog, spec.xLabel, spec.series.map((s) => s.label)]).toEqual([true, 'iteration · log scale', ['L']]);
    const scene = chartScene(spec);
    const texts = scene.items.flatMap((p) => (p.kind === 'text' ? [p.text] : []));
    expect(texts).toEqual(expect.arrayContaining(['1', '2', '3', '1', '10', '100', 'L']));
    expect(texts.filter((t) => /^\d*\.\d+$/.test(t) && Number(t) > 1)).toEqual([]);
    const dots = scene.items.filter((p) => p.kind === 'line' && p.color === '#2457c5' && p.points.length === 2 && p.points[0].join() === p.points[1].join());
    expect(dots).toHaveLength(3);
    // A linear scale with a fixed range keeps it.
    expect(lineChartSpec({ ...options, scale: 'linear', yRange: [0, 1] }, [points, []], 400, 240)).toMatchObject({ yLog: false, yRange: [0, 1], xLabel: 'iteration' });
  });
});

describe('static server (scripts/serve-static.mjs)', () => {
  it('maps extensions to MIME types', () => {
    expect(contentType('a/main.js')).toMatch(/^text\/javascript/);
    expect(contentType('plugin.MJS')).toMatch(/^text\/javascript/);
    expect(contentType('x.wasm')).toBe('application/wasm');
    expect(contentType('d.bin')).toBe('application/octet-stream');
    expect(contentType('index.html')).toMatch(/^text\/html/);
    expect(contentType('s.css')).toMatch(/^text\/css/);
    expect(contentType('m.json')).toMatch(/^application\/json/);
    expect(contentType('noext')).toBe('application/octet-stream');
  });

  it('keeps request paths inside the folder', () => {
    const root = '/srv/site';
    expect(resolveRequestPath(root, '/')).toBe('/srv/site');
    expect(resolveRequestPath(root, '/a/b.js?x=1#y')).toBe('/srv/site/a/b.js');
    expect(resolveRequestPath(root, '/a%20b.txt')).toBe('/srv/site/a b.txt');
    for (const bad of ['/../etc/passwd', '/a/../../etc/passwd', '/%2e%2e/etc/passwd', '/a/%2e%2e%2f%2e%2e%2fetc', '/..%5c..%5cetc', '/a%00.js', '/%E0%A4%A', 'relative']) {
      expect(resolveRequestPath(root, bad), bad).toBeUndefined();
    }
  });

  it('serves files with their types, answers HEAD, 404 and 405, and refuses traversal and links out', async () => {
    const root = join(workDir, 'site');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><p>hi</p>');
    writeFileSync(join(root, 'sub', 'mod.mjs'), 'export default 1;\n');
    writeFileSync(join(root, 'sub', 'data.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(root, 'sub', 'k.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
    writeFileSync(join(workDir, 'secret.txt'), 'secret');
    symlinkSync(join(workDir, 'secret.txt'), join(root, 'link.txt'));
    const server = await startStaticServer({ root });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await fetchRaw(server.port, '/');
      expect([index.status, index.type, index.body.toString()]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><p>hi</p>']);
      expect((await fetchRaw(server.port, '/sub/mod.mjs')).type).toBe('text/javascript; charset=utf-8');
      expect((await fetchRaw(server.port, '/sub/k.wasm')).type).toBe('application/wasm');
      const bin = await fetchRaw(server.port, '/sub/data.bin');
      expect([bin.type, Array.from(bin.body)]).toEqual(['application/octet-stream', [1, 2, 3]]);
      const head = await fetchRaw(server.port, '/sub/data.bin', 'HEAD');
      expect([head.status, head.body.length]).toEqual([200, 0]);
      expect((await fetchRaw(server.port, '/nope.js')).status).toBe(404);
      expect((await fetchRaw(server.port, '/', 'POST')).status).toBe(405);
      for (const path of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/sub/%2e%2e%2f%2e%2e%2fsecret.txt']) {
        const res = await fetchRaw(server.port, path);
        expect(res.status, path).toBe(400);
        expect(res.body.toString()).not.toContain('secret');
      }
      const link = await fetchRaw(server.port, '/link.txt');
      expect(link.status).toBe(403);
    } finally {
      await server.close();
    }
  });

  it('listens on a given port', async () => {
    const first = await startStaticServer({ root: workDir });
    await first.close();
    const again = await startStaticServer({ root: workDir, port: first.port });
    try {
      expect(again.port).toBe(first.port);
    } finally {
      await again.close();
    }
  });
});
