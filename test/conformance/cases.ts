/**
 * The backend conformance cases: one table, {@link CONFORMANCE_CASES}, run by the Node suite (backendSuite.ts: one
 * vitest `it` per case, against every backend the test files name) and by the browser page
 * (../browser/pages/conformance.ts: the cases marked `browser`, against navigator.gpu's WebGpuBackend in headless
 * Chromium, a record per check reported back). This module has no Node or vitest imports, so that the page's bundler
 * (scripts/browser-bundle.mjs, Node-only imports refused) includes it.
 *
 * A case draws its inputs from seeded generators (reference.ts's createRng(seedFor(name)), the name given with each
 * family below), places them packed or as views (see {@link Layout}: ld > cols, or a row prefix, of a NaN-filled
 * parent), runs one Backend op (or a few), computes the reference on the host in f64 and hands each comparison to a
 * {@link Checks} sink as an error against a bound: vitest's expect in Node, a record in the page. References are the
 * naive loops of reference.ts, the loss's own f64 value and gradient, and core's f64 prox iteration (what the cpu
 * f64 backend runs); they are computed from the values the backend actually stored (downloaded after upload), so
 * the rounding of the inputs to f32 is not charged to the op.
 *
 * Tolerances. `rel` is the relative accuracy expected of one well-conditioned operation on a few values (about 1e-12
 * for f64, 1e-6 for f32 storage). Errors are measured in the Frobenius norm relative to the magnitude of the terms
 * involved (for gemm: |α|‖A‖‖B‖ + |β|‖C‖), and the bound grows with the problem: by √k for sums over k terms
 * ({@link CaseContext.sized}) and by the condition number κ for the solution of a linear system. Exactness checks
 * (copies, fills, views, padding, symmetry, exact scalars) allow no error at all.
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
  type Layout,
  type Placed,
  type Rng,
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
  refAdamStep,
  refCholesky,
  refCholeskySolve,
  refGemm,
  refGram,
  seedFor,
  tanhActivation,
  transpose,
} from './reference.ts';

// ---- what a case reports to, and what it runs with ----

/**
 * Where a case's checks go. `op` names what is checked (a Backend method, or a family such as 'upload/download'),
 * `what` the particular check. The Node suite turns each call into an expect; the page records it.
 */
export interface Checks {
  /** Passes when error ≤ bound; a NaN error fails. */
  within(op: string, what: string, error: number, bound: number): void;
  /** Passes when `got` and `want` hold the same values (Object.is per entry: NaN matches NaN, −0 differs from 0). */
  equal(op: string, what: string, got: number | ArrayLike<number>, want: number | ArrayLike<number>): void;
  /** Passes when `ok`; `detail` says what was found instead. */
  holds(op: string, what: string, ok: boolean, detail?: string): void;
}

/** What a case runs with: the backend under test, its tolerance and helpers whose matrices are freed after the case. */
export interface CaseContext {
  readonly backend: Backend;
  readonly rel: number;
  readonly check: Checks;
  /** The bound for a result built from sums of `terms` products: rel · max(1, √terms). */
  sized(terms: number): number;
  /** A new rows × cols matrix, freed after the case. */
  alloc(rows: number, cols: number): Matrix;
  /** A new device scalar, freed after the case. */
  scalar(value?: number): DeviceScalar;
  fetch(m: Matrix): Promise<HostMatrix>;
  /** Uploads `h` packed or as a view of a NaN-filled parent; `stored` is what the backend kept. */
  place(h: HostMatrix, layout?: Layout): Promise<Placed>;
  /** A rows × cols output full of NaN (as garbage a β = 0 op must not read). */
  garbage(rows: number, cols: number, layout?: Layout): Promise<Placed>;
  /** Checks that no padding entry of the views' parents was overwritten (NaN padding exposes an op writing outside). */
  padding(op: string, what: string, ...placed: Placed[]): Promise<void>;
  /** ‖got − want‖_F / scale ≤ bound (scale 0 counts as 1). */
  near(op: string, what: string, got: HostMatrix, want: HostMatrix, scale: number, bound: number): void;
  /** |got − want| / scale ≤ bound (scale 0 counts as 1). */
  scalarNear(op: string, what: string, got: number, want: number, scale: number, bound: number): void;
}

/** The Backend's methods (the ops a case may name). */
export type BackendOp = { [K in keyof Backend]: Backend[K] extends (...args: never[]) => unknown ? K : never }[keyof Backend];

/** One row of the table. */
export interface ConformanceCase {
  /** The group it belongs to (a `describe` block in Node, a timing section in the page). */
  readonly group: string;
  /** Unique within its group: the `it` title in Node, the case label in the page's report. */
  readonly title: string;
  /** The Backend methods whose results the case checks (others may be called to set it up). */
  readonly ops: readonly BackendOp[];
  /** Run in the page too (SwiftShader in headless Chromium), not only in Node: the SwiftShader-sized subset. */
  readonly browser: boolean;
  run(ctx: CaseContext): Promise<void>;
}

/**
 * A context for one case on `backend`, with the matrices and scalars it allocates released by `release()`. Both
 * runners use it, so that placing, padding and the error measures are the same on either side.
 */
export function caseContext(backend: Backend, rel: number, check: Checks): { ctx: CaseContext; release(): void } {
  const owned: Matrix[] = [];
  const scalars: DeviceScalar[] = [];
  const alloc = (rows: number, cols: number): Matrix => {
    const m = backend.alloc(rows, cols);
    owned.push(m);
    return m;
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
  const ctx: CaseContext = {
    backend,
    rel,
    check,
    sized: (terms) => rel * Math.max(1, Math.sqrt(terms)),
    alloc,
    scalar(value) {
      const s = backend.scalar(value);
      scalars.push(s);
      return s;
    },
    fetch,
    place,
    garbage: (rows, cols, layout = 'packed') => place(hostMatrix(rows, cols, new Float64Array(rows * cols).fill(NaN)), layout),
    async padding(op, what, ...placed) {
      for (const { matrix, parent } of placed) {
        if (matrix === parent) continue;
        const all = await fetch(parent);
        let overwritten = 0;
        let first = '';
        for (let r = 0; r < parent.rows; r++) {
          for (let c = 0; c < parent.cols; c++) {
            if (r < matrix.rows && c < matrix.cols) continue;
            const value = all.data[r * parent.cols + c];
            if (Number.isNaN(value)) continue;
            if (overwritten++ === 0) first = ` (first: (${r}, ${c}) holds ${value})`;
          }
        }
        check.within(op, `${what}: padding entries of a ${matrix.rows}×${matrix.cols} view overwritten${first}`, overwritten, 0);
      }
    },
    near: (op, what, got, want, scale, bound) => check.within(op, what, distance(got, want) / (scale > 0 ? scale : 1), bound),
    scalarNear: (op, what, got, want, scale, bound) =>
      check.within(op, `${what}: got ${got}, want ${want}`, Math.abs(got - want) / (scale > 0 ? scale : 1), bound),
  };
  return {
    ctx,
    release() {
      for (const m of owned.splice(0)) backend.free(m);
      for (const s of scalars.splice(0)) backend.freeScalar(s);
    },
  };
}

/** Calls `f` and returns what it threw (undefined when it returned). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

const describeError = (e: unknown): string =>
  e === undefined ? 'nothing thrown' : e instanceof Error ? `${e.name}: ${e.message}` : `${typeof e} ${String(e)}`;

// ---- shared pieces of the families ----

const flags = (transA: boolean, transB: boolean): string => `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
const TRANSPOSES: readonly (readonly [boolean, boolean])[] = [[false, false], [false, true], [true, false], [true, true]];

function largestMagnitude(h: HostMatrix): number {
  let max = 0;
  for (const v of h.data) max = Math.max(max, Math.abs(v));
  return max;
}

function identity(n: number): HostMatrix {
  const m = hostMatrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

const sigma = (h: HostMatrix): HostMatrix => hostMatrix(h.rows, h.cols, h.data.map(Math.tanh));

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

/**
 * ℓ(V; Y) = Σ_c ℓ(v_c; y_c) in f64 and the magnitude its error is measured against: ℓ's terms (cross-entropy's
 * log-sum-exp and ⟨y, v⟩ are each up to ‖v‖_∞ ‖y‖₁ before they cancel).
 */
function refLossValue(loss: Loss, v: HostMatrix, y: HostMatrix): { value: number; magnitude: number } {
  let value = 0;
  let magnitude = 0;
  for (let c = 0; c < v.cols; c++) {
    const vc = columnOf(v, c);
    const yc = columnOf(y, c);
    const term = loss.value(vc, yc);
    value += term;
    magnitude += Math.abs(term) + normInf(vc) * yc.reduce((a, b) => a + Math.abs(b), 0);
  }
  return { value, magnitude };
}

/** ∇ℓ(V; Y) column by column, in f64. */
function refLossGradient(loss: Loss, v: HostMatrix, y: HostMatrix): HostMatrix {
  const want = hostMatrix(v.rows, v.cols);
  const g = new Float64Array(v.rows);
  for (let c = 0; c < v.cols; c++) {
    loss.gradient(columnOf(v, c), columnOf(y, c), g);
    for (let r = 0; r < v.rows; r++) want.data[r * v.cols + c] = g[r];
  }
  return want;
}

/** ‖∇ℓ(v; y) + β (v − t)‖_∞ of one column: the optimality residual of the V_N prox. */
function proxResidual(loss: Loss, v: Float64Array, y: Float64Array, t: Float64Array, beta: number): number {
  const g = new Float64Array(v.length);
  loss.gradient(v, y, g);
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(g[i] + beta * (v[i] - t[i])));
  return max;
}

