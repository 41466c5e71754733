#!/usr/bin/env node
// Builds the web demo (packages/web-demo) into a folder that works offline from its files alone:
//   index.html, style.css, main.js (+ .map)      the page: core, activations, cpu-backend and webgpu-backend bundled
//                                               for browsers by esbuild (no Node-only import may reach it)
//   plugins/*.mjs                              example activation plugins, loadable by URL
//   data/fashion-mnist-subset.bin              a Fashion-MNIST subset (the Debian package dataset-fashion-mnist)
//   data/manifest.json                         which data sets were written
//
//   node scripts/build-web-demo.mjs [--out DIR] [--train N] [--test N] [--data DIR] [--no-minify]
//
// Default output: packages/web-demo/dist (git-ignored). Without the Debian data set the page still builds; its
// Fashion-MNIST task is then disabled.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { parseCommandLine } from './args.mjs';
import { bundleForBrowser, repoRoot } from './browser-bundle.mjs';

const { gunzipIfGzip, parseIdx } = await tsImport('../packages/cli/src/data/idx.ts', import.meta.url);

export const demoRoot = join(repoRoot, 'packages', 'web-demo');
export const defaultOutDir = join(demoRoot, 'dist');
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Reads an unsigned-byte IDX file (gzip or plain) with the CLI's parser (packages/cli/src/data/idx.ts, loaded
 * through tsx): `{ dims, data }`.
 */
export function readIdx(path) {
  const tensor = parseIdx(gunzipIfGzip(readFileSync(path), path), path);
  if (tensor.dtype !== 'u8') throw new Error(`${path}: an IDX file of ${tensor.dtype} values, not unsigned bytes`);
  return { dims: tensor.shape, data: tensor.data };
}

