/**
 * The conformance suite every {@link Backend} must pass: each op against the naive f64 loops of reference.ts.
 *
 * Tolerances. `tolerance.rel` is the relative accuracy expected of one well-conditioned operation on a few
 * values (about 1e-12 for f64, 1e-6 for f32 storage). Errors are measured in the Frobenius norm relative to
 * the magnitude of the terms involved (for gemm: |α|‖A‖‖B‖ + |β|‖C‖), and the bound grows with the problem:
 * by √k for sums over k terms and by the condition number for the solution of a linear system.
 * References are computed from the values the backend actually stored (downloaded after upload), so f32
 * rounding of the inputs is not charged to the op.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  type DeviceScalar,
  type Loss,
  type Matrix,
  NotPositiveDefiniteError,
  PROX_TOLERANCE,
  ProxWorkspace,
  proxColumn,
  squaredLoss,
} from '@nladmm/core';
import { crossEntropy } from '@nladmm/losses';
import {
  type HostMatrix,
  absolute,
  combine,
  createRng,
  distance,
  frobenius,
  hostMatrix,
  lowerTriangle,
  multiply,
  randomMatrix,
  randomSpd,
  type Rng,
  refCholesky,
  refCholeskySolve,
  refGemm,
  refGram,
  transpose,
  type Layout,
  type Placed,
  seedFor,
  tanhActivation,
  refAdamStep,
} from './reference.ts';

export interface ConformanceTolerance {
  readonly rel: number;
}

/**
 * How a test matrix is stored: packed, or as a view of a NaN-filled parent with extra columns (ld > cols) or
 * extra rows. NaN padding exposes an op that reads outside the view; the padding is checked afterwards to
 * expose one that writes outside it.
 */
function largestMagnitude(h: HostMatrix): number {
  let max = 0;
  for (const v of h.data) max = Math.max(max, Math.abs(v));
  return max;
}