// ---- the families: how each draws its inputs, its reference and its tolerance rule ----

type Scaling = { readonly alpha: number; readonly beta: number };
/** β = 0 (C only written: NaN garbage in C must not leak) and β ≠ 0. */
const GEMM_SCALINGS: readonly Scaling[] = [{ alpha: 1, beta: 0 }, { alpha: -0.75, beta: 1.5 }];
const GRAM_SCALINGS: readonly Scaling[] = [{ alpha: 1, beta: 0 }, { alpha: -0.5, beta: 2 }];

const describeLayouts = (layouts: Record<string, Layout>): string =>
  Object.values(layouts).every((l) => l === 'packed') ? '' : ` (${Object.entries(layouts).map(([k, l]) => `${k} ${l}`).join(', ')})`;

/**
 * gemm: C (m × n) ← α op(A) op(B) + β C for each scaling. Inputs from seedFor(`gemm m n k transA transB layout(A)`),
 * uniform in [−1, 1): A, B, then C for β ≠ 0. Reference refGemm; error relative to |α|‖A‖‖B‖ + |β|‖C‖, bound rel·√k;
 * the views' padding intact.
 */
async function checkGemm(
  ctx: CaseContext, m: number, n: number, k: number, transA: boolean, transB: boolean,
  layouts: { a: Layout; b: Layout; c: Layout }, scalings: readonly Scaling[] = GEMM_SCALINGS,
): Promise<void> {
  const { backend } = ctx;
  const rng = createRng(seedFor(`gemm ${m} ${n} ${k} ${transA} ${transB} ${layouts.a}`));
  const a = await ctx.place(transA ? randomMatrix(rng, k, m) : randomMatrix(rng, m, k), layouts.a);
  const b = await ctx.place(transB ? randomMatrix(rng, n, k) : randomMatrix(rng, k, n), layouts.b);
  for (const { alpha, beta } of scalings) {
    const c = beta === 0 ? await ctx.garbage(m, n, layouts.c) : await ctx.place(randomMatrix(rng, m, n), layouts.c);
    backend.gemm(alpha, a.matrix, transA, b.matrix, transB, beta, c.matrix);
    const want = refGemm(alpha, a.stored, transA, b.stored, transB, beta, c.stored);
    const scale = Math.abs(alpha) * frobenius(a.stored) * frobenius(b.stored) + (beta === 0 ? 0 : Math.abs(beta) * frobenius(c.stored));
    const what = `${m}×${n}×${k} ${flags(transA, transB)} α=${alpha} β=${beta}${describeLayouts(layouts)}`;
    ctx.near('gemm', what, await ctx.fetch(c.matrix), want, scale, ctx.sized(k));
    await ctx.padding('gemm', what, a, b, c);
  }
}

/**
 * gram: C (n × n) ← α A Aᵀ + β C (α AᵀA with transA) for each scaling. Inputs from seedFor(`gram n k transA layout(A)`):
 * A uniform in [−1, 1), then a symmetric R + Rᵀ for C when β ≠ 0. Reference refGram; error relative to
 * |α|‖A‖² + |β|‖C‖, bound rel·√k; the result exactly symmetric; the views' padding intact.
 */
async function checkGram(
  ctx: CaseContext, n: number, k: number, transA: boolean, layouts: { a: Layout; c: Layout },
  scalings: readonly Scaling[] = GRAM_SCALINGS,
): Promise<void> {
  const { backend, check } = ctx;
  const rng = createRng(seedFor(`gram ${n} ${k} ${transA} ${layouts.a}`));
  const a = await ctx.place(transA ? randomMatrix(rng, k, n) : randomMatrix(rng, n, k), layouts.a);
  const r = randomMatrix(rng, n, n);
  const symmetric = combine(1, r, 1, transpose(r));
  for (const { alpha, beta } of scalings) {
    const c = beta === 0 ? await ctx.garbage(n, n, layouts.c) : await ctx.place(symmetric, layouts.c);
    backend.gram(alpha, a.matrix, transA, beta, c.matrix);
    const got = await ctx.fetch(c.matrix);
    const want = refGram(alpha, a.stored, transA, beta, c.stored);
    const scale = Math.abs(alpha) * frobenius(a.stored) ** 2 + (beta === 0 ? 0 : Math.abs(beta) * frobenius(c.stored));
    const what = `${n}×${n} from k = ${k}, ${transA ? 'AᵀA' : 'AAᵀ'} α=${alpha} β=${beta}${describeLayouts(layouts)}`;
    ctx.near('gram', what, got, want, scale, ctx.sized(k));
    let asymmetric = 0;
    let first = '';
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        if (Object.is(got.data[i * n + j], got.data[j * n + i])) continue;
        if (asymmetric++ === 0) first = ` (first: (${i}, ${j}) holds ${got.data[i * n + j]}, (${j}, ${i}) ${got.data[j * n + i]})`;
      }
    }
    check.within('gram', `${what}: pairs not exactly symmetric${first}`, asymmetric, 0);
    await ctx.padding('gram', what, a, c);
  }
}

