import { describe, expect, it } from 'vitest';
import { CpuBackend } from '@nladmm/cpu-backend';
import { describeBackendConformance } from './conformance/backendSuite.ts';

describeBackendConformance('cpu f64', () => new CpuBackend(), { rel: 1e-12 });
// f32 storage rounds every result once (unit roundoff 2^-24 ≈ 6e-8); 1e-6 leaves a margin of ~16 roundings
// on top of the suite's own scaling by problem size and condition number.
describeBackendConformance('cpu f32', () => new CpuBackend({ precision: 'f32' }), { rel: 1e-6 });

describe('CpuBackend specifics', () => {
  it('describes itself and rejects an unknown precision', () => {
    expect(new CpuBackend().describe()).toBe('cpu (f64, JavaScript)');
    expect(new CpuBackend({ precision: 'f32' }).describe()).toBe('cpu (f32, JavaScript)');
    expect(() => new CpuBackend({ precision: 'f16' as never })).toThrow(RangeError);
  });

  it('rounds storage and scalars to f32 in f32 mode, and keeps f64 otherwise', async () => {
    for (const [precision, round] of [['f32', Math.fround], ['f64', (x: number) => x]] as const) {
      const backend = new CpuBackend({ precision });
      const m = backend.alloc(1, 2);
      backend.upload(m, [0.1, 1 / 3]);
      expect(Array.from(await backend.download(m))).toEqual([round(0.1), round(1 / 3)]);
      expect(await backend.readScalar(backend.scalar(0.1))).toBe(round(0.1));
      backend.dispose();
    }
  });

  it('uploads non-finite values as they are', async () => {
    const backend = new CpuBackend();
    const m = backend.alloc(1, 3);
    backend.upload(m, [NaN, Infinity, -Infinity]);
    expect(Array.from(await backend.download(m))).toEqual([NaN, Infinity, -Infinity]);
  });

  it('refuses to free a view, to free twice, and to use freed storage through the matrix or its views', async () => {
    const backend = new CpuBackend();
    const m = backend.alloc(3, 3);
    const v = backend.view(m, 2, 2);
    expect(() => backend.free(v)).toThrow(/view/);
    backend.free(m);
    expect(() => backend.free(m)).toThrow(/freed/);
    expect(() => backend.fill(m, 1)).toThrow(/fill: .*freed/);
    expect(() => backend.fill(v, 1)).toThrow(/fill: .*freed/);
    const s = backend.scalar(1);
    backend.freeScalar(s);
    await expect(backend.readScalar(s)).rejects.toThrow(/freed/);
  });

  it('refuses outputs that share storage with an input', () => {
    const backend = new CpuBackend();
    const a = backend.alloc(4, 4);
    const top = backend.view(a, 2, 4);
    const c = backend.alloc(2, 2);
    expect(() => backend.gemm(1, top, false, a, false, 0, backend.view(a, 2, 4))).toThrow(/share storage/);
    expect(() => backend.gemm(1, c, false, top, false, 0, backend.view(top, 2, 4))).toThrow(/share storage/);
    expect(() => backend.gram(1, top, false, 0, backend.view(a, 2, 2))).toThrow(/share storage/);
    expect(() => backend.solveLeft(a, backend.view(a, 4, 1))).toThrow(/share storage/);
    expect(() => backend.solveRight(a, backend.view(a, 1, 4))).toThrow(/share storage/);
  });

  it('refuses matrices of another backend, and everything after dispose', () => {
    const backend = new CpuBackend();
    const other = new CpuBackend();
    const m = backend.alloc(2, 2);
    expect(() => other.fill(m, 0)).toThrow(TypeError);
    expect(() => other.fill({ rows: 2, cols: 2, ld: 2 }, 0)).toThrow(TypeError);
    backend.dispose();
    expect(() => backend.fill(m, 0)).toThrow(/freed/);
    expect(() => backend.alloc(1, 1)).toThrow(/disposed/);
  });
});