function findIdx(dir, stem) {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * The subset file of packages/web-demo/src/tasks.ts (decodeSubset): "NLFM", u32 version 1, nTrain, nTest, rows,
 * cols (little endian), then training pixels, training labels, test pixels, test labels (u8). The first `train`
 * training and `test` test images are taken (the files are not sorted by class).
 */
export function fashionMnistSubset(dir, train, test) {
  const files = {
    trainImages: findIdx(dir, 'train-images-idx3-ubyte'),
    trainLabels: findIdx(dir, 'train-labels-idx1-ubyte'),
    testImages: findIdx(dir, 't10k-images-idx3-ubyte'),
    testLabels: findIdx(dir, 't10k-labels-idx1-ubyte'),
  };
  const missing = Object.entries(files).filter(([, p]) => !p).map(([k]) => k);
  if (missing.length > 0) return { error: `${dir} lacks ${missing.join(', ')}` };
  const trainImages = readIdx(files.trainImages);
  const trainLabels = readIdx(files.trainLabels);
  const testImages = readIdx(files.testImages);
  const testLabels = readIdx(files.testLabels);
  const [, rows, cols] = trainImages.dims;
  if (trainImages.dims.length !== 3 || testImages.dims[1] !== rows || testImages.dims[2] !== cols) throw new Error('Fashion-MNIST: unexpected image shapes');
  const nTrain = Math.min(train, trainImages.dims[0], trainLabels.dims[0]);
  const nTest = Math.min(test, testImages.dims[0], testLabels.dims[0]);
  const size = rows * cols;
  const header = Buffer.alloc(24);
  header.write('NLFM', 0, 'latin1');
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(nTrain, 8);
  header.writeUInt32LE(nTest, 12);
  header.writeUInt32LE(rows, 16);
  header.writeUInt32LE(cols, 20);
  const body = Buffer.concat([
    header,
    trainImages.data.subarray(0, nTrain * size),
    trainLabels.data.subarray(0, nTrain),
    testImages.data.subarray(0, nTest * size),
    testLabels.data.subarray(0, nTest),
  ]);
  return { bytes: body, train: nTrain, test: nTest, rows, cols, files };
}

/**
 * Builds the demo into `outDir` (emptied first). Returns what was written; `dataset` is null when the Fashion-MNIST
 * files were not found (the reason is in `warnings`).
 */
export async function buildWebDemo({
  outDir = defaultOutDir,
  datasetDir = FASHION_MNIST_DIR,
  train = 2000,
  test = 500,
  minify = true,
  log = () => {},
} = {}) {
  const out = resolve(outDir);
  if (out === repoRoot || out === demoRoot || out === '/') throw new Error(`build-web-demo: refusing to empty ${out}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'plugins'), { recursive: true });
  mkdirSync(join(out, 'data'), { recursive: true });
  const warnings = [];

  const result = await bundleForBrowser({
    entryPoints: { main: join(demoRoot, 'src', 'main.ts') },
    outdir: out,
    minify,
    sourcemap: true,
  });
  for (const w of result.warnings) warnings.push(w.text);
  copyFileSync(join(demoRoot, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(demoRoot, 'src', 'style.css'), join(out, 'style.css'));
  const plugins = readdirSync(join(demoRoot, 'plugins')).filter((f) => f.endsWith('.mjs') || f.endsWith('.js'));
  for (const f of plugins) copyFileSync(join(demoRoot, 'plugins', f), join(out, 'plugins', f));

  let dataset = null;
  if (datasetDir && existsSync(datasetDir)) {
    const subset = fashionMnistSubset(datasetDir, train, test);
    if (subset.error) warnings.push(`Fashion-MNIST not written: ${subset.error}`);
    else {
      writeFileSync(join(out, 'data', 'fashion-mnist-subset.bin'), subset.bytes);
      dataset = { file: 'data/fashion-mnist-subset.bin', train: subset.train, test: subset.test, rows: subset.rows, cols: subset.cols, bytes: subset.bytes.byteLength };
      log(`build-web-demo: Fashion-MNIST subset ${subset.train} train / ${subset.test} test images (${(subset.bytes.byteLength / 1024).toFixed(0)} KiB)`);
    }
  } else {
    warnings.push(`Fashion-MNIST not written: ${datasetDir} does not exist (apt-get install dataset-fashion-mnist)`);
  }
  const manifest = {
    fashionMnist: dataset && { ...dataset, source: `${datasetDir} (Debian package dataset-fashion-mnist); the first ${dataset.train} training and ${dataset.test} test images` },
    plugins: plugins.map((f) => `plugins/${f}`),
  };
  writeFileSync(join(out, 'data', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const w of warnings) log(`build-web-demo: warning: ${w}`);
  return { outDir: out, dataset, plugins, warnings, bundleBytes: result.metafile.outputs[Object.keys(result.metafile.outputs).find((k) => k.endsWith('main.js'))]?.bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseCommandLine({
    name: 'build-web-demo',
    usage: '[--out DIR] [--train N] [--test N] [--data DIR] [--no-minify]',
    options: {
      out: { type: 'string' },
      train: { type: 'integer', min: 1 },
      test: { type: 'integer', min: 1 },
      data: { type: 'string' },
      'no-minify': { type: 'boolean', default: false },
    },
  });
  const options = { outDir: values.out, train: values.train, test: values.test, datasetDir: values.data, minify: !values['no-minify'] };
  try {
    // The WebGPU backend imports its WGSL from a generated module; refresh it when the generator is there.
    const embed = join(repoRoot, 'scripts', 'embed-shaders.mjs');
    if (existsSync(embed)) execFileSync(process.execPath, [embed], { stdio: 'inherit' });
    const built = await buildWebDemo({ ...options, log: (m) => console.error(m) });
    console.error(`build-web-demo: wrote ${built.outDir} (main.js ${((built.bundleBytes ?? 0) / 1024).toFixed(0)} KiB)`);
  } catch (err) {
    console.error(err?.errors?.length ? err.errors.map((e) => e.text).join('\n') : err?.message ?? err);
    process.exit(1);
  }
}