const flags = (transA: boolean, transB: boolean): string => `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;

// ---- the loss steps' test data and references (f64, per column) ----

function columnOf(h: HostMatrix, c: number): Float64Array {
  const out = new Float64Array(h.rows);
  for (let r = 0; r < h.rows; r++) out[r] = h.data[r * h.cols + c];
  return out;
}

function normInf(x: Float64Array): number {
  let max = 0;
  for (const v of x) max = Math.max(max, Math.abs(v));
  return max;
}

/** Targets a loss accepts: probability columns (one-hot or a softmax of noise) for cross-entropy, noise otherwise. */
function lossTargets(loss: Loss, rng: Rng, rows: number, cols: number): HostMatrix {
  if (loss !== crossEntropy) return randomMatrix(rng, rows, cols);
  const y = hostMatrix(rows, cols);
  for (let c = 0; c < cols; c++) {
    if (c % 2 === 0) {
      y.data[Math.floor(rng.uniform() * rows) * cols + c] = 1;
      continue;
    }
    const e = Array.from({ length: rows }, () => Math.exp(2 * rng.normal()));
    const total = e.reduce((a, b) => a + b, 0);
    e.forEach((v, r) => (y.data[r * cols + c] = v / total));
  }
  return y;
}

/** Entries uniform in [−scale, scale), with large logits in column 0 (+50 on even rows, −50 on odd ones). */
function lossInputs(rng: Rng, rows: number, cols: number, scale: number): HostMatrix {
  const m = randomMatrix(rng, rows, cols, scale);
  for (let r = 0; r < rows; r++) m.data[r * cols] = r % 2 === 0 ? 50 : -50;
  return m;
}

/** ‖∇ℓ(v; y) + β (v − t)‖_∞ of one column: the optimality residual of the V_N prox. */
function proxResidual(loss: Loss, v: Float64Array, y: Float64Array, t: Float64Array, beta: number): number {
  const g = new Float64Array(v.length);
  loss.gradient(v, y, g);
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(g[i] + beta * (v[i] - t[i])));
  return max;
}

export function describeBackendConformance(
  label: string,
  makeBackend: () => Promise<Backend> | Backend,
  tolerance: ConformanceTolerance,
): void {
  describe(`backend conformance: ${label}`, () => {
    let backend!: Backend;
    let owned: Matrix[] = [];
    let ownedScalars: DeviceScalar[] = [];

    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterEach(() => {
      for (const m of owned) backend.free(m);
      for (const s of ownedScalars) backend.freeScalar(s);
      owned = [];
      ownedScalars = [];
    });
    afterAll(() => backend?.dispose());

    /** The bound for a result built from sums of `terms` products. */
    const sized = (terms: number): number => tolerance.rel * Math.max(1, Math.sqrt(terms));

    const alloc = (rows: number, cols: number): Matrix => {
      const m = backend.alloc(rows, cols);
      owned.push(m);
      return m;
    };
    const scalar = (value?: number): DeviceScalar => {
      const s = backend.scalar(value);
      ownedScalars.push(s);
      return s;
    };
    const fetch = async (m: Matrix): Promise<HostMatrix> => hostMatrix(m.rows, m.cols, await backend.download(m));
    const place = async (h: HostMatrix, layout: Layout = 'packed'): Promise<Placed> => {
      const parent = alloc(h.rows + (layout === 'rowPrefix' ? 2 : 0), h.cols + (layout === 'colPrefix' ? 3 : 0));
      let matrix = parent;
      if (layout !== 'packed') {
        backend.fill(parent, NaN);
        matrix = backend.view(parent, h.rows, h.cols);
      }
      backend.upload(matrix, h.data);
      return { matrix, parent, stored: await fetch(matrix) };
    };
    /** A rows × cols output full of NaN (as garbage a β = 0 op must not read). */
    const garbage = async (rows: number, cols: number, layout: Layout = 'packed'): Promise<Placed> =>
      place(hostMatrix(rows, cols, new Float64Array(rows * cols).fill(NaN)), layout);
    const expectPaddingIntact = async (...placed: Placed[]): Promise<void> => {
      for (const { matrix, parent } of placed) {
        const all = await fetch(parent);
        for (let r = 0; r < parent.rows; r++) {
          for (let c = 0; c < parent.cols; c++) {
            if (r < matrix.rows && c < matrix.cols) continue;
            const value = all.data[r * parent.cols + c];
            expect(Number.isNaN(value), `padding (${r}, ${c}) of a ${matrix.rows}×${matrix.cols} view was overwritten with ${value}`).toBe(true);
          }
        }
      }
    };
    const expectNear = (what: string, got: HostMatrix, want: HostMatrix, scale: number, bound: number): void => {
      const error = distance(got, want) / (scale > 0 ? scale : 1);
      expect(error, `${what}: relative error ${error} exceeds ${bound}`).toBeLessThanOrEqual(bound);
    };
    const expectScalarNear = (what: string, got: number, want: number, scale: number, bound: number): void => {
      const error = Math.abs(got - want) / (scale > 0 ? scale : 1);
      expect(error, `${what}: got ${got}, want ${want} (relative error ${error} exceeds ${bound})`).toBeLessThanOrEqual(bound);
    };

    describe('backend identity', () => {
      it('has a name, a precision and a description', () => {
        expect(backend.name).toMatch(/\S/);
        expect(['f32', 'f64']).toContain(backend.precision);
        expect(backend.describe()).toMatch(/\S/);
      });
    });

    describe('memory', () => {
      it('allocates zero-filled matrices, 1×1 included', async () => {
        for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
          const got = await fetch(alloc(rows, cols));
          expect(got.data.every((v) => v === 0)).toBe(true);
        }
      });

      it('round-trips upload and download: exactly for f32-representable values, within rel otherwise', async () => {
        const rng = createRng(seedFor('round trip'));
        const exact = hostMatrix(7, 13, Array.from({ length: 91 }, (_, i) => (i - 45) / 8));
        expect(Array.from((await place(exact)).stored.data)).toEqual(Array.from(exact.data));
        for (const layout of ['packed', 'colPrefix', 'rowPrefix'] as const) {
          const h = randomMatrix(rng, 63, 65, 100);
          const placed = await place(h, layout);
          expectNear(`round trip (${layout})`, placed.stored, h, frobenius(h), tolerance.rel);
          await expectPaddingIntact(placed);
        }
      });

      it('places a view at the leading block of its parent', async () => {
        const parent = alloc(3, 4);
        backend.upload(backend.view(parent, 2, 3), [1, 2, 3, 4, 5, 6]);
        expect(Array.from(await backend.download(parent))).toEqual([1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0]);
        expect(Array.from(await backend.download(backend.view(parent, 3, 2)))).toEqual([1, 2, 4, 5, 0, 0]);
        const nested = backend.view(backend.view(parent, 3, 3), 2, 2);
        expect(Array.from(await backend.download(nested))).toEqual([1, 2, 4, 5]);
      });

      it('copies and fills, on views too', async () => {
        const rng = createRng(seedFor('copy fill'));
        for (const [rows, cols] of [[1, 1], [7, 13], [64, 65]]) {
          const h = randomMatrix(rng, rows, cols);
          const src = await place(h, 'colPrefix');
          const dst = await garbage(rows, cols, 'rowPrefix');
          backend.copy(src.matrix, dst.matrix);
          expect(Array.from((await fetch(dst.matrix)).data)).toEqual(Array.from(src.stored.data));
          backend.fill(src.matrix, -2.5);
          expect((await fetch(src.matrix)).data.every((v) => v === -2.5)).toBe(true);
          await expectPaddingIntact(src, dst);
        }
      });
    });

    describe('device scalars', () => {
      it('holds, reads and transforms values', async () => {
        expect(await backend.readScalar(scalar())).toBe(0);
        const s = scalar(3);
        expect(await backend.readScalar(s)).toBe(3);
        const out = scalar(123);
        backend.scalarAffine(out, s, -2, 0.5);
        expect(await backend.readScalar(out)).toBe(-5.5);
        backend.scalarAffine(s, s, 0.1, 1e-3);
        expectScalarNear('scalarAffine in place', await backend.readScalar(s), 0.301, 0.301, tolerance.rel);
      });

      it('reads several scalars at once, in the order given (repeats included)', async () => {
        const [a, b, c] = [scalar(-1.5), scalar(0), scalar(1024)];
        const out = scalar();
        backend.scalarAffine(out, a, 2, 0.25); // pending work is part of the read
        expect(await backend.readScalars([c, out, a, b, c])).toEqual([1024, -2.75, -1.5, 0, 1024]);
        expect(await backend.readScalars([])).toEqual([]);
      });

      it('reads values as of the call: later work does not change what a pending read returns', async () => {
        const s = scalar(2);
        const m = backend.alloc(2, 3);
        backend.fill(m, 1.5);
        const pending = Promise.all([backend.readScalars([s]), backend.readScalar(s), backend.download(m)]);
        backend.scalarAffine(s, s, 10, 0);
        backend.fill(m, -4);
        const [several, one, values] = await pending;
        expect(several).toEqual([2]);
        expect(one).toBe(2);
        expect([...values]).toEqual([1.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
        expect(await backend.readScalar(s)).toBe(20);
        expect([...(await backend.download(m))]).toEqual([-4, -4, -4, -4, -4, -4]);
        backend.free(m);
      });
    });

    describe('gemm', () => {
      const cases: [number, number, number][] = [
        [1, 1, 1], [7, 13, 5], [13, 7, 1], [63, 65, 64], [65, 63, 33], [31, 17, 129], [64, 5000, 9], [64, 65, 5000],
      ];
      const scalings = [
        { alpha: 1, beta: 0 },
        { alpha: -0.75, beta: 1.5 },
      ];
      const check = async (
        m: number, n: number, k: number, transA: boolean, transB: boolean,
        layouts: { a: Layout; b: Layout; c: Layout },
      ): Promise<void> => {
        const rng = createRng(seedFor(`gemm ${m} ${n} ${k} ${transA} ${transB} ${layouts.a}`));
        const a = await place(transA ? randomMatrix(rng, k, m) : randomMatrix(rng, m, k), layouts.a);
        const b = await place(transB ? randomMatrix(rng, n, k) : randomMatrix(rng, k, n), layouts.b);
        for (const { alpha, beta } of scalings) {
          const c = beta === 0 ? await garbage(m, n, layouts.c) : await place(randomMatrix(rng, m, n), layouts.c);
          backend.gemm(alpha, a.matrix, transA, b.matrix, transB, beta, c.matrix);
          const want = refGemm(alpha, a.stored, transA, b.stored, transB, beta, c.stored);
          const scale = Math.abs(alpha) * frobenius(a.stored) * frobenius(b.stored) + (beta === 0 ? 0 : Math.abs(beta) * frobenius(c.stored));
          expectNear(`gemm ${m}×${n}×${k} ${flags(transA, transB)} α=${alpha} β=${beta}`, await fetch(c.matrix), want, scale, sized(k));
          await expectPaddingIntact(a, b, c);
        }
      };

      for (const [m, n, k] of cases) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            it(`C (${m}×${n}) ← α op(A) op(B) + β C, k = ${k}, ${flags(transA, transB)}`, () =>
              check(m, n, k, transA, transB, { a: 'packed', b: 'packed', c: 'packed' }));
          }
        }
      }
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`honours views (ld > cols and row prefixes) as inputs and outputs, ${flags(transA, transB)}`, async () => {
            await check(33, 17, 65, transA, transB, { a: 'colPrefix', b: 'rowPrefix', c: 'colPrefix' });
            await check(17, 33, 63, transA, transB, { a: 'rowPrefix', b: 'colPrefix', c: 'rowPrefix' });
          });
        }
      }
    });

    describe('gram', () => {
      const cases: [number, number][] = [[1, 1], [7, 13], [13, 7], [63, 65], [65, 64], [33, 5000], [130, 40]];
      const check = async (n: number, k: number, transA: boolean, layouts: { a: Layout; c: Layout }): Promise<void> => {
        const rng = createRng(seedFor(`gram ${n} ${k} ${transA} ${layouts.a}`));
        const a = await place(transA ? randomMatrix(rng, k, n) : randomMatrix(rng, n, k), layouts.a);
        const r = randomMatrix(rng, n, n);
        const symmetric = combine(1, r, 1, transpose(r));
        for (const { alpha, beta } of [{ alpha: 1, beta: 0 }, { alpha: -0.5, beta: 2 }]) {
          const c = beta === 0 ? await garbage(n, n, layouts.c) : await place(symmetric, layouts.c);
          backend.gram(alpha, a.matrix, transA, beta, c.matrix);
          const got = await fetch(c.matrix);
          const want = refGram(alpha, a.stored, transA, beta, c.stored);
          const scale = Math.abs(alpha) * frobenius(a.stored) ** 2 + Math.abs(beta) * (beta === 0 ? 0 : frobenius(c.stored));
          expectNear(`gram ${n}×${n} from k = ${k}${transA ? ' (AᵀA)' : ' (AAᵀ)'} α=${alpha} β=${beta}`, got, want, scale, sized(k));
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < i; j++) {
              expect(got.data[i * n + j], `gram result not exactly symmetric at (${i}, ${j})`).toBe(got.data[j * n + i]);
            }
          }
          await expectPaddingIntact(a, c);
        }
      };

      for (const [n, k] of cases) {
        for (const transA of [false, true]) {
          it(`C (${n}×${n}) ← α ${transA ? 'AᵀA' : 'AAᵀ'} + β C, k = ${k}`, () => check(n, k, transA, { a: 'packed', c: 'packed' }));
        }
      }
      it('honours views as input and output', async () => {
        for (const transA of [false, true]) {
          await check(33, 65, transA, { a: 'colPrefix', c: 'rowPrefix' });
          await check(17, 63, transA, { a: 'rowPrefix', c: 'colPrefix' });
        }
      });
    });

    describe('elementwise linear algebra', () => {
      it('shiftedScale: out ← c·S + shift·I, separately and in place', async () => {
        const rng = createRng(seedFor('shiftedScale'));
        for (const n of [1, 7, 65]) {
          for (const inPlace of [false, true]) {
            const s = await place(randomMatrix(rng, n, n), 'colPrefix');
            const c = scalar(-1.7);
            const cValue = await backend.readScalar(c);
            const out = inPlace ? s : await garbage(n, n, 'rowPrefix');
            backend.shiftedScale(s.matrix, c, 0.3, out.matrix);
            const identity = hostMatrix(n, n);
            for (let i = 0; i < n; i++) identity.data[i * n + i] = 1;
            const want = combine(cValue, s.stored, 0.3, identity);
            const scale = Math.abs(cValue) * frobenius(s.stored) + 0.3 * Math.sqrt(n);
            expectNear(`shiftedScale n=${n}${inPlace ? ' in place' : ''}`, await fetch(out.matrix), want, scale, tolerance.rel);
            await expectPaddingIntact(s, out);
          }
        }
      });

      it('axpby: Y ← αX + βY', async () => {
        const rng = createRng(seedFor('axpby'));
        for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
          for (const [alpha, beta] of [[2, -0.5], [-1, 1], [0.25, 0]]) {
            const x = await place(randomMatrix(rng, rows, cols), 'colPrefix');
            const y = await place(randomMatrix(rng, rows, cols), 'rowPrefix');
            backend.axpby(alpha, x.matrix, beta, y.matrix);
            const want = combine(alpha, x.stored, beta, y.stored);
            const scale = Math.abs(alpha) * frobenius(x.stored) + Math.abs(beta) * frobenius(y.stored);
            expectNear(`axpby ${rows}×${cols} α=${alpha} β=${beta}`, await fetch(y.matrix), want, scale, tolerance.rel);
            await expectPaddingIntact(x, y);
          }
        }
      });

      it('adamStep: moments and weights of one Adam step, on views', async () => {
        const rng = createRng(seedFor('adamStep'));
        for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
          for (const step of [1, 7]) {
            const options = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step };
            const g = await place(randomMatrix(rng, rows, cols), 'colPrefix');
            const m = await place(randomMatrix(rng, rows, cols, 0.1), 'rowPrefix');
            const v = await place(absolute(randomMatrix(rng, rows, cols, 0.01)));
            const w = await place(randomMatrix(rng, rows, cols), 'colPrefix');
            backend.adamStep(g.matrix, m.matrix, v.matrix, w.matrix, options);
            const want = refAdamStep(g.stored, m.stored, v.stored, w.stored, options);
            const what = `adamStep ${rows}×${cols} t=${step}`;
            expectNear(`${what} M`, await fetch(m.matrix), want.m, frobenius(want.m) + frobenius(g.stored), tolerance.rel);
            expectNear(`${what} V`, await fetch(v.matrix), want.v, frobenius(want.v) + frobenius(g.stored) ** 2, tolerance.rel);
            // Each entry of the update is lr · m̂/(√v̂ + ε), of size up to lr · O(1): scale by lr per entry.
            expectNear(`${what} W`, await fetch(w.matrix), want.w, frobenius(want.w) + options.learningRate * Math.sqrt(rows * cols) * 10, tolerance.rel);
            await expectPaddingIntact(g, m);
            await expectPaddingIntact(w, v);
          }
        }
      });
    });

    describe('Cholesky and solves', () => {
      const cases: { n: number; condition: number; rhs: number }[] = [
        { n: 1, condition: 1, rhs: 3 },
        { n: 7, condition: 1e5, rhs: 1 },
        { n: 63, condition: 1e5, rhs: 17 },
        { n: 65, condition: 1e2, rhs: 2000 },
        { n: 65, condition: 1e5, rhs: 64 },
        { n: 130, condition: 1e5, rhs: 9 },
      ];
      const check = async (n: number, condition: number, rhs: number, layouts: { m: Layout; left: Layout; right: Layout }): Promise<void> => {
        const rng = createRng(seedFor(`cholesky ${n} ${condition} ${rhs} ${layouts.m}`));
        const m = await place(randomSpd(rng, n, condition), layouts.m);
        const normM = frobenius(m.stored);
        backend.cholesky(m.matrix);
        const factor = await fetch(m.matrix);
        const l = lowerTriangle(factor);
        for (let i = 0; i < n; i++) expect(factor.data[i * n + i], `L[${i}, ${i}]`).toBeGreaterThan(0);
        expectNear(`L Lᵀ vs M, n=${n} κ=${condition}`, multiply(l, transpose(l)), m.stored, normM, sized(n));
        const exactFactor = refCholesky(m.stored);

        // Left: M X = B with n × rhs right-hand sides.
        const left = await place(multiply(m.stored, randomMatrix(rng, n, rhs)), layouts.left);
        backend.solveLeft(m.matrix, left.matrix);
        const x = await fetch(left.matrix);
        const residual = distance(multiply(m.stored, x), left.stored) / (normM * frobenius(x) + frobenius(left.stored));
        expect(residual, `solveLeft n=${n} κ=${condition}: backward error ${residual}`).toBeLessThanOrEqual(sized(n));
        const xExact = refCholeskySolve(exactFactor, left.stored);
        expectNear(`solveLeft n=${n} κ=${condition} solution`, x, xExact, frobenius(xExact), tolerance.rel * condition);

        // Right: Y M = B with rhs × n right-hand sides (rows).
        const right = await place(multiply(randomMatrix(rng, rhs, n), m.stored), layouts.right);
        backend.solveRight(m.matrix, right.matrix);
        const y = await fetch(right.matrix);
        const residualRight = distance(multiply(y, m.stored), right.stored) / (normM * frobenius(y) + frobenius(right.stored));
        expect(residualRight, `solveRight n=${n} κ=${condition}: backward error ${residualRight}`).toBeLessThanOrEqual(sized(n));
        const yExact = transpose(refCholeskySolve(exactFactor, transpose(right.stored)));
        expectNear(`solveRight n=${n} κ=${condition} solution`, y, yExact, frobenius(yExact), tolerance.rel * condition);
        await expectPaddingIntact(m, left, right);
      };

      for (const { n, condition, rhs } of cases) {
        it(`factors and solves, n = ${n}, κ = ${condition}, ${rhs} right-hand sides`, () =>
          check(n, condition, rhs, { m: 'packed', left: 'packed', right: 'packed' }));
      }
      it('honours views for the matrix, its factor and the right-hand sides', async () => {
        await check(65, 1e5, 7, { m: 'colPrefix', left: 'colPrefix', right: 'rowPrefix' });
        await check(63, 1e3, 11, { m: 'rowPrefix', left: 'rowPrefix', right: 'colPrefix' });
      });

      const expectNotPositiveDefinite = async (h: HostMatrix, pivotIndex?: number, pivot?: number): Promise<void> => {
        const m = await place(h);
        const run = async (): Promise<void> => {
          backend.cholesky(m.matrix);
          await backend.sync();
        };
        const error = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(NotPositiveDefiniteError);
        const npd = error as NotPositiveDefiniteError;
        expect(npd.size).toBe(h.rows);
        if (pivotIndex !== undefined) expect(npd.pivotIndex).toBe(pivotIndex);
        if (pivot !== undefined) expect(npd.pivot).toBe(pivot);
      };

      it('reports a non-positive pivot as NotPositiveDefiniteError, and stays usable', async () => {
        const diagonal = hostMatrix(4, 4);
        [1, 2, -3, 4].forEach((v, i) => (diagonal.data[i * 4 + i] = v));
        await expectNotPositiveDefinite(diagonal, 2, -3);
        await expectNotPositiveDefinite(hostMatrix(3, 3), 0, 0);
        await expectNotPositiveDefinite(hostMatrix(2, 2, [NaN, 0, 0, 1]), 0);
        const rng = createRng(seedFor('indefinite'));
        const spd = randomSpd(rng, 70, 10);
        const indefinite = combine(1, spd, 0, spd);
        for (let i = 0; i < 70; i++) indefinite.data[i * 70 + i] -= 0.5;
        await expectNotPositiveDefinite(indefinite);

        const m = await place(randomSpd(rng, 9, 10));
        backend.cholesky(m.matrix);
        await backend.sync();
        const l = lowerTriangle(await fetch(m.matrix));
        expectNear('Cholesky after an error', multiply(l, transpose(l)), m.stored, frobenius(m.stored), sized(9));
      });
    });

    describe('activation steps', () => {
      const sigma = (h: HostMatrix): HostMatrix => hostMatrix(h.rows, h.cols, h.data.map(Math.tanh));

      it('activate: out ← σ(Z), separately and in place, on views', async () => {
        const rng = createRng(seedFor('activate'));
        for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
          for (const inPlace of [false, true]) {
            const z = await place(randomMatrix(rng, rows, cols, 3), 'colPrefix');
            const out = inPlace ? z : await garbage(rows, cols, 'rowPrefix');
            backend.activate(tanhActivation, z.matrix, out.matrix);
            const want = sigma(z.stored);
            expectNear(`activate ${rows}×${cols}`, await fetch(out.matrix), want, frobenius(want), tolerance.rel);
            await expectPaddingIntact(z, out);
          }
        }
      });

      it('multiplierStep: out ← Λ + β(σ(S) − V) [⊙ σ′(S)], with out separate or aliasing Λ, V or S', async () => {
        const rng = createRng(seedFor('multiplierStep'));
        const beta = 2.5;
        for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
          for (const withDerivative of [false, true]) {
            for (const target of ['separate', 'lambda', 'v', 's'] as const) {
              const s = await place(randomMatrix(rng, rows, cols, 3), 'colPrefix');
              const v = await place(randomMatrix(rng, rows, cols), 'rowPrefix');
              const lambda = await place(randomMatrix(rng, rows, cols), 'packed');
              const out = target === 'separate' ? await garbage(rows, cols, 'colPrefix') : { lambda, v, s }[target];
              backend.multiplierStep(tanhActivation, s.matrix, v.matrix, lambda.matrix, beta, withDerivative, out.matrix);
              const sig = sigma(s.stored);
              let want = combine(1, lambda.stored, beta, combine(1, sig, -1, v.stored));
              let magnitude = combine(1, absolute(lambda.stored), Math.abs(beta), combine(1, absolute(sig), 1, absolute(v.stored)));
              if (withDerivative) {
                const derivative = s.stored.data.map(tanhActivation.dsigma);
                want = hostMatrix(rows, cols, want.data.map((w, i) => w * derivative[i]));
                magnitude = hostMatrix(rows, cols, magnitude.data.map((w, i) => w * Math.abs(derivative[i])));
              }
              expectNear(
                `multiplierStep ${rows}×${cols}${withDerivative ? ' with σ′' : ''} into ${target}`,
                await fetch(out.matrix), want, frobenius(magnitude), tolerance.rel,
              );
              await expectPaddingIntact(s, v, lambda, out);
            }
          }
        }
      });
    });

    describe('reductions', () => {
      const shapes: [number, number][] = [[1, 1], [7, 13], [64, 5000]];

      it('sumSquares and dot, on views', async () => {
        const rng = createRng(seedFor('sums'));
        for (const [rows, cols] of shapes) {
          const a = await place(randomMatrix(rng, rows, cols), 'colPrefix');
          const b = await place(randomMatrix(rng, rows, cols), 'rowPrefix');
          const out = scalar();
          backend.sumSquares(out, a.matrix);
          const squares = frobenius(a.stored) ** 2;
          expectScalarNear(`sumSquares ${rows}×${cols}`, await backend.readScalar(out), squares, squares, sized(rows * cols));
          backend.dot(out, a.matrix, b.matrix);
          let dot = 0;
          let magnitude = 0;
          a.stored.data.forEach((v, i) => {
            dot += v * b.stored.data[i];
            magnitude += Math.abs(v * b.stored.data[i]);
          });
          expectScalarNear(`dot ${rows}×${cols}`, await backend.readScalar(out), dot, magnitude, sized(rows * cols));
        }
      });

      it('maxAbs of A and of A + s·B, on views', async () => {
        const rng = createRng(seedFor('maxAbs'));
        for (const [rows, cols] of shapes) {
          const a = await place(randomMatrix(rng, rows, cols, 5), 'colPrefix');
          const b = await place(randomMatrix(rng, rows, cols, 5), 'rowPrefix');
          const out = scalar();
          backend.maxAbs(out, a.matrix);
          expect(await backend.readScalar(out)).toBe(largestMagnitude(a.stored));
          const scaleB = -1 / 2.5;
          backend.maxAbs(out, a.matrix, b.matrix, scaleB);
          const sum = combine(1, a.stored, scaleB, b.stored);
          const want = largestMagnitude(sum);
          expectScalarNear(`maxAbs(A + sB) ${rows}×${cols}`, await backend.readScalar(out), want, want, tolerance.rel);
        }
      });

      it('maxAbs propagates NaN from anywhere in A or B, and Infinity', async () => {
        const rng = createRng(seedFor('maxAbs NaN'));
        const [rows, cols] = [65, 63];
        for (const where of [0, 1, 2000, rows * cols - 1]) {
          for (const inB of [false, true]) {
            const a = randomMatrix(rng, rows, cols);
            const b = randomMatrix(rng, rows, cols);
            (inB ? b : a).data[where] = NaN;
            const out = scalar();
            const A = await place(a, 'colPrefix');
            const B = await place(b);
            backend.maxAbs(out, A.matrix, B.matrix, 0.5);
            expect(await backend.readScalar(out), `NaN at ${where} of ${inB ? 'B' : 'A'}`).toBeNaN();
            if (!inB) {
              backend.maxAbs(out, A.matrix);
              expect(await backend.readScalar(out), `NaN at ${where} of A alone`).toBeNaN();
            }
          }
        }
        const a = randomMatrix(rng, 7, 13);
        a.data[50] = -Infinity;
        const out = scalar();
        backend.maxAbs(out, (await place(a)).matrix);
        expect(await backend.readScalar(out)).toBe(Infinity);
      });
    });

    describe('loss steps', () => {
      const losses: Loss[] = [squaredLoss, crossEntropy];
      const shapes: [number, number][] = [[1, 1], [10, 37], [7, 300]];

      it('lossValue: Σ_c ℓ(v_c; y_c), deterministic, on views (large logits included)', async () => {
        for (const loss of losses) {
          const rng = createRng(seedFor(`lossValue ${loss.name}`));
          for (const [rows, cols] of shapes) {
            const v = await place(lossInputs(rng, rows, cols, 5), 'colPrefix');
            const y = await place(lossTargets(loss, rng, rows, cols), 'rowPrefix');
            const out = scalar(123);
            backend.lossValue(loss, v.matrix, y.matrix, out);
            const got = await backend.readScalar(out);
            let want = 0;
            let magnitude = 0;
            for (let c = 0; c < cols; c++) {
              const vc = columnOf(v.stored, c);
              const yc = columnOf(y.stored, c);
              const value = loss.value(vc, yc);
              want += value;
              // ℓ's terms: cross-entropy's log-sum-exp and ⟨y, v⟩ are each up to ‖v‖_∞ ‖y‖₁ before they cancel.
              magnitude += Math.abs(value) + normInf(vc) * yc.reduce((a, b) => a + Math.abs(b), 0);
            }
            expectScalarNear(`lossValue ${loss.name} ${rows}×${cols}`, got, want, magnitude, sized(rows * cols));
            backend.lossValue(loss, v.matrix, y.matrix, out);
            expect(await backend.readScalar(out), `lossValue ${loss.name} ${rows}×${cols} repeated`).toBe(got);
            await expectPaddingIntact(v, y);
          }
        }
      });

      it('lossGradient: ∇ℓ column by column, into a separate output or in place, on views', async () => {
        for (const loss of losses) {
          const rng = createRng(seedFor(`lossGradient ${loss.name}`));
          for (const [rows, cols] of shapes) {
            for (const inPlace of [false, true]) {
              const v = await place(lossInputs(rng, rows, cols, 5), 'colPrefix');
              const y = await place(lossTargets(loss, rng, rows, cols), 'rowPrefix');
              const out = inPlace ? v : await garbage(rows, cols, 'rowPrefix');
              backend.lossGradient(loss, v.matrix, y.matrix, out.matrix);
              const want = hostMatrix(rows, cols);
              const g = new Float64Array(rows);
              for (let c = 0; c < cols; c++) {
                loss.gradient(columnOf(v.stored, c), columnOf(y.stored, c), g);
                for (let r = 0; r < rows; r++) want.data[r * cols + c] = g[r];
              }
              const what = `lossGradient ${loss.name} ${rows}×${cols}${inPlace ? ' in place' : ''}`;
              expectNear(what, await fetch(out.matrix), want, frobenius(want) + frobenius(y.stored), sized(rows));
              await expectPaddingIntact(v, y, out);
            }
          }
        }
      });

      /**
       * Runs lossProx from V's current values and checks, column by column: the optimality condition
       * ‖∇ℓ(v) + β(v − t)‖_∞ ≤ 2·PROX_TOLERANCE·(1 + β‖t‖_∞) (the stopping rule, with a factor 2 for evaluating it
       * again in f64 at the stored v, plus the rounding of v to storage); agreement with the f64 iteration of core's
       * lossProx.ts (the cpu f64 backend's), to the distance the residuals allow for a β-strongly convex objective,
       * ‖v − v*‖₂ ≤ ‖∇F(v)‖₂/β; and, for the squared loss, the closed form (y + βt)/(1 + β) of (12).
       */
      const checkProx = async (loss: Loss, rows: number, cols: number, beta: number, layouts: { t: Layout; y: Layout; v: Layout }): Promise<void> => {
        const rng = createRng(seedFor(`lossProx ${loss.name} ${rows} ${cols} ${beta} ${layouts.v}`));
        const t = await place(lossInputs(rng, rows, cols, 5), layouts.t);
        const y = await place(lossTargets(loss, rng, rows, cols), layouts.y);
        const start = randomMatrix(rng, rows, cols);
        // Column 0 starts at the large logits too; column 1 (t there is random) starts far away, at ±50.
        for (let r = 0; r < rows; r++) {
          start.data[r * cols] = t.stored.data[r * t.stored.cols];
          if (cols > 1) start.data[r * cols + 1] = r % 2 === 0 ? -50 : 50;
        }
        const v = await place(start, layouts.v);
        backend.lossProx(loss, t.matrix, y.matrix, beta, v.matrix);
        const got = await fetch(v.matrix);
        const tolerance64 = PROX_TOLERANCE.f64;
        const toleranceP = PROX_TOLERANCE[backend.precision];
        const work = new ProxWorkspace(rows);
        const what = `lossProx ${loss.name} ${rows}×${cols} β=${beta}`;
        let worstResidual = 0;
        let worstDistance = 0;
        let worstColumn = -1;
        for (let c = 0; c < cols; c++) {
          const tc = columnOf(t.stored, c);
          const yc = columnOf(y.stored, c);
          const vc = columnOf(got, c);
          const threshold = toleranceP * (1 + beta * normInf(tc));
          const rounding = tolerance.rel * (1 + beta) * (1 + normInf(vc));
          const residual = proxResidual(loss, vc, yc, tc, beta) / (2 * threshold + rounding);
          const reference = columnOf(v.stored, c);
          proxColumn(loss, tc, yc, beta, reference, tolerance64, work);
          let gap = 0;
          for (let i = 0; i < rows; i++) gap += (vc[i] - reference[i]) ** 2;
          const distance = Math.sqrt(gap) / ((Math.sqrt(rows) * (2 * threshold + rounding)) / beta + tolerance.rel * (1 + frobenius(reference)));
          if (residual > worstResidual || distance > worstDistance || Number.isNaN(residual + distance)) worstColumn = c;
          worstResidual = Number.isNaN(residual) ? Infinity : Math.max(worstResidual, residual);
          worstDistance = Number.isNaN(distance) ? Infinity : Math.max(worstDistance, distance);
        }
        expect(worstResidual, `${what}: optimality residual / bound = ${worstResidual} (worst column ${worstColumn})`).toBeLessThanOrEqual(1);
        expect(worstDistance, `${what}: distance to the f64 prox / bound = ${worstDistance} (worst column ${worstColumn})`).toBeLessThanOrEqual(1);
        if (loss === squaredLoss) {
          const want = combine(1 / (1 + beta), y.stored, beta / (1 + beta), t.stored);
          const scale = frobenius(want) + frobenius(v.stored) + (frobenius(y.stored) + beta * frobenius(t.stored)) / (1 + beta);
          expectNear(`${what}: (y + βt)/(1 + β)`, got, want, scale, tolerance.rel);
        }
        await expectPaddingIntact(t, y, v);
      };

      for (const loss of losses) {
        for (const beta of [0.1, 2]) {
          it(`lossProx ${loss.name}, β = ${beta}: optimal per column, as the f64 iteration, on views`, async () => {
            if (loss === crossEntropy) await backend.prepareLoss(loss, 10);
            for (const [rows, cols] of shapes) await checkProx(loss, rows, cols, beta, { t: 'colPrefix', y: 'rowPrefix', v: 'colPrefix' });
            await checkProx(loss, 10, 37, beta, { t: 'rowPrefix', y: 'colPrefix', v: 'rowPrefix' });
          });
        }
      }

      // 70000 columns: more than the 1024 workgroups × 64 threads of one WebGPU dispatch (the kernels' grid-stride
      // loops), and several column chunks when the backend splits matrices.
      it('lossValue, lossGradient and lossProx over 70000 columns', async () => {
        const [rows, cols] = [3, 70000];
        for (const loss of losses) {
          const rng = createRng(seedFor(`loss steps large ${loss.name}`));
          const v = await place(lossInputs(rng, rows, cols, 5));
          const y = await place(lossTargets(loss, rng, rows, cols));
          const out = scalar();
          backend.lossValue(loss, v.matrix, y.matrix, out);
          let want = 0;
          let magnitude = 0;
          for (let c = 0; c < cols; c++) {
            const vc = columnOf(v.stored, c);
            const yc = columnOf(y.stored, c);
            const value = loss.value(vc, yc);
            want += value;
            magnitude += Math.abs(value) + normInf(vc) * yc.reduce((a, b) => a + Math.abs(b), 0);
          }
          expectScalarNear(`lossValue ${loss.name} ${rows}×${cols}`, await backend.readScalar(out), want, magnitude, sized(rows * cols));
          const gradient = await garbage(rows, cols);
          backend.lossGradient(loss, v.matrix, y.matrix, gradient.matrix);
          const wantGradient = hostMatrix(rows, cols);
          const g = new Float64Array(rows);
          for (let c = 0; c < cols; c++) {
            loss.gradient(columnOf(v.stored, c), columnOf(y.stored, c), g);
            for (let r = 0; r < rows; r++) wantGradient.data[r * cols + c] = g[r];
          }
          expectNear(`lossGradient ${loss.name} ${rows}×${cols}`, await fetch(gradient.matrix), wantGradient, frobenius(wantGradient) + frobenius(y.stored), sized(rows));
          await checkProx(loss, rows, cols, 1, { t: 'packed', y: 'packed', v: 'packed' });
        }
      });
    });

    describe('shape errors', () => {
      it('throws RangeError naming the op', () => {
        const [a23, a32, a33, a22, b23, c23] = [alloc(2, 3), alloc(3, 2), alloc(3, 3), alloc(2, 2), alloc(2, 3), alloc(2, 3)];
        const s = scalar();
        const cases: [RegExp, () => void][] = [
          [/gemm/, () => backend.gemm(1, a23, false, a23, false, 0, a22)],
          [/gemm/, () => backend.gemm(1, a23, false, a32, false, 0, a33)],
          [/gemm/, () => backend.gemm(1, a23, true, a23, false, 0, a22)],
          [/gram/, () => backend.gram(1, a23, false, 0, a33)],
          [/gram/, () => backend.gram(1, a23, true, 0, a22)],
          [/shiftedScale/, () => backend.shiftedScale(a23, s, 1, a23)],
          [/shiftedScale/, () => backend.shiftedScale(a33, s, 1, a22)],
          [/axpby/, () => backend.axpby(1, a23, 1, a32)],
          [/copy/, () => backend.copy(a23, a32)],
          [/cholesky/, () => backend.cholesky(a23)],
          [/solveLeft/, () => backend.solveLeft(a33, a23)],
          [/solveLeft/, () => backend.solveLeft(a23, a32)],
          [/solveRight/, () => backend.solveRight(a33, a32)],
          [/activate/, () => backend.activate(tanhActivation, a23, a32)],
          [/multiplierStep/, () => backend.multiplierStep(tanhActivation, a23, a23, a32, 1, false, a23)],
          [/multiplierStep/, () => backend.multiplierStep(tanhActivation, a23, a23, a23, 1, true, a22)],
          [/maxAbs/, () => backend.maxAbs(s, a23, a32, 1)],
          [/dot/, () => backend.dot(s, a23, a32)],
          [/lossValue/, () => backend.lossValue(squaredLoss, a23, a32, s)],
          [/lossGradient/, () => backend.lossGradient(squaredLoss, a23, b23, a32)],
          [/lossGradient/, () => backend.lossGradient(squaredLoss, a23, b23, b23)],
          [/lossProx/, () => backend.lossProx(squaredLoss, a23, b23, 1, a32)],
          [/lossProx/, () => backend.lossProx(squaredLoss, a23, b23, 1, b23)],
          [/lossProx/, () => backend.lossProx(squaredLoss, a23, b23, 0, c23)],
          [/upload/, () => backend.upload(a23, [1, 2, 3])],
          [/view/, () => backend.view(a23, 3, 1)],
          [/view/, () => backend.view(a23, 1, 4)],
        ];
        for (const [name, call] of cases) {
          expect(call, `${name}`).toThrow(RangeError);
          expect(call, `${name}`).toThrow(name);
        }
      });
    });
  });
}
