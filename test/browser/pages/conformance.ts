/**
 * A SwiftShader-sized subset of the backend conformance checks (../../conformance/backendSuite.ts), run inside a
 * page against any Backend (navigator.gpu's WebGpuBackend in the tests), with the naive f64 references of
 * ../../conformance/reference.ts computed in the page too. Returns one record per check, {op, case, error, bound}:
 * the caller asserts error ≤ bound. Every Backend method is exercised at least once; the backend is wrapped so the
 * report lists which methods were actually called.
 *
 * Errors are measured as in the suite: Frobenius norms relative to the magnitude of the terms involved, bounds of
 * rel·√k for sums of k terms and rel·κ for solutions of systems with condition number κ; exactness checks (copies,
 * fills, views, padding, symmetry, exact scalars) have bound 0.
 */
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
} from '../../conformance/reference.ts';

export interface CheckResult {
  readonly op: string;
  readonly case: string;
  readonly error: number;
  readonly bound: number;
  /** Wall time since the previous record (the op, its set-up and its read-back), in ms. */
  readonly ms: number;
  /** For a backend with runtime counters (WebGpuBackend.stats): pipelines created, dispatches and submits since the previous record. */
  readonly counters?: { pipelines: number; dispatches: number; submits: number };
}

interface RuntimeCounters {
  readonly pipelinesCreated: number;
  readonly dispatches: number;
  readonly submits: number;
}

export interface ConformanceReport {
  readonly backend: string;
  readonly precision: string;
  readonly results: CheckResult[];
  /** Backend methods called during the checks (sorted). */
  readonly opsCalled: string[];
  /** Wall time of each group of checks, in ms. */
  readonly timings: Record<string, number>;
  readonly durationMs: number;
}