/**
 * cholesky, solveLeft, solveRight: M = randomSpd(n, κ) (‖M‖₂ = 1, κ₂(M) = κ), from seedFor(`cholesky n κ rhs
 * layout(M)`), then B = M X (n × rhs) and B = Y M (rhs × n) with X, Y uniform in [−1, 1). Checks: L Lᵀ against M
 * relative to ‖M‖, bound rel·√n; L's diagonal positive; each solve's backward error ‖M X − B‖/(‖M‖‖X‖ + ‖B‖) ≤ rel·√n
 * and its distance to the f64 solution (refCholesky, refCholeskySolve) ≤ rel·κ relative to it; padding intact.
 */
async function checkCholesky(ctx: CaseContext, n: number, condition: number, rhs: number, layouts: { m: Layout; left: Layout; right: Layout }): Promise<void> {
  const { backend, check } = ctx;
  const rng = createRng(seedFor(`cholesky ${n} ${condition} ${rhs} ${layouts.m}`));
  const m = await ctx.place(randomSpd(rng, n, condition), layouts.m);
  const normM = frobenius(m.stored);
  backend.cholesky(m.matrix);
  const factor = await ctx.fetch(m.matrix);
  const l = lowerTriangle(factor);
  const what = `n=${n} κ=${condition}${describeLayouts(layouts)}`;
  const badDiagonal: string[] = [];
  for (let i = 0; i < n; i++) if (!(factor.data[i * n + i] > 0)) badDiagonal.push(`L[${i}, ${i}] = ${factor.data[i * n + i]}`);
  check.within('cholesky', `${what}: non-positive diagonal entries of L ${badDiagonal.slice(0, 3).join(', ')}`, badDiagonal.length, 0);
  ctx.near('cholesky', `${what}: L Lᵀ vs M`, multiply(l, transpose(l)), m.stored, normM, ctx.sized(n));
  const exactFactor = refCholesky(m.stored);

  // Left: M X = B with n × rhs right-hand sides.
  const left = await ctx.place(multiply(m.stored, randomMatrix(rng, n, rhs)), layouts.left);
  backend.solveLeft(m.matrix, left.matrix);
  const x = await ctx.fetch(left.matrix);
  const residual = distance(multiply(m.stored, x), left.stored) / (normM * frobenius(x) + frobenius(left.stored));
  check.within('solveLeft', `${what}, ${rhs} right-hand sides: backward error`, residual, ctx.sized(n));
  const xExact = refCholeskySolve(exactFactor, left.stored);
  ctx.near('solveLeft', `${what}, ${rhs} right-hand sides: solution`, x, xExact, frobenius(xExact), ctx.rel * condition);

  // Right: Y M = B with rhs × n right-hand sides (rows).
  const right = await ctx.place(multiply(randomMatrix(rng, rhs, n), m.stored), layouts.right);
  backend.solveRight(m.matrix, right.matrix);
  const y = await ctx.fetch(right.matrix);
  const residualRight = distance(multiply(y, m.stored), right.stored) / (normM * frobenius(y) + frobenius(right.stored));
  check.within('solveRight', `${what}, ${rhs} right-hand sides: backward error`, residualRight, ctx.sized(n));
  const yExact = transpose(refCholeskySolve(exactFactor, transpose(right.stored)));
  ctx.near('solveRight', `${what}, ${rhs} right-hand sides: solution`, y, yExact, frobenius(yExact), ctx.rel * condition);
  await ctx.padding('cholesky/solves', what, m, left, right);
}

/** cholesky of `h` must fail with NotPositiveDefiniteError through the next sync, with h's order (and pivot). */
async function checkNotPositiveDefinite(ctx: CaseContext, label: string, h: HostMatrix, pivotIndex?: number, pivot?: number): Promise<void> {
  const { backend, check } = ctx;
  const m = await ctx.place(h);
  const run = async (): Promise<void> => {
    backend.cholesky(m.matrix);
    await backend.sync();
  };
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  const what = `${label}: NotPositiveDefiniteError through sync`;
  check.holds('cholesky', what, error instanceof NotPositiveDefiniteError, describeError(error));
  if (!(error instanceof NotPositiveDefiniteError)) return;
  check.equal('cholesky', `${what}: size`, error.size, h.rows);
  if (pivotIndex !== undefined) check.equal('cholesky', `${what}: pivot index`, error.pivotIndex, pivotIndex);
  if (pivot !== undefined) check.equal('cholesky', `${what}: pivot`, error.pivot, pivot);
}

/**
 * lossProx from V's current values (`start`, as stored), checked column by column: the optimality condition
 * ‖∇ℓ(v) + β(v − t)‖_∞ ≤ 2·PROX_TOLERANCE·(1 + β‖t‖_∞) (the stopping rule, with a factor 2 for evaluating it again
 * in f64 at the stored v, plus the rounding of v to storage); agreement with the f64 iteration of core's lossProx.ts
 * (the cpu f64 backend's), to the distance the residuals allow for a β-strongly convex objective,
 * ‖v − v*‖₂ ≤ ‖∇F(v)‖₂/β; and, for the squared loss, the closed form (y + βt)/(1 + β) of (12).
 */
function proxChecks(ctx: CaseContext, loss: Loss, what: string, beta: number, t: HostMatrix, y: HostMatrix, start: HostMatrix, got: HostMatrix): void {
  const { rows, cols } = got;
  const toleranceP = PROX_TOLERANCE[ctx.backend.precision];
  const work = new ProxWorkspace(rows);
  let worstResidual = 0;
  let worstDistance = 0;
  let worstColumn = -1;
  for (let c = 0; c < cols; c++) {
    const tc = columnOf(t, c);
    const yc = columnOf(y, c);
    const vc = columnOf(got, c);
    const threshold = toleranceP * (1 + beta * normInf(tc));
    const rounding = ctx.rel * (1 + beta) * (1 + normInf(vc));
    const residual = proxResidual(loss, vc, yc, tc, beta) / (2 * threshold + rounding);
    const reference = columnOf(start, c);
    proxColumn(loss, tc, yc, beta, reference, PROX_TOLERANCE.f64, work);
    let gap = 0;
    for (let i = 0; i < rows; i++) gap += (vc[i] - reference[i]) ** 2;
    const distanceBound = (Math.sqrt(rows) * (2 * threshold + rounding)) / beta + ctx.rel * (1 + frobenius(reference));
    const dist = Math.sqrt(gap) / distanceBound;
    if (residual > worstResidual || dist > worstDistance || Number.isNaN(residual + dist)) worstColumn = c;
    worstResidual = Number.isNaN(residual) ? Infinity : Math.max(worstResidual, residual);
    worstDistance = Number.isNaN(dist) ? Infinity : Math.max(worstDistance, dist);
  }
  ctx.check.within('lossProx', `${what}: optimality residual / bound (worst column ${worstColumn})`, worstResidual, 1);
  ctx.check.within('lossProx', `${what}: distance to the f64 prox / bound (worst column ${worstColumn})`, worstDistance, 1);
  if (loss === squaredLoss) {
    const want = combine(1 / (1 + beta), y, beta / (1 + beta), t);
    const scale = frobenius(want) + frobenius(start) + (frobenius(y) + beta * frobenius(t)) / (1 + beta);
    ctx.near('lossProx', `${what}: (y + βt)/(1 + β)`, got, want, scale, ctx.rel);
  }
}

/**
 * lossProx on inputs from seedFor(`lossProx name rows cols β layout(V)`): T = lossInputs (±50 in column 0), Y the
 * loss's targets, V's start uniform in [−1, 1) but at T in column 0 (the large logits) and at ∓50 in column 1 (far
 * from T there). Checked by {@link proxChecks}; padding intact.
 */
