// The Node apps of examples/ (node-csv, swap-backend, activation-plugin), each run as a user runs it: copied into
// the app folder where the packed tarballs are installed with plain npm (test/support/packedInstall.ts), started
// with its own package.json scripts (`npm start`, `npm run cli`) under plain Node, and its printed lines checked.
// The browser example (examples/browser-vite) is driven by test/browser/examples-vite.test.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKED_INSTALL_TIMEOUT_MS, installPackedPackages } from './support/packedInstall.ts';
import { EXAMPLES_DIR, type Ran, copyExample, describeRun, line, run } from './support/exampleApp.ts';

let app: string;
const copies: string[] = [];

beforeAll(async () => {
  app = await installPackedPackages();
}, PACKED_INSTALL_TIMEOUT_MS);

afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** Copies the example into the app folder and runs `npm <args>` there; fails the test when it does not exit 0. */
async function npmIn(example: string, args: readonly string[], timeoutMs = 90_000): Promise<{ dir: string; ran: Ran }> {
  const dir = copyExample(app, example);
  copies.push(dir);
  const ran = await run('npm', ['--silent', ...args], dir, { timeoutMs });
  console.log(`examples/${example}: npm ${args.join(' ')} took ${(ran.ms / 1000).toFixed(1)} s`);
  expect(ran.code, describeRun(`npm ${args.join(' ')} in examples/${example}`, ran)).toBe(0);
  return { dir, ran };
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('examples/node-csv', () => {
  it('make-moons.mjs writes the committed moons.csv', async () => {
    const ran = await run(process.execPath, ['make-moons.mjs'], join(EXAMPLES_DIR, 'node-csv'));
    expect(ran.code, describeRun('node make-moons.mjs', ran)).toBe(0);
    expect(ran.stdout).toBe(readFileSync(join(EXAMPLES_DIR, 'node-csv', 'moons.csv'), 'utf8'));
  });

  it('trains on the CSV, saves the model as safetensors, reads it back and gets the same test accuracy', async () => {
    const { dir, ran } = await npmIn('node-csv', ['start']);
    const trained = line(ran.stdout, /^trained 30 iterations on cpu: test accuracy (\d+\.\d) %$/);
    expect(Number(trained[1])).toBeGreaterThanOrEqual(95);
    line(ran.stdout, /^saved moons-model\.safetensors: W1 \[64×2\], b1 \[64\], W2 \[2×64\], b2 \[2\]$/);
    const reloaded = line(ran.stdout, /^reloaded sigmoid 2-64-2 model: test accuracy (\d+\.\d) % \((\d+)\/100\)$/);
    // The reloaded file's weights classify the held-out rows exactly as the trainer's final iterate did.
    expect(reloaded[1]).toBe(trained[1]);
    expect(existsSync(join(dir, 'moons-model.safetensors'))).toBe(true);
  });
});

describe('examples/swap-backend', () => {
  it('runs the same training on cpu, blas and webgpu by a rebind of TOKENS.Backend, with agreeing results', async () => {
    const { ran } = await npmIn('swap-backend', ['start'], 110_000);
    const result = (name: string) => {
      const m = line(ran.stdout, new RegExp(`^${name} (?:\\((f32|f64)\\): train loss (\\S+), test loss (\\S+) \\[(.*)\\]|: unavailable \\((.*)\\))$`));
      expect(m[5], `${name} was not available on this machine (scripts/setup.sh installs OpenBLAS and SwiftShader)`).toBeUndefined();
      return { precision: m[1], train: Number(m[2]), test: Number(m[3]), described: m[4] };
    };
    const cpu = result('cpu');
    const blas = result('blas');
    const webgpu = result('webgpu');
    expect([cpu.precision, blas.precision, webgpu.precision]).toEqual(['f64', 'f64', 'f32']);
    expect(cpu.described).toMatch(/^cpu \(f64/);
    expect(blas.described).toMatch(/^blas \(f64/);
    expect(webgpu.described).toMatch(/^webgpu \(f32\) on /);
    // The fit after 20 iterations (½ n⁻¹ ‖Φ − Y‖² of y = x², whose variance is 4/45 ≈ 0.09): well below the start.
    expect(cpu.train).toBeLessThan(1e-2);
    // cpu and blas compute in f64 and differ by summation order only: equal to the 7 printed digits (5e-7 relative).
    expect(rel(blas.train, cpu.train)).toBeLessThanOrEqual(5e-7);
    expect(rel(blas.test, cpu.test)).toBeLessThanOrEqual(5e-7);
    // WebGPU computes in f32 (unit roundoff 6e-8), and 20 iterations of Algorithm 1 amplify the rounding: measured on
    // SwiftShader, 4.9e-3 (train) and 4.2e-3 (test) from the f64 run; a wrong kernel or a skipped step would be ≫ 1e-1.
    expect(rel(webgpu.train, cpu.train)).toBeLessThanOrEqual(2e-2);
    expect(rel(webgpu.test, cpu.test)).toBeLessThanOrEqual(2e-2);
  }, 120_000);
});

describe('examples/activation-plugin', () => {
  it('loads the plugin file, trains with it and shows an over-claiming copy refused', async () => {
    const { ran } = await npmIn('activation-plugin', ['start']);
    line(ran.stdout, /^loaded lecun-tanh \(L0 1\.7159, L1 1\.143933, L2 0\.587067\); registry: sigmoid tanh atan softplus silu lecun-tanh$/);
    const trained = line(ran.stdout, /^trained with lecun-tanh on cpu: 30 iterations, test loss (\S+) → (\S+)$/);
    expect(Number(trained[2])).toBeLessThan(Number(trained[1]) / 10);
    line(ran.stdout, /^activation 'overclaimed' refused: bound L1 check failed: \|dsigma\(\S+\)\| = \S+ > L1 = 1$/);
  });

  it('is used by the command line too: nladmm train --activation ./lecunTanh.mjs, then nladmm eval with it', async () => {
    const { dir, ran } = await npmIn('activation-plugin', ['run', 'cli']);
    const trained = line(ran.stdout, /^train loss: (\S+) {2}test loss: (\S+)$/);
    line(ran.stdout, /^model .*model\.safetensors: 2-64-1 lecun-tanh, iteration 30$/);
    const evaluated = line(ran.stdout, /^test +500 samples {2}loss (\S+)$/);
    expect(Number(evaluated[1]).toExponential(3)).toBe(trained[2]);
    // The run records the plugin by name and the sha256 of the file's bytes (never as code to run).
    const config = JSON.parse(readFileSync(join(dir, 'runs', 'lecun-tanh', 'config.json'), 'utf8')) as { nladmm: { activationPlugin: { name: string; sha256: string } } };
    const sha256 = createHash('sha256').update(readFileSync(join(dir, 'lecunTanh.mjs'))).digest('hex');
    expect(config.nladmm.activationPlugin).toMatchObject({ name: 'lecun-tanh', sha256 });
  });
});
