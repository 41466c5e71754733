// Weight initialisation (7) and the seeded generator behind it.
import { describe, expect, it } from 'vitest';
import { Rng, drawWeights } from '@nladmm/core';

describe('drawWeights', () => {
  it('is deterministic in the seed and differs across seeds', () => {
    const a = drawWeights([5, 7, 3], { scheme: 'xavier', seed: 11, bias: true });
    const b = drawWeights([5, 7, 3], { scheme: 'xavier', seed: 11, bias: true });
    const c = drawWeights([5, 7, 3], { scheme: 'xavier', seed: 12, bias: true });
    expect(Array.from(a[1].data)).toEqual(Array.from(b[1].data));
    expect(Array.from(a[1].data)).not.toEqual(Array.from(c[1].data));
  });

  it('has the shapes W_i: d_i × (d_{i−1} + 1) with zero bias columns', () => {
    const [w1, w2] = drawWeights([4, 6, 2], { scheme: 'lecun', seed: 1, bias: true });
    expect([w1.rows, w1.cols, w2.rows, w2.cols]).toEqual([6, 5, 2, 7]);
    for (let r = 0; r < 6; r++) expect(w1.data[r * 5 + 4]).toBe(0);
    const [noBias] = drawWeights([4, 6, 2], { scheme: 'lecun', seed: 1, bias: false });
    expect(noBias.cols).toBe(4);
  });

  const empiricalStd = (data: ArrayLike<number>, cols: number, fanIn: number) => {
    let sum = 0;
    let count = 0;
    for (let k = 0; k < data.length; k++) {
      if (k % cols < fanIn) {
        sum += data[k] ** 2;
        count++;
      }
    }
    return Math.sqrt(sum / count);
  };

  it.each([
    ['msra fan_in ×1', { scheme: 'msra', scale: 1, mode: 'fan_in' }, Math.sqrt(2 / 300)],
    ['msra fan_out ×8', { scheme: 'msra', scale: 8, mode: 'fan_out' }, 8 * Math.sqrt(2 / 200)],
    ['xavier', { scheme: 'xavier' }, Math.sqrt(2 / 500)],
    ['lecun', { scheme: 'lecun' }, Math.sqrt(1 / 300)],
  ] as const)('draws %s with the scheme standard deviation', (_name, options, std) => {
    const [w] = drawWeights([300, 200, 1], { ...options, seed: 3, bias: true });
    expect(empiricalStd(w.data, 301, 300) / std).toBeGreaterThan(0.98);
    expect(empiricalStd(w.data, 301, 300) / std).toBeLessThan(1.02);
  });

  it('rejects an unknown scheme and a non-positive scale', () => {
    expect(() => drawWeights([2, 2, 1], { scheme: 'orthogonal' as never, seed: 1, bias: true })).toThrow(/unknown init scheme 'orthogonal'/);
    expect(() => drawWeights([2, 2, 1], { scheme: 'msra', scale: 0, seed: 1, bias: true })).toThrow(/init scale must be a finite number > 0/);
  });
});

describe('Rng', () => {
  it('continues identically after its state is saved and restored', () => {
    const rng = new Rng(42);
    for (let k = 0; k < 5; k++) rng.normal();
    const copy = Rng.fromState(rng.state());
    const a = Array.from({ length: 9 }, () => rng.normal());
    const b = Array.from({ length: 9 }, () => copy.normal());
    expect(b).toEqual(a);
  });

  it('draws uniforms in [0, 1) with mean ≈ 1/2 and normals with variance ≈ 1', () => {
    const rng = new Rng(7);
    const u = Array.from({ length: 20000 }, () => rng.uniform());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / u.length - 0.5)).toBeLessThan(0.01);
    const z = Array.from({ length: 20000 }, () => rng.normal());
    expect(Math.abs(z.reduce((s, v) => s + v * v, 0) / z.length - 1)).toBeLessThan(0.03);
  });
});