/** Records which methods of `backend` are called (bound to the real object: WebGpuBackend has private fields). */
function recording(backend: Backend, called: Set<string>): Backend {
  return new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        called.add(prop);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const flags = (transA: boolean, transB: boolean): string => `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;

// The loss steps' data and references, as in the suite (../../conformance/backendSuite.ts).
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

/** Probability columns (one-hot or a softmax of noise) for cross-entropy, noise otherwise. */
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

/** Entries uniform in [−scale, scale), with large logits (±50) in column 0. */
function lossInputs(rng: Rng, rows: number, cols: number, scale: number): HostMatrix {
  const m = randomMatrix(rng, rows, cols, scale);
  for (let r = 0; r < rows; r++) m.data[r * cols] = r % 2 === 0 ? 50 : -50;
  return m;
}

/** Runs the checks; disposes the backend at the end (dispose is one of the ops). */
export async function runConformance(target: Backend, rel: number): Promise<ConformanceReport> {
  const started = performance.now();
  const description = target.describe();
  const called = new Set<string>();
  const backend = recording(target, called);
  const results: CheckResult[] = [];
  const owned: Matrix[] = [];
  const scalars: DeviceScalar[] = [];
  let lastRecord = performance.now();
  const stats = (target as { stats?: RuntimeCounters }).stats;
  const snapshot = () => (stats ? { pipelines: stats.pipelinesCreated, dispatches: stats.dispatches, submits: stats.submits } : undefined);
  let lastCounters = snapshot();
  const record = (op: string, what: string, error: number, bound: number): void => {
    const now = performance.now();
    const counters = snapshot();
    const delta = counters && lastCounters
      ? { pipelines: counters.pipelines - lastCounters.pipelines, dispatches: counters.dispatches - lastCounters.dispatches, submits: counters.submits - lastCounters.submits }
      : undefined;
    results.push({ op, case: what, error: Number.isNaN(error) ? Infinity : error, bound, ms: now - lastRecord, ...(delta ? { counters: delta } : {}) });
    lastRecord = now;
    lastCounters = counters;
  };
  const sized = (terms: number): number => rel * Math.max(1, Math.sqrt(terms));
  const alloc = (rows: number, cols: number): Matrix => {
    const m = backend.alloc(rows, cols);
    owned.push(m);
    return m;
  };
  const scalar = (value?: number): DeviceScalar => {
    const s = backend.scalar(value);
    scalars.push(s);
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
  const garbage = (rows: number, cols: number, layout: Layout = 'packed'): Promise<Placed> =>
    place(hostMatrix(rows, cols, new Float64Array(rows * cols).fill(NaN)), layout);
  /** Padding entries of views that an op overwrote (must stay NaN). */
  const padding = async (op: string, what: string, ...placed: Placed[]): Promise<void> => {
    let overwritten = 0;
    for (const { matrix, parent } of placed) {
      if (matrix === parent) continue;
      const all = await fetch(parent);
      for (let r = 0; r < parent.rows; r++) {
        for (let c = 0; c < parent.cols; c++) {
          if (r < matrix.rows && c < matrix.cols) continue;
          if (!Number.isNaN(all.data[r * parent.cols + c])) overwritten++;
        }
      }
    }
    record(op, `${what}: padding entries overwritten`, overwritten, 0);
  };
  const near = (op: string, what: string, got: HostMatrix, want: HostMatrix, scale: number, bound: number): void =>
    record(op, what, distance(got, want) / (scale > 0 ? scale : 1), bound);
  const maxDiff = (a: HostMatrix, b: HostMatrix): number => {
    let m = 0;
    for (let i = 0; i < a.data.length; i++) m = Math.max(m, Number.isNaN(a.data[i]) !== Number.isNaN(b.data[i]) ? Infinity : Math.abs(a.data[i] - b.data[i]) || 0);
    return m;
  };
  const timings: Record<string, number> = {};
  let sectionStart = performance.now();
  const section = (name: string): void => {
    const now = performance.now();
    timings[name] = now - sectionStart;
    sectionStart = now;
  };
  const cleanup = (): void => {
    for (const m of owned.splice(0)) backend.free(m);
    for (const s of scalars.splice(0)) backend.freeScalar(s);
  };

  record('describe', backend.describe(), backend.describe().trim().length > 0 ? 0 : 1, 0);

  // ---- memory: upload/download, views, copy, fill ----
  {
    const exact = hostMatrix(7, 13, Array.from({ length: 91 }, (_, i) => (i - 45) / 8));
    record('upload/download', '7×13 f32-representable values, exactly', maxDiff((await place(exact)).stored, exact), 0);
    const rng = createRng(seedFor('round trip'));
    for (const layout of ['packed', 'colPrefix', 'rowPrefix'] as const) {
      const h = randomMatrix(rng, 33, 65, 100);
      const placed = await place(h, layout);
      near('upload/download', `33×65 random (${layout})`, placed.stored, h, frobenius(h), rel);
      await padding('upload', `33×65 (${layout})`, placed);
    }
    const parent = alloc(3, 4);
    backend.upload(backend.view(parent, 2, 3), [1, 2, 3, 4, 5, 6]);
    const whole = Array.from(await backend.download(parent));
    const wantWhole = [1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0];
    record('view', 'upload into a 2×3 view of a 3×4 matrix', whole.filter((v, i) => v !== wantWhole[i]).length, 0);
    const nested = Array.from(await backend.download(backend.view(backend.view(parent, 3, 3), 2, 2)));
    record('view', 'a 2×2 view of a 3×3 view', nested.filter((v, i) => v !== [1, 2, 4, 5][i]).length, 0);

    const rngCopy = createRng(seedFor('copy fill'));
    for (const [rows, cols] of [[7, 13], [64, 65]]) {
      const src = await place(randomMatrix(rngCopy, rows, cols), 'colPrefix');
      const dst = await garbage(rows, cols, 'rowPrefix');
      backend.copy(src.matrix, dst.matrix);
      record('copy', `${rows}×${cols} view to view`, maxDiff(await fetch(dst.matrix), src.stored), 0);
      backend.fill(src.matrix, -2.5);
      record('fill', `${rows}×${cols} view with −2.5`, maxDiff(await fetch(src.matrix), hostMatrix(rows, cols, new Float64Array(rows * cols).fill(-2.5))), 0);
      await padding('copy/fill', `${rows}×${cols}`, src, dst);
    }
    cleanup();
  }

  section('memory');
  // ---- device scalars ----
  {
    const zero = scalar();
    record('scalar/readScalar', 'a new scalar is 0', Math.abs(await backend.readScalar(zero)), 0);
    const s = scalar(3);
    record('scalar/readScalar', 'holds 3', Math.abs((await backend.readScalar(s)) - 3), 0);
    const out = scalar(123);
    backend.scalarAffine(out, s, -2, 0.5);
    record('scalarAffine', 'out ← −2·3 + 0.5', Math.abs((await backend.readScalar(out)) + 5.5), 0);
    backend.scalarAffine(s, s, 0.1, 1e-3);
    record('scalarAffine', 'in place: 0.1·3 + 1e-3', Math.abs((await backend.readScalar(s)) - 0.301) / 0.301, rel);
    const several = await backend.readScalars([out, zero, out]);
    record('scalar/readScalars', 'in order, repeats included', Math.abs(several[0] + 5.5) + Math.abs(several[1]) + Math.abs(several[2] + 5.5), 0);
    cleanup();
  }

  section('scalars');
  // ---- gemm: every transpose combination, packed and on views, and a long reduction ----
  {
    const check = async (m: number, n: number, k: number, transA: boolean, transB: boolean, layouts: { a: Layout; b: Layout; c: Layout }, alpha: number, beta: number): Promise<void> => {
      const rng = createRng(seedFor(`gemm ${m} ${n} ${k} ${transA} ${transB} ${layouts.a}`));
      const a = await place(transA ? randomMatrix(rng, k, m) : randomMatrix(rng, m, k), layouts.a);
      const b = await place(transB ? randomMatrix(rng, n, k) : randomMatrix(rng, k, n), layouts.b);
      const c = beta === 0 ? await garbage(m, n, layouts.c) : await place(randomMatrix(rng, m, n), layouts.c);
      backend.gemm(alpha, a.matrix, transA, b.matrix, transB, beta, c.matrix);
      const want = refGemm(alpha, a.stored, transA, b.stored, transB, beta, c.stored);
      const scale = Math.abs(alpha) * frobenius(a.stored) * frobenius(b.stored) + (beta === 0 ? 0 : Math.abs(beta) * frobenius(c.stored));
      const what = `${m}×${n}×${k} ${flags(transA, transB)} α=${alpha} β=${beta} (${layouts.a}, ${layouts.b}, ${layouts.c})`;
      near('gemm', what, await fetch(c.matrix), want, scale, sized(k));
      await padding('gemm', what, a, b, c);
      cleanup();
    };
    // Every transpose combination on views (ld > cols, row prefixes) with β ≠ 0; β = 0 (C never read) packed.
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        await check(33, 17, 65, transA, transB, { a: 'colPrefix', b: 'rowPrefix', c: 'colPrefix' }, -0.75, 1.5);
      }
    }
    await check(7, 13, 5, false, false, { a: 'packed', b: 'packed', c: 'packed' }, 1, 0);
    // The shapes of Algorithm 1: W·A with n = 600 samples, and G·Aᵀ reducing over n = 2000 (split along k).
    await check(16, 600, 17, false, false, { a: 'rowPrefix', b: 'packed', c: 'packed' }, 1, 0);
    await check(16, 17, 2000, false, true, { a: 'packed', b: 'packed', c: 'packed' }, 1, 0);
  }
  section('gemm');

  // ---- gram ----
  {
    const check = async (n: number, k: number, transA: boolean, layouts: { a: Layout; c: Layout }, alpha: number, beta: number): Promise<void> => {
      const rng = createRng(seedFor(`gram ${n} ${k} ${transA} ${layouts.a}`));
      const a = await place(transA ? randomMatrix(rng, k, n) : randomMatrix(rng, n, k), layouts.a);
      const r = randomMatrix(rng, n, n);
      const c = beta === 0 ? await garbage(n, n, layouts.c) : await place(combine(1, r, 1, transpose(r)), layouts.c);
      backend.gram(alpha, a.matrix, transA, beta, c.matrix);
      const got = await fetch(c.matrix);
      const want = refGram(alpha, a.stored, transA, beta, c.stored);
      const scale = Math.abs(alpha) * frobenius(a.stored) ** 2 + (beta === 0 ? 0 : Math.abs(beta) * frobenius(c.stored));
      const what = `${n}×${n} from k = ${k}, ${transA ? 'AᵀA' : 'AAᵀ'} α=${alpha} β=${beta} (${layouts.a}, ${layouts.c})`;
      near('gram', what, got, want, scale, sized(k));
      let asymmetric = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got.data[i * n + j] !== got.data[j * n + i]) asymmetric++;
      record('gram', `${what}: asymmetric pairs`, asymmetric, 0);
      await padding('gram', what, a, c);
      cleanup();
    };
    await check(33, 65, false, { a: 'colPrefix', c: 'packed' }, -0.5, 2);
    await check(7, 13, true, { a: 'rowPrefix', c: 'packed' }, 1, 0);
    await check(17, 2000, false, { a: 'packed', c: 'packed' }, 1, 0);
  }

  section('gram');
  // ---- shiftedScale, axpby ----
  {
    const rng = createRng(seedFor('shiftedScale'));
    for (const n of [7, 65]) {
      for (const inPlace of [false, true]) {
        const s = await place(randomMatrix(rng, n, n), 'colPrefix');
        const c = scalar(-1.7);
        const cValue = await backend.readScalar(c);
        const out = inPlace ? s : await garbage(n, n, 'rowPrefix');
        backend.shiftedScale(s.matrix, c, 0.3, out.matrix);
        const identity = hostMatrix(n, n);
        for (let i = 0; i < n; i++) identity.data[i * n + i] = 1;
        const what = `n=${n}${inPlace ? ' in place' : ''}`;
        near('shiftedScale', what, await fetch(out.matrix), combine(cValue, s.stored, 0.3, identity), Math.abs(cValue) * frobenius(s.stored) + 0.3 * Math.sqrt(n), rel);
        await padding('shiftedScale', what, s, out);
        cleanup();
      }
    }
    const rngAxpby = createRng(seedFor('axpby'));
    for (const [rows, cols] of [[7, 13], [65, 63]]) {
      for (const [alpha, beta] of [[2, -0.5], [0.25, 0]]) {
        const x = await place(randomMatrix(rngAxpby, rows, cols), 'colPrefix');
        const y = await place(randomMatrix(rngAxpby, rows, cols), 'rowPrefix');
        backend.axpby(alpha, x.matrix, beta, y.matrix);
        const what = `${rows}×${cols} α=${alpha} β=${beta}`;
        near('axpby', what, await fetch(y.matrix), combine(alpha, x.stored, beta, y.stored), Math.abs(alpha) * frobenius(x.stored) + Math.abs(beta) * frobenius(y.stored), rel);
        await padding('axpby', what, x, y);
        cleanup();
      }
    }
    const rngAdam = createRng(seedFor('adamStep'));
    for (const [rows, cols] of [[7, 13]]) {
      const options = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3 };
      const g = await place(randomMatrix(rngAdam, rows, cols), 'colPrefix');
      const m = await place(randomMatrix(rngAdam, rows, cols, 0.1), 'rowPrefix');
      const v = await place(absolute(randomMatrix(rngAdam, rows, cols, 0.01)));
      const w = await place(randomMatrix(rngAdam, rows, cols), 'colPrefix');
      backend.adamStep(g.matrix, m.matrix, v.matrix, w.matrix, options);
      const want = refAdamStep(g.stored, m.stored, v.stored, w.stored, options);
      const what = `${rows}×${cols}`;
      near('adamStep', `${what} M`, await fetch(m.matrix), want.m, frobenius(want.m) + frobenius(g.stored), rel);
      near('adamStep', `${what} W`, await fetch(w.matrix), want.w, frobenius(want.w) + options.learningRate * Math.sqrt(rows * cols) * 10, rel);
      await padding('adamStep', what, w, v);
      cleanup();
    }
  }

  section('shiftedScale/axpby');
  // ---- Cholesky and the solves ----
  {
    const check = async (n: number, condition: number, rhs: number, layouts: { m: Layout; left: Layout; right: Layout }): Promise<void> => {
      const rng = createRng(seedFor(`cholesky ${n} ${condition} ${rhs} ${layouts.m}`));
      const m = await place(randomSpd(rng, n, condition), layouts.m);
      const normM = frobenius(m.stored);
      backend.cholesky(m.matrix);
      const l = lowerTriangle(await fetch(m.matrix));
      const what = `n=${n} κ=${condition} (${layouts.m})`;
      near('cholesky', `${what}: L Lᵀ vs M`, multiply(l, transpose(l)), m.stored, normM, sized(n));
      let badDiagonal = 0;
      for (let i = 0; i < n; i++) if (!(l.data[i * n + i] > 0)) badDiagonal++;
      record('cholesky', `${what}: non-positive diagonal entries of L`, badDiagonal, 0);
      const exactFactor = refCholesky(m.stored);

      const left = await place(multiply(m.stored, randomMatrix(rng, n, rhs)), layouts.left);
      backend.solveLeft(m.matrix, left.matrix);
      const x = await fetch(left.matrix);
      record('solveLeft', `${what}, ${rhs} right-hand sides: backward error`, distance(multiply(m.stored, x), left.stored) / (normM * frobenius(x) + frobenius(left.stored)), sized(n));
      const xExact = refCholeskySolve(exactFactor, left.stored);
      near('solveLeft', `${what}, ${rhs} right-hand sides: solution`, x, xExact, frobenius(xExact), rel * condition);

      const right = await place(multiply(randomMatrix(rng, rhs, n), m.stored), layouts.right);
      backend.solveRight(m.matrix, right.matrix);
      const y = await fetch(right.matrix);
      record('solveRight', `${what}, ${rhs} right-hand sides: backward error`, distance(multiply(y, m.stored), right.stored) / (normM * frobenius(y) + frobenius(right.stored)), sized(n));
      const yExact = transpose(refCholeskySolve(exactFactor, transpose(right.stored)));
      near('solveRight', `${what}, ${rhs} right-hand sides: solution`, y, yExact, frobenius(yExact), rel * condition);
      await padding('cholesky/solves', what, m, left, right);
      cleanup();
    };
    await check(7, 1e3, 3, { m: 'packed', left: 'packed', right: 'packed' });
    // Larger than a Cholesky block (32 or 64): the blocked factorisation and solves, on views.
    await check(70, 1e3, 24, { m: 'colPrefix', left: 'colPrefix', right: 'rowPrefix' });

    // A non-positive pivot is reported as NotPositiveDefiniteError at the next sync, and the backend stays usable.
    const diagonal = hostMatrix(4, 4);
    [1, 2, -3, 4].forEach((v, i) => (diagonal.data[i * 4 + i] = v));
    const bad = await place(diagonal);
    backend.cholesky(bad.matrix);
    const error = await backend.sync().then(() => undefined, (e: unknown) => e);
    const reported = error instanceof NotPositiveDefiniteError && error.pivotIndex === 2 && error.pivot === -3 && error.size === 4;
    record('cholesky', 'diag(1, 2, −3, 4): NotPositiveDefiniteError at pivot 2 (−3) through sync', reported ? 0 : 1, 0);
    const rng = createRng(seedFor('after error'));
    const m = await place(randomSpd(rng, 9, 10));
    backend.cholesky(m.matrix);
    await backend.sync();
    const l = lowerTriangle(await fetch(m.matrix));
    near('cholesky', 'n=9 after a failed factorisation', multiply(l, transpose(l)), m.stored, frobenius(m.stored), sized(9));
    cleanup();
  }

  section('cholesky');
  // ---- the activation's elementwise steps ----
  {
    await backend.prepareActivation(tanhActivation);
    const sigma = (h: HostMatrix): HostMatrix => hostMatrix(h.rows, h.cols, h.data.map(Math.tanh));
    const rng = createRng(seedFor('activate'));
    for (const [rows, cols] of [[7, 13], [65, 63]]) {
      for (const inPlace of [false, true]) {
        const z = await place(randomMatrix(rng, rows, cols, 3), 'colPrefix');
        const out = inPlace ? z : await garbage(rows, cols, 'rowPrefix');
        backend.activate(tanhActivation, z.matrix, out.matrix);
        const want = sigma(z.stored);
        const what = `${rows}×${cols}${inPlace ? ' in place' : ''}`;
        near('activate', what, await fetch(out.matrix), want, frobenius(want), rel);
        await padding('activate', what, z, out);
        cleanup();
      }
    }
    const rngStep = createRng(seedFor('multiplierStep'));
    const beta = 2.5;
    for (const [rows, cols, targets] of [[7, 13, ['separate', 'lambda', 'v', 's']], [65, 63, ['separate', 'lambda']]] as const) {
      for (const withDerivative of [false, true]) {
        for (const target of targets) {
          const s = await place(randomMatrix(rngStep, rows, cols, 3), 'colPrefix');
          const v = await place(randomMatrix(rngStep, rows, cols), 'rowPrefix');
          const lambda = await place(randomMatrix(rngStep, rows, cols), 'packed');
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
          const what = `${rows}×${cols}${withDerivative ? ' with σ′' : ''} into ${target}`;
          near('multiplierStep', what, await fetch(out.matrix), want, frobenius(magnitude), rel);
          await padding('multiplierStep', what, s, v, lambda, out);
          cleanup();
        }
      }
    }
  }

  section('activation');
  // ---- the loss's column steps ----
  {
    await backend.prepareLoss(crossEntropy, 10);
    for (const loss of [squaredLoss, crossEntropy]) {
      for (const [rows, cols] of [[10, 37], [3, 2000]]) {
        const rng = createRng(seedFor(`loss steps ${loss.name} ${rows} ${cols}`));
        const v = await place(lossInputs(rng, rows, cols, 5), 'colPrefix');
        const y = await place(lossTargets(loss, rng, rows, cols), 'rowPrefix');
        const what = `${loss.name} ${rows}×${cols} views`;
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
        record('lossValue', what, Math.abs((await backend.readScalar(out)) - want) / magnitude, sized(rows * cols));

        const wantGradient = hostMatrix(rows, cols);
        const g = new Float64Array(rows);
        for (let c = 0; c < cols; c++) {
          loss.gradient(columnOf(v.stored, c), columnOf(y.stored, c), g);
          for (let r = 0; r < rows; r++) wantGradient.data[r * cols + c] = g[r];
        }
        const gradient = await garbage(rows, cols, 'rowPrefix');
        backend.lossGradient(loss, v.matrix, y.matrix, gradient.matrix);
        near('lossGradient', what, await fetch(gradient.matrix), wantGradient, frobenius(wantGradient) + frobenius(y.stored), sized(rows));

        // The prox from V's values, against the optimality condition and the f64 iteration of core's lossProx.ts.
        const beta = 0.5;
        const t = await place(lossInputs(rng, rows, cols, 5), 'rowPrefix');
        backend.lossProx(loss, t.matrix, y.matrix, beta, v.matrix);
        const got = await fetch(v.matrix);
        const work = new ProxWorkspace(rows);
        let residual = 0;
        let gap = 0;
        for (let c = 0; c < cols; c++) {
          const tc = columnOf(t.stored, c);
          const yc = columnOf(y.stored, c);
          const vc = columnOf(got, c);
          const threshold = 2 * PROX_TOLERANCE.f32 * (1 + beta * normInf(tc)) + rel * (1 + beta) * (1 + normInf(vc));
          loss.gradient(vc, yc, g);
          for (let i = 0; i < rows; i++) residual = Math.max(residual, Math.abs(g[i] + beta * (vc[i] - tc[i])) / threshold);
          const reference = columnOf(v.stored, c);
          proxColumn(loss, tc, yc, beta, reference, PROX_TOLERANCE.f64, work);
          let d2 = 0;
          for (let i = 0; i < rows; i++) d2 += (vc[i] - reference[i]) ** 2;
          gap = Math.max(gap, Math.sqrt(d2) / ((Math.sqrt(rows) * threshold) / beta + rel * (1 + frobenius(reference))));
        }
        record('lossProx', `${what}, β=${beta}: optimality residual / bound`, residual, 1);
        record('lossProx', `${what}, β=${beta}: distance to the f64 prox / bound`, gap, 1);
        if (loss === squaredLoss) {
          const closed = combine(1 / (1 + beta), y.stored, beta / (1 + beta), t.stored);
          const scale = frobenius(closed) + frobenius(v.stored) + (frobenius(y.stored) + beta * frobenius(t.stored)) / (1 + beta);
          near('lossProx', `${what}, β=${beta}: (y + βt)/(1 + β)`, got, closed, scale, rel);
        }
        await padding('loss steps', what, v, y, gradient, t);
        cleanup();
      }
    }
  }

  section('loss');
  // ---- reductions ----
  {
    const rng = createRng(seedFor('sums'));
    for (const [rows, cols] of [[7, 13], [64, 2000]]) {
      const a = await place(randomMatrix(rng, rows, cols), 'colPrefix');
      const b = await place(randomMatrix(rng, rows, cols), 'rowPrefix');
      const out = scalar();
      backend.sumSquares(out, a.matrix);
      const squares = frobenius(a.stored) ** 2;
      record('sumSquares', `${rows}×${cols} view`, Math.abs((await backend.readScalar(out)) - squares) / squares, sized(rows * cols));
      backend.dot(out, a.matrix, b.matrix);
      let dot = 0;
      let magnitude = 0;
      a.stored.data.forEach((v, i) => {
        dot += v * b.stored.data[i];
        magnitude += Math.abs(v * b.stored.data[i]);
      });
      record('dot', `${rows}×${cols} views`, Math.abs((await backend.readScalar(out)) - dot) / magnitude, sized(rows * cols));
      const largest = (h: HostMatrix): number => {
        let m = 0;
        for (const v of h.data) m = Math.max(m, Math.abs(v));
        return m;
      };
      backend.maxAbs(out, a.matrix);
      record('maxAbs', `${rows}×${cols} max |A| (exact)`, Math.abs((await backend.readScalar(out)) - largest(a.stored)), 0);
      backend.maxAbs(out, a.matrix, b.matrix, -0.4);
      const want = largest(combine(1, a.stored, -0.4, b.stored));
      record('maxAbs', `${rows}×${cols} max |A − 0.4 B|`, Math.abs((await backend.readScalar(out)) - want) / want, rel);
      cleanup();
    }
    const withNaN = randomMatrix(rng, 65, 63);
    withNaN.data[2000] = NaN;
    const out = scalar();
    backend.maxAbs(out, (await place(withNaN, 'colPrefix')).matrix);
    record('maxAbs', 'a NaN in A gives NaN', Number.isNaN(await backend.readScalar(out)) ? 0 : 1, 0);
    cleanup();
  }

  section('reductions');
  await backend.sync();
  backend.dispose();
  return {
    backend: description,
    precision: target.precision,
    results,
    opsCalled: [...called].sort(),
    timings,
    durationMs: performance.now() - started,
  };
}