async function checkProx(ctx: CaseContext, loss: Loss, rows: number, cols: number, beta: number, layouts: { t: Layout; y: Layout; v: Layout }): Promise<void> {
  const rng = createRng(seedFor(`lossProx ${loss.name} ${rows} ${cols} ${beta} ${layouts.v}`));
  const t = await ctx.place(lossInputs(rng, rows, cols, 5), layouts.t);
  const y = await ctx.place(lossTargets(loss, rng, rows, cols), layouts.y);
  const start = randomMatrix(rng, rows, cols);
  // Column 0 starts at the large logits too; column 1 (t there is random) starts far away, at ±50.
  for (let r = 0; r < rows; r++) {
    start.data[r * cols] = t.stored.data[r * t.stored.cols];
    if (cols > 1) start.data[r * cols + 1] = r % 2 === 0 ? -50 : 50;
  }
  const v = await ctx.place(start, layouts.v);
  ctx.backend.lossProx(loss, t.matrix, y.matrix, beta, v.matrix);
  const got = await ctx.fetch(v.matrix);
  proxChecks(ctx, loss, `${loss.name} ${rows}×${cols} β=${beta}${describeLayouts(layouts)}`, beta, t.stored, y.stored, v.stored, got);
  await ctx.padding('lossProx', `${loss.name} ${rows}×${cols}`, t, y, v);
}

type StepTarget = 'separate' | 'lambda' | 'v' | 's';
const ALL_TARGETS: readonly StepTarget[] = ['separate', 'lambda', 'v', 's'];

/**
 * multiplierStep: out ← Λ + β(σ(S) − V) [⊙ σ′(S)] with β = 2.5 and σ = tanh, for each [rows, cols, outputs] with and
 * without σ′, out a separate output or aliasing Λ, V or S. Inputs from seedFor(`seed`): S uniform in [−3, 3) (a view,
 * ld > cols), V in [−1, 1) (a row prefix), Λ in [−1, 1) (packed). Reference: the same formula in f64 at the stored
 * values; error relative to the Frobenius norm of the terms' magnitudes (|Λ| + β(|σ(S)| + |V|)) [⊙ |σ′(S)|], bound rel.
 */
async function checkMultiplierStep(ctx: CaseContext, seed: string, configs: readonly (readonly [number, number, readonly StepTarget[]])[]): Promise<void> {
  // activate (the case before) ran without it, compiling on first use; the multiplier steps run prepared, as
  // Algorithm 1 runs them.
  await ctx.backend.prepareActivation(tanhActivation);
  const rng = createRng(seedFor(seed));
  const beta = 2.5;
  for (const [rows, cols, targets] of configs) {
    for (const withDerivative of [false, true]) {
      for (const target of targets) {
        const s = await ctx.place(randomMatrix(rng, rows, cols, 3), 'colPrefix');
        const v = await ctx.place(randomMatrix(rng, rows, cols), 'rowPrefix');
        const lambda = await ctx.place(randomMatrix(rng, rows, cols), 'packed');
        const out = target === 'separate' ? await ctx.garbage(rows, cols, 'colPrefix') : { lambda, v, s }[target];
        ctx.backend.multiplierStep(tanhActivation, s.matrix, v.matrix, lambda.matrix, beta, withDerivative, out.matrix);
        const sig = sigma(s.stored);
        let want = combine(1, lambda.stored, beta, combine(1, sig, -1, v.stored));
        let magnitude = combine(1, absolute(lambda.stored), Math.abs(beta), combine(1, absolute(sig), 1, absolute(v.stored)));
        if (withDerivative) {
          const derivative = s.stored.data.map(tanhActivation.dsigma);
          want = hostMatrix(rows, cols, want.data.map((w, i) => w * derivative[i]));
          magnitude = hostMatrix(rows, cols, magnitude.data.map((w, i) => w * Math.abs(derivative[i])));
        }
        const what = `${rows}×${cols}${withDerivative ? ' with σ′' : ''} into ${target}`;
        ctx.near('multiplierStep', what, await ctx.fetch(out.matrix), want, frobenius(magnitude), ctx.rel);
        await ctx.padding('multiplierStep', what, s, v, lambda, out);
      }
    }
  }
}

const LOSSES: readonly Loss[] = [squaredLoss, crossEntropy];
const LOSS_SHAPES: readonly (readonly [number, number])[] = [[1, 1], [10, 37], [7, 300]];

// ---- the table ----

const PACKED_GEMM = { a: 'packed', b: 'packed', c: 'packed' } as const;
/** gemm's packed shapes [m, n, k]: 1 × 1, odd sizes around a 64 tile, long k, and wide n (5000 columns). */
const GEMM_SHAPES: readonly (readonly [number, number, number])[] = [
  [1, 1, 1], [7, 13, 5], [13, 7, 1], [63, 65, 64], [65, 63, 33], [31, 17, 129], [64, 5000, 9], [64, 65, 5000],
];
const GRAM_SHAPES: readonly (readonly [number, number])[] = [[1, 1], [7, 13], [13, 7], [63, 65], [65, 64], [33, 5000], [130, 40]];
const CHOLESKY_SHAPES: readonly { n: number; condition: number; rhs: number }[] = [
  { n: 1, condition: 1, rhs: 3 },
  { n: 7, condition: 1e5, rhs: 1 },
  { n: 63, condition: 1e5, rhs: 17 },
  { n: 65, condition: 1e2, rhs: 2000 },
  { n: 65, condition: 1e5, rhs: 64 },
  { n: 130, condition: 1e5, rhs: 9 },
];
const PACKED_CHOLESKY = { m: 'packed', left: 'packed', right: 'packed' } as const;

