/**
 * The backend conformance cases in a page: the rows of the shared table (../../conformance/cases.ts) marked
 * `browser` (its SwiftShader-sized subset), run against any Backend (navigator.gpu's WebGpuBackend in the tests),
 * with the f64 references computed in the page too. Returns one record per check, {op, case, error, bound}, and one
 * per case of the table: the caller asserts error ≤ bound. The backend is wrapped so that the report lists which of
 * its methods were actually called (every Backend method is, over the subset and the lifecycle calls here).
 */
import type { Backend } from '@nladmm/core';
import { type Checks, CONFORMANCE_CASES, type ConformanceCase, caseContext } from '../../conformance/cases.ts';

export interface CheckResult {
  readonly op: string;
  readonly case: string;
  readonly error: number;
  readonly bound: number;
  /** The title of the table case the check belongs to. */
  readonly from: string;
  /** Wall time since the previous record (the op, its set-up and its read-back), in ms. */
  readonly ms: number;
  /** For a backend with runtime counters (WebGpuBackend.stats): pipelines created, dispatches and submits since the previous record. */
  readonly counters?: { pipelines: number; dispatches: number; submits: number };
}

/** One case of the table as it ran in the page. */
export interface CaseResult {
  readonly group: string;
  readonly title: string;
  readonly ops: readonly string[];
  /** Checks recorded, and how many of them failed (error > bound). */
  readonly checks: number;
  readonly failed: number;
  /** The largest error / bound over its checks (a check with bound 0 counts as 0 when exact, Infinity otherwise). */
  readonly worst: number;
  /** What the case threw, if it did not finish (recorded as a failed check too). */
  readonly threw?: string;
  readonly ms: number;
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
  readonly cases: CaseResult[];
  /** Backend methods called during the checks (sorted). */
  readonly opsCalled: string[];
  /** Wall time of each group of cases, in ms. */
  readonly timings: Record<string, number>;
  readonly durationMs: number;
}

/** The cases the page runs: the table's `browser` rows, in table order. */
export const BROWSER_CASES: readonly ConformanceCase[] = CONFORMANCE_CASES.filter((c) => c.browser);

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

/** Entries that differ (Object.is), or Infinity when the lengths do. */
function mismatches(got: number | ArrayLike<number>, want: number | ArrayLike<number>): number {
  const g = typeof got === 'number' ? [got] : got;
  const w = typeof want === 'number' ? [want] : want;
  if (g.length !== w.length) return Infinity;
  let count = 0;
  for (let i = 0; i < g.length; i++) if (!Object.is(g[i], w[i])) count++;
  return count;
}

/** Runs the cases; disposes the backend at the end (dispose is one of the ops). */
export async function runConformance(target: Backend, rel: number): Promise<ConformanceReport> {
  const started = performance.now();
  const description = target.describe();
  const called = new Set<string>();
  const backend = recording(target, called);
  const results: CheckResult[] = [];
  const cases: CaseResult[] = [];
  const timings: Record<string, number> = {};
  let current = '';
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
    results.push({ op, case: what, error: Number.isNaN(error) ? Infinity : error, bound, from: current, ms: now - lastRecord, ...(delta ? { counters: delta } : {}) });
    lastRecord = now;
    lastCounters = counters;
  };
  const checks: Checks = {
    within: (op, what, error, bound) => record(op, what, error, bound),
    equal: (op, what, got, want) => record(op, `${what} (entries that differ)`, mismatches(got, want), 0),
    holds: (op, what, ok, detail) => record(op, ok || !detail ? what : `${what}: ${detail}`, ok ? 0 : 1, 0),
  };

  for (const c of BROWSER_CASES) {
    current = c.title;
    const caseStart = performance.now();
    const first = results.length;
    const { ctx, release } = caseContext(backend, rel, checks);
    let threw: string | undefined;
    try {
      await c.run(ctx);
    } catch (err) {
      threw = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      record(c.ops[0] ?? c.group, `threw ${threw}`, Infinity, 0);
    } finally {
      release();
    }
    const own = results.slice(first);
    const ratio = (r: CheckResult): number => (r.bound > 0 ? r.error / r.bound : r.error > 0 ? Infinity : 0);
    const ms = performance.now() - caseStart;
    cases.push({
      group: c.group,
      title: c.title,
      ops: c.ops,
      checks: own.length,
      failed: own.filter((r) => !(r.error <= r.bound)).length,
      worst: own.reduce((w, r) => Math.max(w, ratio(r)), 0),
      ...(threw ? { threw } : {}),
      ms,
    });
    timings[c.group] = (timings[c.group] ?? 0) + ms;
  }

  await backend.sync();
  backend.dispose();
  return {
    backend: description,
    precision: target.precision,
    results,
    cases,
    opsCalled: [...called].sort(),
    timings,
    durationMs: performance.now() - started,
  };
}
