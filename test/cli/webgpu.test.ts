// The CLI on the WebGPU backend (SwiftShader here): `--backend webgpu` trains and agrees with the CPU f64 run;
// `--backend auto` never picks a software adapter (it runs on the CPU: blas, else cpu).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.ts';

const args = ['--dataset', 'teacher', '--layers', '3,8,8,2', '--n-train', '60', '--n-test', '20', '--iterations', '4', '--lambda', '0.1', '--activation', 'tanh', '--quiet', '--no-plots'];

async function lastMetrics(runDir: string): Promise<{ iteration: number; augmentedLagrangian: number; trainLoss: number }> {
  const lines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  return JSON.parse(lines.at(-1)!);
}

describe('nladmm train --backend webgpu', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('trains on the WebGPU adapter in f32 and matches the CPU f64 run to f32 accuracy', async () => {
    const gpu = await cli(['train', ...args, '--backend', 'webgpu', '--precision', 'f32', '--out', 'gpu'], dir);
    expect(gpu.stderr).toBe('');
    expect(gpu.code).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'gpu', 'config.json'), 'utf8'));
    expect(JSON.stringify(config.nladmm)).toMatch(/webgpu/);
    const cpu = await cli(['train', ...args, '--backend', 'cpu', '--out', 'cpu'], dir);
    expect(cpu.code).toBe(0);
    const [g, c] = [await lastMetrics(join(dir, 'gpu')), await lastMetrics(join(dir, 'cpu'))];
    expect(g.iteration).toBe(4);
    expect(Math.abs(g.augmentedLagrangian - c.augmentedLagrangian) / Math.abs(c.augmentedLagrangian)).toBeLessThan(1e-3);
    expect(Math.abs(g.trainLoss - c.trainLoss) / c.trainLoss).toBeLessThan(1e-3);
  });

  it('runs the backprop baselines on the WebGPU backend too (adam, mini-batch), matching the CPU f64 run', async () => {
    const extra = ['--optimizer', 'adam', '--learning-rate', '0.01', '--batch-size', '20'];
    const gpu = await cli(['train', ...args, ...extra, '--backend', 'webgpu', '--precision', 'f32', '--out', 'gpu-adam'], dir);
    expect(gpu.stderr).toBe('');
    expect(gpu.code).toBe(0);
    const cpu = await cli(['train', ...args, ...extra, '--backend', 'cpu', '--out', 'cpu-adam'], dir);
    expect(cpu.code).toBe(0);
    const [g, c] = [await lastMetrics(join(dir, 'gpu-adam')), await lastMetrics(join(dir, 'cpu-adam'))];
    expect(g.iteration).toBe(4);
    expect(Math.abs(g.trainLoss - c.trainLoss) / c.trainLoss).toBeLessThan(1e-3);
  });

  it('--backend auto falls back to the CPU (blas, else cpu) where the only adapter is software', async () => {
    const run = await cli(['train', ...args, '--backend', 'auto', '--precision', 'f32', '--out', 'auto'], dir);
    expect(run.code).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'auto', 'config.json'), 'utf8'));
    expect(config.nladmm.backend).toMatch(/^(blas|cpu) \(f32/);
  });
});