export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  // ---- backend identity ----
  {
    group: 'backend identity',
    title: 'has a name, a precision and a description',
    ops: ['describe'],
    browser: true,
    async run({ backend, check }) {
      check.holds('describe', 'a name', /\S/.test(backend.name), JSON.stringify(backend.name));
      check.holds('describe', 'precision f32 or f64', backend.precision === 'f32' || backend.precision === 'f64', String(backend.precision));
      const text = backend.describe();
      check.holds('describe', `a description (${text})`, /\S/.test(text), JSON.stringify(text));
    },
  },

  // ---- memory ----
  {
    group: 'memory',
    title: 'allocates zero-filled matrices, 1×1 included',
    ops: ['alloc', 'download'],
    browser: true,
    async run(ctx) {
      for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
        const got = await ctx.fetch(ctx.alloc(rows, cols));
        ctx.check.equal('alloc', `${rows}×${cols} zero-filled`, got.data, new Float64Array(rows * cols));
      }
    },
  },
  {
    group: 'memory',
    title: 'round-trips upload and download: exactly for f32-representable values, within rel otherwise',
    ops: ['upload', 'download'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('round trip'));
      const exact = hostMatrix(7, 13, Array.from({ length: 91 }, (_, i) => (i - 45) / 8));
      ctx.check.equal('upload/download', '7×13 f32-representable values, exactly', (await ctx.place(exact)).stored.data, exact.data);
      // 63 × 65 (the suite's), then 33 × 65 (the page's before the table was shared).
      for (const [rows, cols] of [[63, 65], [33, 65]]) {
        for (const layout of ['packed', 'colPrefix', 'rowPrefix'] as const) {
          const h = randomMatrix(rng, rows, cols, 100);
          const placed = await ctx.place(h, layout);
          ctx.near('upload/download', `${rows}×${cols} random (${layout})`, placed.stored, h, frobenius(h), ctx.rel);
          await ctx.padding('upload', `${rows}×${cols} (${layout})`, placed);
        }
      }
    },
  },
  {
    group: 'memory',
    title: 'places a view at the leading block of its parent',
    ops: ['view', 'upload', 'download'],
    browser: true,
    async run({ backend, check, alloc }) {
      const parent = alloc(3, 4);
      backend.upload(backend.view(parent, 2, 3), [1, 2, 3, 4, 5, 6]);
      check.equal('view', 'upload into a 2×3 view of a 3×4 matrix', await backend.download(parent), [1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0]);
      check.equal('view', 'a 3×2 view of it', await backend.download(backend.view(parent, 3, 2)), [1, 2, 4, 5, 0, 0]);
      const nested = backend.view(backend.view(parent, 3, 3), 2, 2);
      check.equal('view', 'a 2×2 view of a 3×3 view', await backend.download(nested), [1, 2, 4, 5]);
    },
  },
  {
    group: 'memory',
    title: 'copies and fills, on views too',
    ops: ['copy', 'fill'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('copy fill'));
      for (const [rows, cols] of [[1, 1], [7, 13], [64, 65]]) {
        const src = await ctx.place(randomMatrix(rng, rows, cols), 'colPrefix');
        const dst = await ctx.garbage(rows, cols, 'rowPrefix');
        ctx.backend.copy(src.matrix, dst.matrix);
        ctx.check.equal('copy', `${rows}×${cols} view to view`, (await ctx.fetch(dst.matrix)).data, src.stored.data);
        ctx.backend.fill(src.matrix, -2.5);
        ctx.check.equal('fill', `${rows}×${cols} view with −2.5`, (await ctx.fetch(src.matrix)).data, new Float64Array(rows * cols).fill(-2.5));
        await ctx.padding('copy/fill', `${rows}×${cols}`, src, dst);
      }
    },
  },

  // ---- device scalars ----
  {
    group: 'device scalars',
    title: 'holds, reads and transforms values',
    ops: ['scalar', 'readScalar', 'scalarAffine'],
    browser: true,
    async run(ctx) {
      const { backend, check } = ctx;
      check.equal('scalar/readScalar', 'a new scalar is 0', await backend.readScalar(ctx.scalar()), 0);
      const s = ctx.scalar(3);
      check.equal('scalar/readScalar', 'holds 3', await backend.readScalar(s), 3);
      const out = ctx.scalar(123);
      backend.scalarAffine(out, s, -2, 0.5);
      check.equal('scalarAffine', 'out ← −2·3 + 0.5', await backend.readScalar(out), -5.5);
      backend.scalarAffine(s, s, 0.1, 1e-3);
      ctx.scalarNear('scalarAffine', 'in place: 0.1·3 + 1e-3', await backend.readScalar(s), 0.301, 0.301, ctx.rel);
    },
  },
  {
    group: 'device scalars',
    title: 'reads several scalars at once, in the order given (repeats included)',
    ops: ['readScalars'],
    browser: true,
    async run(ctx) {
      const { backend, check } = ctx;
      const [a, b, c] = [ctx.scalar(-1.5), ctx.scalar(0), ctx.scalar(1024)];
      const out = ctx.scalar();
      backend.scalarAffine(out, a, 2, 0.25); // pending work is part of the read
      check.equal('scalar/readScalars', 'in order, repeats included', await backend.readScalars([c, out, a, b, c]), [1024, -2.75, -1.5, 0, 1024]);
      check.equal('scalar/readScalars', 'none', await backend.readScalars([]), []);
    },
  },
  {
    group: 'device scalars',
    title: 'reads values as of the call: later work does not change what a pending read returns',
    ops: ['readScalars', 'readScalar', 'download'],
    browser: true,
    async run(ctx) {
      const { backend, check } = ctx;
      const s = ctx.scalar(2);
      const m = backend.alloc(2, 3);
      backend.fill(m, 1.5);
      const pending = Promise.all([backend.readScalars([s]), backend.readScalar(s), backend.download(m)]);
      backend.scalarAffine(s, s, 10, 0);
      backend.fill(m, -4);
      const [several, one, values] = await pending;
      check.equal('scalar/readScalars', 'a pending readScalars', several, [2]);
      check.equal('scalar/readScalar', 'a pending readScalar', one, 2);
      check.equal('download', 'a pending download', values, [1.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
      check.equal('scalar/readScalar', 'after the later work', await backend.readScalar(s), 20);
      check.equal('download', 'after the later work', await backend.download(m), [-4, -4, -4, -4, -4, -4]);
      backend.free(m);
    },
  },

  // ---- gemm: every transpose combination, packed and on views ----
  ...GEMM_SHAPES.flatMap(([m, n, k]) =>
    TRANSPOSES.map(([transA, transB]): ConformanceCase => ({
      group: 'gemm',
      title: `C (${m}×${n}) ← α op(A) op(B) + β C, k = ${k}, ${flags(transA, transB)}`,
      ops: ['gemm'],
      browser: m === 7 && n === 13 && k === 5 && !transA && !transB,
      run: (ctx) => checkGemm(ctx, m, n, k, transA, transB, PACKED_GEMM),
    })),
  ),
  ...TRANSPOSES.map(([transA, transB]): ConformanceCase => ({
    group: 'gemm',
    title: `honours views (ld > cols and row prefixes) as inputs and outputs, ${flags(transA, transB)}`,
    ops: ['gemm'],
    browser: true,
    async run(ctx) {
      await checkGemm(ctx, 33, 17, 65, transA, transB, { a: 'colPrefix', b: 'rowPrefix', c: 'colPrefix' });
      await checkGemm(ctx, 17, 33, 63, transA, transB, { a: 'rowPrefix', b: 'colPrefix', c: 'rowPrefix' });
    },
  })),
  // The shapes of Algorithm 1: W·A with n = 600 samples, and G·Aᵀ reducing over n = 2000 (split along k).
  {
    group: 'gemm',
    title: 'C (16×600) ← α op(A) op(B) + β C, k = 17, NN, A a row-prefix view (W·A over 600 samples)',
    ops: ['gemm'],
    browser: true,
    run: (ctx) => checkGemm(ctx, 16, 600, 17, false, false, { a: 'rowPrefix', b: 'packed', c: 'packed' }),
  },
  {
    group: 'gemm',
    title: 'C (16×17) ← α op(A) op(B) + β C, k = 2000, NT (G·Aᵀ reducing over 2000 samples)',
    ops: ['gemm'],
    browser: true,
    run: (ctx) => checkGemm(ctx, 16, 17, 2000, false, true, PACKED_GEMM),
  },

  // ---- gram ----
  ...GRAM_SHAPES.flatMap(([n, k]) =>
    [false, true].map((transA): ConformanceCase => ({
      group: 'gram',
      title: `C (${n}×${n}) ← α ${transA ? 'AᵀA' : 'AAᵀ'} + β C, k = ${k}`,
      ops: ['gram'],
      browser: false,
      run: (ctx) => checkGram(ctx, n, k, transA, { a: 'packed', c: 'packed' }),
    })),
  ),
  {
    group: 'gram',
    title: 'honours views as input and output',
    ops: ['gram'],
    browser: true,
    async run(ctx) {
      for (const transA of [false, true]) {
        await checkGram(ctx, 33, 65, transA, { a: 'colPrefix', c: 'rowPrefix' });
        await checkGram(ctx, 17, 63, transA, { a: 'rowPrefix', c: 'colPrefix' });
      }
    },
  },
  {
    group: 'gram',
    title: 'a view as input, a packed output (33×33 from AAᵀ, k = 65; 7×7 from AᵀA, k = 13)',
    ops: ['gram'],
    browser: true,
    async run(ctx) {
      await checkGram(ctx, 33, 65, false, { a: 'colPrefix', c: 'packed' });
      await checkGram(ctx, 7, 13, true, { a: 'rowPrefix', c: 'packed' });
    },
  },
  {
    group: 'gram',
    title: 'C (17×17) ← α AAᵀ + β C, k = 2000 (a long reduction, as over 2000 samples)',
    ops: ['gram'],
    browser: true,
    run: (ctx) => checkGram(ctx, 17, 2000, false, { a: 'packed', c: 'packed' }),
  },

  // ---- elementwise linear algebra ----
  {
    group: 'elementwise linear algebra',
    title: 'shiftedScale: out ← c·S + shift·I, separately and in place',
    ops: ['shiftedScale'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('shiftedScale'));
      for (const n of [1, 7, 65]) {
        for (const inPlace of [false, true]) {
          const s = await ctx.place(randomMatrix(rng, n, n), 'colPrefix');
          const c = ctx.scalar(-1.7);
          const cValue = await ctx.backend.readScalar(c);
          const out = inPlace ? s : await ctx.garbage(n, n, 'rowPrefix');
          ctx.backend.shiftedScale(s.matrix, c, 0.3, out.matrix);
          const want = combine(cValue, s.stored, 0.3, identity(n));
          const scale = Math.abs(cValue) * frobenius(s.stored) + 0.3 * Math.sqrt(n);
          const what = `n=${n}${inPlace ? ' in place' : ''}`;
          ctx.near('shiftedScale', what, await ctx.fetch(out.matrix), want, scale, ctx.rel);
          await ctx.padding('shiftedScale', what, s, out);
        }
      }
    },
  },
  {
    group: 'elementwise linear algebra',
    title: 'axpby: Y ← αX + βY',
    ops: ['axpby'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('axpby'));
      for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
        for (const [alpha, beta] of [[2, -0.5], [-1, 1], [0.25, 0]]) {
          const x = await ctx.place(randomMatrix(rng, rows, cols), 'colPrefix');
          const y = await ctx.place(randomMatrix(rng, rows, cols), 'rowPrefix');
          ctx.backend.axpby(alpha, x.matrix, beta, y.matrix);
          const want = combine(alpha, x.stored, beta, y.stored);
          const scale = Math.abs(alpha) * frobenius(x.stored) + Math.abs(beta) * frobenius(y.stored);
          const what = `${rows}×${cols} α=${alpha} β=${beta}`;
          ctx.near('axpby', what, await ctx.fetch(y.matrix), want, scale, ctx.rel);
          await ctx.padding('axpby', what, x, y);
        }
      }
    },
  },
  {
    group: 'elementwise linear algebra',
    title: 'adamStep: moments and weights of one Adam step, on views',
    ops: ['adamStep'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('adamStep'));
      // [rows, cols, step]: steps 1 and 7 on three shapes, then step 3 on 7 × 13 (the page's before the table).
      const configs = [[1, 1, 1], [1, 1, 7], [7, 13, 1], [7, 13, 7], [65, 63, 1], [65, 63, 7], [7, 13, 3]];
      for (const [rows, cols, step] of configs) {
        const options = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step };
        const g = await ctx.place(randomMatrix(rng, rows, cols), 'colPrefix');
        const m = await ctx.place(randomMatrix(rng, rows, cols, 0.1), 'rowPrefix');
        const v = await ctx.place(absolute(randomMatrix(rng, rows, cols, 0.01)));
        const w = await ctx.place(randomMatrix(rng, rows, cols), 'colPrefix');
        ctx.backend.adamStep(g.matrix, m.matrix, v.matrix, w.matrix, options);
        const want = refAdamStep(g.stored, m.stored, v.stored, w.stored, options);
        const what = `${rows}×${cols} t=${step}`;
        ctx.near('adamStep', `${what} M`, await ctx.fetch(m.matrix), want.m, frobenius(want.m) + frobenius(g.stored), ctx.rel);
        ctx.near('adamStep', `${what} V`, await ctx.fetch(v.matrix), want.v, frobenius(want.v) + frobenius(g.stored) ** 2, ctx.rel);
        // Each entry of the update is lr · m̂/(√v̂ + ε), of size up to lr · O(1): scale by lr per entry.
        ctx.near('adamStep', `${what} W`, await ctx.fetch(w.matrix), want.w, frobenius(want.w) + options.learningRate * Math.sqrt(rows * cols) * 10, ctx.rel);
        await ctx.padding('adamStep', what, g, m, w, v);
      }
    },
  },

  // ---- Cholesky and solves ----
  ...CHOLESKY_SHAPES.map(({ n, condition, rhs }): ConformanceCase => ({
    group: 'Cholesky and solves',
    title: `factors and solves, n = ${n}, κ = ${condition}, ${rhs} right-hand sides`,
    ops: ['cholesky', 'solveLeft', 'solveRight'],
    browser: false,
    run: (ctx) => checkCholesky(ctx, n, condition, rhs, PACKED_CHOLESKY),
  })),
  {
    group: 'Cholesky and solves',
    title: 'factors and solves, n = 7, κ = 1000, 3 right-hand sides',
    ops: ['cholesky', 'solveLeft', 'solveRight'],
    browser: true,
    run: (ctx) => checkCholesky(ctx, 7, 1e3, 3, PACKED_CHOLESKY),
  },
  {
    group: 'Cholesky and solves',
    title: 'honours views for the matrix, its factor and the right-hand sides',
    ops: ['cholesky', 'solveLeft', 'solveRight'],
    browser: false,
    async run(ctx) {
      await checkCholesky(ctx, 65, 1e5, 7, { m: 'colPrefix', left: 'colPrefix', right: 'rowPrefix' });
      await checkCholesky(ctx, 63, 1e3, 11, { m: 'rowPrefix', left: 'rowPrefix', right: 'colPrefix' });
    },
  },
  {
    // Larger than a Cholesky block (32 or 64): the blocked factorisation and solves, on views.
    group: 'Cholesky and solves',
    title: 'factors and solves on views, n = 70 (more than one block), κ = 1000, 24 right-hand sides',
    ops: ['cholesky', 'solveLeft', 'solveRight'],
    browser: true,
    run: (ctx) => checkCholesky(ctx, 70, 1e3, 24, { m: 'colPrefix', left: 'colPrefix', right: 'rowPrefix' }),
  },
  {
    group: 'Cholesky and solves',
    title: 'reports a non-positive pivot as NotPositiveDefiniteError, and stays usable',
    ops: ['cholesky', 'sync'],
    browser: true,
    async run(ctx) {
      const diagonal = hostMatrix(4, 4);
      [1, 2, -3, 4].forEach((v, i) => (diagonal.data[i * 4 + i] = v));
      await checkNotPositiveDefinite(ctx, 'diag(1, 2, −3, 4)', diagonal, 2, -3);
      await checkNotPositiveDefinite(ctx, 'zero 3×3', hostMatrix(3, 3), 0, 0);
      await checkNotPositiveDefinite(ctx, 'NaN pivot', hostMatrix(2, 2, [NaN, 0, 0, 1]), 0);
      const rng = createRng(seedFor('indefinite'));
      const spd = randomSpd(rng, 70, 10);
      const indefinite = combine(1, spd, 0, spd);
      for (let i = 0; i < 70; i++) indefinite.data[i * 70 + i] -= 0.5;
      await checkNotPositiveDefinite(ctx, '70×70 indefinite', indefinite);

      const m = await ctx.place(randomSpd(rng, 9, 10));
      ctx.backend.cholesky(m.matrix);
      await ctx.backend.sync();
      const l = lowerTriangle(await ctx.fetch(m.matrix));
      ctx.near('cholesky', 'n=9 after a failed factorisation', multiply(l, transpose(l)), m.stored, frobenius(m.stored), ctx.sized(9));
    },
  },

  // ---- activation steps ----
  {
    group: 'activation steps',
    title: 'activate: out ← σ(Z), separately and in place, on views',
    ops: ['activate'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('activate'));
      for (const [rows, cols] of [[1, 1], [7, 13], [65, 63]]) {
        for (const inPlace of [false, true]) {
          const z = await ctx.place(randomMatrix(rng, rows, cols, 3), 'colPrefix');
          const out = inPlace ? z : await ctx.garbage(rows, cols, 'rowPrefix');
          ctx.backend.activate(tanhActivation, z.matrix, out.matrix);
          const want = sigma(z.stored);
          const what = `${rows}×${cols}${inPlace ? ' in place' : ''}`;
          ctx.near('activate', what, await ctx.fetch(out.matrix), want, frobenius(want), ctx.rel);
          await ctx.padding('activate', what, z, out);
        }
      }
    },
  },
  {
    group: 'activation steps',
    title: 'multiplierStep: out ← Λ + β(σ(S) − V) [⊙ σ′(S)], with out separate or aliasing Λ, V or S',
    ops: ['prepareActivation', 'multiplierStep'],
    // Node only: its 1 × 1 with σ′ into Λ needs WebGPU's 2e-6 (see test/webgpu-backend.test.ts: transcendental
    // builtins), more than the page's 1e-6; the page runs the case below.
    browser: false,
    run: (ctx) => checkMultiplierStep(ctx, 'multiplierStep', [[1, 1, ALL_TARGETS], [7, 13, ALL_TARGETS], [65, 63, ALL_TARGETS]]),
  },
  {
    group: 'activation steps',
    title: 'multiplierStep on 7×13 (out separate or aliasing Λ, V or S) and 65×63 (out separate or aliasing Λ)',
    ops: ['prepareActivation', 'multiplierStep'],
    browser: true,
    run: (ctx) => checkMultiplierStep(ctx, 'multiplierStep', [[7, 13, ALL_TARGETS], [65, 63, ['separate', 'lambda']]]),
  },

  // ---- reductions ----
  {
    group: 'reductions',
    title: 'sumSquares and dot, on views',
    ops: ['sumSquares', 'dot'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('sums'));
      // 64 × 2000 last: the page's size before the table was shared.
      for (const [rows, cols] of [[1, 1], [7, 13], [64, 5000], [64, 2000]]) {
        const a = await ctx.place(randomMatrix(rng, rows, cols), 'colPrefix');
        const b = await ctx.place(randomMatrix(rng, rows, cols), 'rowPrefix');
        const out = ctx.scalar();
        ctx.backend.sumSquares(out, a.matrix);
        const squares = frobenius(a.stored) ** 2;
        ctx.scalarNear('sumSquares', `${rows}×${cols} view`, await ctx.backend.readScalar(out), squares, squares, ctx.sized(rows * cols));
        ctx.backend.dot(out, a.matrix, b.matrix);
        let dot = 0;
        let magnitude = 0;
        a.stored.data.forEach((v, i) => {
          dot += v * b.stored.data[i];
          magnitude += Math.abs(v * b.stored.data[i]);
        });
        ctx.scalarNear('dot', `${rows}×${cols} views`, await ctx.backend.readScalar(out), dot, magnitude, ctx.sized(rows * cols));
      }
    },
  },
  {
    group: 'reductions',
    title: 'maxAbs of A and of A + s·B, on views',
    ops: ['maxAbs'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('maxAbs'));
      for (const [rows, cols] of [[1, 1], [7, 13], [64, 5000], [64, 2000]]) {
        const a = await ctx.place(randomMatrix(rng, rows, cols, 5), 'colPrefix');
        const b = await ctx.place(randomMatrix(rng, rows, cols, 5), 'rowPrefix');
        const out = ctx.scalar();
        ctx.backend.maxAbs(out, a.matrix);
        ctx.check.equal('maxAbs', `${rows}×${cols} max |A| (exact)`, await ctx.backend.readScalar(out), largestMagnitude(a.stored));
        const scaleB = -1 / 2.5;
        ctx.backend.maxAbs(out, a.matrix, b.matrix, scaleB);
        const want = largestMagnitude(combine(1, a.stored, scaleB, b.stored));
        ctx.scalarNear('maxAbs', `${rows}×${cols} max |A − 0.4 B|`, await ctx.backend.readScalar(out), want, want, ctx.rel);
      }
    },
  },
  {
    group: 'reductions',
    title: 'maxAbs propagates NaN from anywhere in A or B, and Infinity',
    ops: ['maxAbs'],
    browser: true,
    async run(ctx) {
      const rng = createRng(seedFor('maxAbs NaN'));
      const [rows, cols] = [65, 63];
      for (const where of [0, 1, 2000, rows * cols - 1]) {
        for (const inB of [false, true]) {
          const a = randomMatrix(rng, rows, cols);
          const b = randomMatrix(rng, rows, cols);
          (inB ? b : a).data[where] = NaN;
          const out = ctx.scalar();
          const A = await ctx.place(a, 'colPrefix');
          const B = await ctx.place(b);
          ctx.backend.maxAbs(out, A.matrix, B.matrix, 0.5);
          const got = await ctx.backend.readScalar(out);
          ctx.check.holds('maxAbs', `a NaN at ${where} of ${inB ? 'B' : 'A'} gives NaN`, Number.isNaN(got), `got ${got}`);
          if (!inB) {
            ctx.backend.maxAbs(out, A.matrix);
            const alone = await ctx.backend.readScalar(out);
            ctx.check.holds('maxAbs', `a NaN at ${where} of A alone gives NaN`, Number.isNaN(alone), `got ${alone}`);
          }
        }
      }
      const a = randomMatrix(rng, 7, 13);
      a.data[50] = -Infinity;
      const out = ctx.scalar();
      ctx.backend.maxAbs(out, (await ctx.place(a)).matrix);
      ctx.check.equal('maxAbs', 'a −Infinity gives Infinity', await ctx.backend.readScalar(out), Infinity);
    },
  },

  // ---- loss steps ----
  {
    group: 'loss steps',
    title: 'lossValue: Σ_c ℓ(v_c; y_c), deterministic, on views (large logits included)',
    ops: ['lossValue'],
    browser: true,
    async run(ctx) {
      for (const loss of LOSSES) {
        const rng = createRng(seedFor(`lossValue ${loss.name}`));
        for (const [rows, cols] of LOSS_SHAPES) {
          const v = await ctx.place(lossInputs(rng, rows, cols, 5), 'colPrefix');
          const y = await ctx.place(lossTargets(loss, rng, rows, cols), 'rowPrefix');
          const out = ctx.scalar(123);
          ctx.backend.lossValue(loss, v.matrix, y.matrix, out);
          const got = await ctx.backend.readScalar(out);
          const want = refLossValue(loss, v.stored, y.stored);
          const what = `${loss.name} ${rows}×${cols}`;
          ctx.scalarNear('lossValue', what, got, want.value, want.magnitude, ctx.sized(rows * cols));
          ctx.backend.lossValue(loss, v.matrix, y.matrix, out);
          ctx.check.equal('lossValue', `${what} repeated`, await ctx.backend.readScalar(out), got);
          await ctx.padding('lossValue', what, v, y);
        }
      }
    },
  },
  {
    group: 'loss steps',
    title: 'lossGradient: ∇ℓ column by column, into a separate output or in place, on views',
    ops: ['lossGradient'],
    browser: true,
    async run(ctx) {
      for (const loss of LOSSES) {
        const rng = createRng(seedFor(`lossGradient ${loss.name}`));
        for (const [rows, cols] of LOSS_SHAPES) {
          for (const inPlace of [false, true]) {
            const v = await ctx.place(lossInputs(rng, rows, cols, 5), 'colPrefix');
            const y = await ctx.place(lossTargets(loss, rng, rows, cols), 'rowPrefix');
            const out = inPlace ? v : await ctx.garbage(rows, cols, 'rowPrefix');
            ctx.backend.lossGradient(loss, v.matrix, y.matrix, out.matrix);
            const want = refLossGradient(loss, v.stored, y.stored);
            const what = `${loss.name} ${rows}×${cols}${inPlace ? ' in place' : ''}`;
            ctx.near('lossGradient', what, await ctx.fetch(out.matrix), want, frobenius(want) + frobenius(y.stored), ctx.sized(rows));
            await ctx.padding('lossGradient', what, v, y, out);
          }
        }
      }
    },
  },
  ...LOSSES.flatMap((loss) =>
    [0.1, 2].map((beta): ConformanceCase => ({
      group: 'loss steps',
      title: `lossProx ${loss.name}, β = ${beta}: optimal per column, as the f64 iteration, on views`,
      ops: loss === crossEntropy ? ['prepareLoss', 'lossProx'] : ['lossProx'],
      browser: false,
      async run(ctx) {
        if (loss === crossEntropy) await ctx.backend.prepareLoss(loss, 10);
        for (const [rows, cols] of LOSS_SHAPES) await checkProx(ctx, loss, rows, cols, beta, { t: 'colPrefix', y: 'rowPrefix', v: 'colPrefix' });
        await checkProx(ctx, loss, 10, 37, beta, { t: 'rowPrefix', y: 'colPrefix', v: 'rowPrefix' });
      },
    })),
  ),
  {
    // Inputs from seedFor(`loss steps name rows cols`): V = lossInputs (±50 in column 0), Y the loss's targets, then
    // T = lossInputs; the prox starts from V as lossValue and lossGradient saw it.
    group: 'loss steps',
    title: 'lossValue, lossGradient and lossProx (β = 0.5, from V) on one set of views, 10×37 and 3×2000',
    ops: ['prepareLoss', 'lossValue', 'lossGradient', 'lossProx'],
    browser: true,
    async run(ctx) {
      await ctx.backend.prepareLoss(crossEntropy, 10);
      for (const loss of LOSSES) {
        for (const [rows, cols] of [[10, 37], [3, 2000]]) {
          const rng = createRng(seedFor(`loss steps ${loss.name} ${rows} ${cols}`));
          const v = await ctx.place(lossInputs(rng, rows, cols, 5), 'colPrefix');
          const y = await ctx.place(lossTargets(loss, rng, rows, cols), 'rowPrefix');
          const what = `${loss.name} ${rows}×${cols} views`;
          const out = ctx.scalar();
          ctx.backend.lossValue(loss, v.matrix, y.matrix, out);
          const want = refLossValue(loss, v.stored, y.stored);
          ctx.scalarNear('lossValue', what, await ctx.backend.readScalar(out), want.value, want.magnitude, ctx.sized(rows * cols));

          const gradient = await ctx.garbage(rows, cols, 'rowPrefix');
          ctx.backend.lossGradient(loss, v.matrix, y.matrix, gradient.matrix);
          const wantGradient = refLossGradient(loss, v.stored, y.stored);
          ctx.near('lossGradient', what, await ctx.fetch(gradient.matrix), wantGradient, frobenius(wantGradient) + frobenius(y.stored), ctx.sized(rows));

          const beta = 0.5;
          const t = await ctx.place(lossInputs(rng, rows, cols, 5), 'rowPrefix');
          ctx.backend.lossProx(loss, t.matrix, y.matrix, beta, v.matrix);
          proxChecks(ctx, loss, `${what}, β=${beta}`, beta, t.stored, y.stored, v.stored, await ctx.fetch(v.matrix));
          await ctx.padding('loss steps', what, v, y, gradient, t);
        }
      }
    },
  },
  {
    // 70000 columns: more than the 1024 workgroups × 64 threads of one WebGPU dispatch (the kernels' grid-stride
    // loops), and several column chunks when the backend splits matrices.
    group: 'loss steps',
    title: 'lossValue, lossGradient and lossProx over 70000 columns',
    ops: ['lossValue', 'lossGradient', 'lossProx'],
    browser: false,
    async run(ctx) {
      const [rows, cols] = [3, 70000];
      for (const loss of LOSSES) {
        const rng = createRng(seedFor(`loss steps large ${loss.name}`));
        const v = await ctx.place(lossInputs(rng, rows, cols, 5));
        const y = await ctx.place(lossTargets(loss, rng, rows, cols));
        const out = ctx.scalar();
        ctx.backend.lossValue(loss, v.matrix, y.matrix, out);
        const want = refLossValue(loss, v.stored, y.stored);
        ctx.scalarNear('lossValue', `${loss.name} ${rows}×${cols}`, await ctx.backend.readScalar(out), want.value, want.magnitude, ctx.sized(rows * cols));
        const gradient = await ctx.garbage(rows, cols);
        ctx.backend.lossGradient(loss, v.matrix, y.matrix, gradient.matrix);
        const wantGradient = refLossGradient(loss, v.stored, y.stored);
        ctx.near('lossGradient', `${loss.name} ${rows}×${cols}`, await ctx.fetch(gradient.matrix), wantGradient, frobenius(wantGradient) + frobenius(y.stored), ctx.sized(rows));
        await checkProx(ctx, loss, rows, cols, 1, { t: 'packed', y: 'packed', v: 'packed' });
      }
    },
  },

  // ---- error paths ----
  {
    group: 'shape errors',
    title: 'throws RangeError naming the op',
    ops: [],
    browser: true,
    async run(ctx) {
      const { backend, alloc } = ctx;
      const [a23, a32, a33, a22, b23, c23] = [alloc(2, 3), alloc(3, 2), alloc(3, 3), alloc(2, 2), alloc(2, 3), alloc(2, 3)];
      const s = ctx.scalar();
      const calls: [RegExp, () => void][] = [
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
      calls.forEach(([name, call], i) => {
        const error = thrown(call);
        ctx.check.holds(
          'shape errors',
          `call ${i + 1} throws a RangeError matching ${name}`,
          error instanceof RangeError && name.test(error.message),
          describeError(error),
        );
      });
    },
  },
];

/** The table's groups in order, each with its cases (the Node suite's describe blocks). */
export function caseGroups(cases: readonly ConformanceCase[] = CONFORMANCE_CASES): [string, ConformanceCase[]][] {
  const groups = new Map<string, ConformanceCase[]>();
  for (const c of cases) {
    const list = groups.get(c.group) ?? [];
    list.push(c);
    groups.set(c.group, list);
  }
  return [...groups];
}
