// Native BLAS backend benchmark (a script, not a test: prints figures, asserts nothing). In one run, on one machine:
//  - per-iteration time of Algorithm 1 on `cpu` (the JavaScript reference) and `blas`, f64 and f32, for
//    784-256-256-10 and 784-1000-1000-10 at n = 10000 and 60000 (a cell estimated over a minute per iteration is
//    skipped, and says so);
//  - per-kernel GFLOP/s at the shapes of an iteration (n = 10000), each GEMM against the library's own square GEMM
//    of the same flop count;
//  - peak RSS of 784-1000-1000-10 at n = 60000 in f32 on blas, in a fresh child process, against the bytes of the
//    matrices the solver allocates;
//  - the issue's targets, checked against these figures.
//
// Usage: pnpm exec tsx scripts/bench-blas.ts [--out FILE.json] [--quick] [--only admm,kernels] [--threads T]
//        [--lambda 1e-4] [--max-iteration-s 60] [--repeats 3]
//
// --out: also write every figure as JSON. --quick: small shapes (64-32-32-10 and 64-128-128-10 at n = 1000, 2000;
// kernels at n = 1000), a smoke run of every code path in well under a minute. --only: the sections to run (default
// both). --threads: the blas backend's thread count (default: NLADMM_THREADS, else the cores). --lambda: λ of the
// problem (default 1e-4, as scripts/bench-admm.ts; a cell whose Cholesky fails at it, as f32 ones do at n = 60000 and
// on 784-1000-1000-10, is timed at λ = 1 and says so: the work of an iteration does not depend on λ).
// --max-iteration-s: the skip threshold. --repeats: the kernels' best-of count (default 3; more on a noisy machine).
// Hidden: --rss-child FILE --cell BACKEND:PRECISION:LAYERS:N runs one cell and writes its result to FILE (how the
// parent measures peak RSS in a process no earlier cell has touched).
//
// Timing: per cell, the solver is built on random data (X uniform in [0, 1), Y one-hot; sigmoid, β = 1, biases, paper
// step rule, MSRA init seed 1), one warm-up step runs, then 1–5 steps (fewer for slow cells, ≈ 30 s of steps) are
// timed one by one and the median is reported. Kernels: best of --repeats (3) runs after a warm-up run (one untimed
// preparation each where the kernel works in place).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AdmmSolver, type Backend, type Matrix, type Precision, Rng, type TrainingData, hostMatrix, paperStepRule } from '@nladmm/core';
import { sigmoid } from '@nladmm/activations';
import { BlasBackend } from '@nladmm/blas-backend';
import { CpuBackend } from '@nladmm/cpu-backend';
import { benchArgs } from './benchArgs.ts';

const { values: cli } = benchArgs('bench-blas', '[--out FILE.json] [--quick] [--only admm,kernels] [--threads T] [--lambda 1e-4] [--max-iteration-s 60] [--repeats 3]', {
  options: {
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    threads: { type: 'integer', min: 1 },
    lambda: { type: 'number', default: 1e-4 },
    'max-iteration-s': { type: 'number', default: 60 },
    repeats: { type: 'integer', min: 1, default: 3 },
    'rss-child': { type: 'string' },
    cell: { type: 'string' },
  },
});
const quick = cli.quick;
const out = cli.out;
const threads = cli.threads;
const lambda = cli.lambda;
const maxIterationS = cli['max-iteration-s'];
const repeats = cli.repeats;
const childResultFile = cli['rss-child'];
const SECTIONS = ['admm', 'kernels'];
const sections = cli.only?.split(',') ?? SECTIONS;
for (const section of sections) if (!SECTIONS.includes(section)) throw new Error(`--only takes sections among ${SECTIONS.join(', ')}, got '${section}'`);

/** A full garbage collection (node's --expose-gc, switched on from inside): frees dropped matrices between cells. */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

// ---- the shapes ----

/** The two networks (d_0 … d_N) and the sample counts; the kernels run at the first sample count. */
const NETS = quick ? [[64, 32, 32, 10], [64, 128, 128, 10]] : [[784, 256, 256, 10], [784, 1000, 1000, 10]];
const SAMPLES = quick ? [1000, 2000] : [10000, 60000];
const KERNEL_N = SAMPLES[0];
type BackendName = 'cpu' | 'blas';
const BACKENDS: readonly BackendName[] = ['cpu', 'blas'];
const PRECISIONS: readonly Precision[] = ['f64', 'f32'];

interface CellSpec {
  readonly layers: readonly number[];
  readonly n: number;
  readonly backend: BackendName;
  readonly precision: Precision;
}
/** The cell whose peak RSS is the target's (run in a fresh child process). */
const RSS_CELL: CellSpec = { layers: NETS[1], n: SAMPLES[1], backend: 'blas', precision: 'f32' };
/** The cell of the speedup targets. */
const SPEEDUP_NET = NETS[0];
const SPEEDUP_N = SAMPLES[0];

const netName = (layers: readonly number[]): string => layers.join('-');
const cellName = (c: CellSpec): string => `${c.backend} ${c.precision} ${netName(c.layers)} n=${c.n}`;
const sameCell = (a: CellSpec, b: CellSpec): boolean => a.backend === b.backend && a.precision === b.precision && a.n === b.n && netName(a.layers) === netName(b.layers);

/** One dense call of an iteration: the shape it runs at and what it is in Algorithm 1. */
type Op =
  /** `accumulate`: β ≠ 0 in admm.ts (C is read and added to), which the timing uses too (β = 0 makes the library clear C first). */
  | { kind: 'gemm'; m: number; n: number; k: number; transA: boolean; transB: boolean; accumulate: boolean; what: string }
  | { kind: 'gram'; order: number; k: number; transA: boolean; what: string }
  | { kind: 'cholesky'; order: number; what: string }
  | { kind: 'solveLeft' | 'solveRight'; order: number; rhs: number; what: string };

/**
 * The dense calls of one iteration of Algorithm 1 (AdmmSolver.step with biases: W_N … W_1, V_1 … V_N, Λ), in the
 * order packages/core/src/admm.ts makes them. The elementwise steps are left out (they do no products).
 */
function iterationOps(layers: readonly number[], n: number): Op[] {
  const d = layers;
  const N = d.length - 1;
  const ops: Op[] = [];
  for (let i = N; i >= 1; i--) {
    const fanIn = d[i - 1] + 1;
    ops.push({ kind: 'gemm', m: d[i], n: fanIn, k: n, transA: false, transB: true, accumulate: true, what: `G Ãᵀ (W${i} right-hand side)` });
    if (i > 1) ops.push({ kind: 'gram', order: fanIn, k: n, transA: false, what: `Ã Ãᵀ (W${i} system)` });
    ops.push({ kind: 'cholesky', order: fanIn, what: `W${i} system` });
    ops.push({ kind: 'solveRight', order: fanIn, rhs: d[i], what: `W${i} solve` });
  }
  const woodbury = d[N] < d[N - 1];
  for (let j = 1; j < N; j++) {
    ops.push({ kind: 'gemm', m: d[j], n, k: d[j - 1] + 1, transA: false, transB: false, accumulate: false, what: `W${j} Ṽ${j - 1} (S${j})` });
    ops.push({ kind: 'gemm', m: d[j + 1], n, k: d[j] + 1, transA: false, transB: false, accumulate: false, what: `W${j + 1} Ṽ${j} (V${j} gradient)` });
    ops.push({ kind: 'gemm', m: d[j], n, k: d[j + 1], transA: true, transB: false, accumulate: true, what: `W̄${j + 1}ᵀ G (V${j} right-hand side)` });
    if (j === N - 1 && woodbury) {
      ops.push({ kind: 'gemm', m: d[N], n, k: d[j], transA: false, transB: false, accumulate: false, what: `W̄${N} R (Woodbury)` });
      ops.push({ kind: 'gram', order: d[N], k: d[j], transA: false, what: `W̄${N} W̄${N}ᵀ (Woodbury system)` });
      ops.push({ kind: 'cholesky', order: d[N], what: 'Woodbury system' });
      ops.push({ kind: 'solveLeft', order: d[N], rhs: n, what: 'Woodbury solve' });
      ops.push({ kind: 'gemm', m: d[j], n, k: d[N], transA: true, transB: false, accumulate: true, what: `W̄${N}ᵀ K⁻¹W̄R (Woodbury)` });
    } else {
      ops.push({ kind: 'gram', order: d[j], k: d[j + 1], transA: true, what: `W̄${j + 1}ᵀ W̄${j + 1} (V${j} system)` });
      ops.push({ kind: 'cholesky', order: d[j], what: `V${j} system` });
      ops.push({ kind: 'solveLeft', order: d[j], rhs: n, what: `V${j} solve` });
    }
  }
  ops.push({ kind: 'gemm', m: d[N], n, k: d[N - 1] + 1, transA: false, transB: false, accumulate: false, what: `W${N} Ṽ${N - 1} (S${N})` });
  return ops;
}

/** Flops of a call: 2mnk for a product, n²k for a Gram (the half syrk computes), n³/3 for Cholesky, 2n²·rhs for the two triangular solves. */
function opFlops(op: Op): number {
  switch (op.kind) {
    case 'gemm':
      return 2 * op.m * op.n * op.k;
    case 'gram':
      return op.order * op.order * op.k;
    case 'cholesky':
      return op.order ** 3 / 3;
    default:
      return 2 * op.order * op.order * op.rhs;
  }
}

function opShape(op: Op): string {
  switch (op.kind) {
    case 'gemm':
      return `${op.transA ? 'T' : 'N'}${op.transB ? 'T' : 'N'}${op.accumulate ? '+' : ''} ${op.m}×${op.n}×${op.k}`;
    case 'gram':
      return `${op.transA ? 'AᵀA' : 'AAᵀ'} ${op.order}², k=${op.k}`;
    case 'cholesky':
      return `${op.order}²`;
    default:
      return `${op.order}², ${op.rhs} rhs`;
  }
}

const iterationFlops = (layers: readonly number[], n: number): number => iterationOps(layers, n).reduce((t, op) => t + opFlops(op), 0);

// ---- backends and data ----

function makeBackend(name: BackendName, precision: Precision): Backend {
  return name === 'cpu' ? new CpuBackend({ precision }) : new BlasBackend({ precision, ...(threads === undefined ? {} : { threads }) });
}

/** Counts what goes through `backend.alloc` from now on: Σ rows·cols·(bytes per element), and the number of calls. */
function countAllocations(backend: Backend): { bytes: number; count: number } {
  const counter = { bytes: 0, count: 0 };
  const alloc = backend.alloc.bind(backend);
  const size = bytesPerElement(backend.precision);
  backend.alloc = (rows: number, cols: number): Matrix => {
    counter.bytes += rows * cols * size;
    counter.count++;
    return alloc(rows, cols);
  };
  return counter;
}

/** Random data of the network's shape, drawn straight into the Float64Arrays the solver uploads: X uniform in [0, 1), Y one-hot. */
function randomData(layers: readonly number[], n: number): TrainingData {
  const rng = new Rng(1);
  const x = hostMatrix(layers[0], n);
  for (let k = 0; k < x.data.length; k++) x.data[k] = rng.uniform();
  const y = hostMatrix(layers[layers.length - 1], n);
  for (let c = 0; c < n; c++) y.data[(c % y.rows) * n + c] = 1;
  return { x, y };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const message = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0];
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

// ---- Algorithm 1, per iteration ----

/** Wall time of one iteration's backend calls, by method (an extra step after the timed ones). */
interface BreakdownRow {
  method: string;
  calls: number;
  ms: number;
}
/** Peak RSS of a cell run in a fresh process, and what it is made of. */
interface RssReport {
  /** process.resourceUsage().maxRSS at the end of the child, in bytes. */
  peakBytes: number;
  /** Σ rows·cols·(bytes per element) over the solver's allocs. */
  matrixBytes: number;
  allocs: number;
  ratio: number;
  /** RSS of the child with the backend made (Node, tsx, koffi, the library, the loop worker threads) but no matrix. */
  baselineBytes: number;
  /** (peak − baseline) / matrix bytes. */
  ratioWithoutBaseline: number;
  /** The host copy of the data the script generated (X and Y as Float64Array), dropped after the upload. */
  hostDataBytes: number;
  /** RSS after each phase of the child (process.memoryUsage().rss). */
  phases: { phase: string; rssBytes: number }[];
}
interface CellResult {
  layers: string;
  n: number;
  backend: BackendName;
  precision: Precision;
  status: 'measured' | 'skipped' | 'failed';
  flopsPerIteration: number;
  describe?: string;
  /** The estimate the skip decision used (s per iteration), and the measured cell it came from. */
  estimatedS?: number;
  estimatedFrom?: string;
  setupMs?: number;
  warmupMs?: number;
  timesMs?: number[];
  msPerIteration?: number;
  /** flopsPerIteration / msPerIteration (the products of an iteration; elementwise work not counted). */
  gflops?: number;
  matrixBytes?: number;
  breakdown?: BreakdownRow[];
  breakdownTotalMs?: number;
  process: 'main' | 'child';
  /** λ of the problem (--lambda, or 1 where a Cholesky failed with it). */
  lambda?: number;
  rss?: RssReport;
  note?: string;
}

/** The methods an iteration's breakdown times. */
const TIMED_METHODS = ['gemm', 'gram', 'cholesky', 'solveLeft', 'solveRight', 'multiplierStep', 'activate', 'axpby', 'maxAbs', 'copy', 'shiftedScale', 'sumSquares', 'dot', 'scalarAffine', 'fill'] as const;

/** One more step with every backend call timed (the typed-array backends run them synchronously, so wall time is their work). */
async function breakdownStep(backend: Backend, solver: AdmmSolver): Promise<{ rows: BreakdownRow[]; totalMs: number }> {
  const target = backend as unknown as Record<string, (...args: unknown[]) => unknown>;
  const rows = new Map<string, BreakdownRow>();
  for (const method of TIMED_METHODS) {
    const original = target[method];
    const row: BreakdownRow = { method, calls: 0, ms: 0 };
    rows.set(method, row);
    target[method] = (...args: unknown[]) => {
      const start = performance.now();
      try {
        return original.apply(backend, args);
      } finally {
        row.ms += performance.now() - start;
        row.calls++;
      }
    };
  }
  try {
    const start = performance.now();
    await solver.step();
    await backend.sync();
    const totalMs = performance.now() - start;
    return { rows: [...rows.values()].filter((r) => r.calls > 0).sort((a, b) => b.ms - a.ms), totalMs };
  } finally {
    // The instance's wrappers go; the prototype's methods show through again.
    for (const method of TIMED_METHODS) delete target[method];
  }
}

/**
 * Builds the solver of a cell, runs one warm-up step (stopping there when it took over --max-iteration-s), times
 * 1–5 steps, and (for cells whose step takes ≤ 10 s) one more step with a per-method breakdown. With `rss`, records
 * RSS by phase and drops the host data before the first step. Solver and backend are disposed before it returns.
 */
async function runCell(spec: CellSpec, rss: boolean, cellLambda: number): Promise<CellResult> {
  const result: CellResult = {
    layers: netName(spec.layers),
    n: spec.n,
    backend: spec.backend,
    precision: spec.precision,
    status: 'failed',
    flopsPerIteration: iterationFlops(spec.layers, spec.n),
    process: rss ? 'child' : 'main',
    lambda: cellLambda,
  };
  const phases: { phase: string; rssBytes: number }[] = [];
  const mark = (phase: string): void => {
    if (rss) phases.push({ phase, rssBytes: process.memoryUsage.rss() });
  };
  mark('child started (modules loaded)');
  const backend = makeBackend(spec.backend, spec.precision);
  result.describe = backend.describe();
  const allocated = countAllocations(backend);
  let solver: AdmmSolver | undefined;
  try {
    await backend.prepareActivation(sigmoid);
    startWorkers(backend);
    mark('backend made (library loaded, loop workers started), no matrix yet');
    let data: TrainingData | undefined = randomData(spec.layers, spec.n);
    const hostDataBytes = data.x.data.byteLength + data.y.data.byteLength;
    mark('host data generated (X, Y as Float64Array)');
    const t0 = performance.now();
    solver = AdmmSolver.create(backend, data, {
      layers: [...spec.layers],
      activation: sigmoid,
      beta: 1,
      lambda: cellLambda,
      bias: true,
      stepRule: paperStepRule,
      init: { scheme: 'msra', seed: 1 },
    });
    await backend.sync();
    result.setupMs = performance.now() - t0;
    result.matrixBytes = allocated.bytes;
    mark('solver made (data uploaded, initialisation (7))');
    // The solver keeps no reference to the host data: dropping ours frees it (and the upload's temporaries).
    data = undefined;
    collect();
    // V8 frees large ArrayBuffers' memory on a background thread after the collection: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 100));
    collect();
    mark('host data dropped (gc)');

    const warmupStart = performance.now();
    await solver.step();
    await backend.sync();
    result.warmupMs = performance.now() - warmupStart;
    mark('warm-up step');
    if (result.warmupMs > maxIterationS * 1000) {
      result.status = 'skipped';
      result.note = `skipped: the warm-up step took ${(result.warmupMs / 1000).toFixed(0)} s (> ${maxIterationS} s)`;
      return result;
    }
    const steps = quick ? 2 : Math.max(1, Math.min(5, Math.floor(30000 / result.warmupMs)));
    const times: number[] = [];
    for (let k = 0; k < steps; k++) {
      const start = performance.now();
      await solver.step();
      await backend.sync();
      times.push(performance.now() - start);
    }
    mark(`${steps} timed step${steps === 1 ? '' : 's'}`);
    result.timesMs = times;
    result.msPerIteration = median(times);
    result.gflops = result.flopsPerIteration / (result.msPerIteration * 1e6);
    result.status = 'measured';
    if (result.warmupMs <= 10000) {
      const { rows, totalMs } = await breakdownStep(backend, solver);
      result.breakdown = rows;
      result.breakdownTotalMs = totalMs;
    }
    if (rss) {
      const peakBytes = process.resourceUsage().maxRSS * 1024;
      const baselineBytes = phases[1].rssBytes;
      result.rss = {
        peakBytes,
        matrixBytes: allocated.bytes,
        allocs: allocated.count,
        ratio: peakBytes / allocated.bytes,
        baselineBytes,
        ratioWithoutBaseline: (peakBytes - baselineBytes) / allocated.bytes,
        hostDataBytes,
        phases,
      };
    }
    return result;
  } catch (err) {
    result.status = 'failed';
    result.note = `failed: ${message(err)}`;
    return result;
  } finally {
    solver?.dispose();
    backend.dispose();
    collect();
  }
}

/** Runs a cell in a fresh process (this script with --rss-child), so that its peak RSS is its own. */
async function runCellInChild(spec: CellSpec, cellLambda: number): Promise<CellResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-blas-'));
  const file = join(dir, 'cell.json');
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--rss-child', file,
    '--cell', `${spec.backend}:${spec.precision}:${netName(spec.layers)}:${spec.n}`,
    '--lambda', String(cellLambda),
    '--max-iteration-s', String(maxIterationS),
    ...(threads === undefined ? [] : ['--threads', String(threads)]),
    ...(quick ? ['--quick'] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const result = JSON.parse(readFileSync(file, 'utf8')) as CellResult;
    if (output.trim()) console.log(output.trimEnd().replace(/^/gm, '    child: '));
    return result;
  } catch {
    return {
      layers: netName(spec.layers), n: spec.n, backend: spec.backend, precision: spec.precision, status: 'failed',
      flopsPerIteration: iterationFlops(spec.layers, spec.n), process: 'child',
      note: `failed: the child process exited with ${code} and no result: ${output.trim().split('\n').slice(-3).join(' | ')}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printCellHeader(): void {
  console.log(`${'layers'.padEnd(18)} ${'n'.padStart(6)}  ${'backend'.padEnd(8)}${'prec'.padEnd(5)} ${'ms/iter'.padStart(10)} ${'GFLOP/s'.padStart(8)}  ${'steps'.padStart(5)} ${'setup ms'.padStart(9)}  note`);
}

function printCell(r: CellResult): void {
  const head = `${r.layers.padEnd(18)} ${String(r.n).padStart(6)}  ${r.backend.padEnd(8)}${r.precision.padEnd(5)}`;
  if (r.status !== 'measured') {
    console.log(`${head} ${'–'.padStart(10)} ${'–'.padStart(8)}  ${''.padStart(5)} ${''.padStart(9)}  ${r.note ?? r.status}`);
    return;
  }
  const notes = [
    r.estimatedS !== undefined ? `estimated ${r.estimatedS.toFixed(1)} s` : 'no estimate (first cell of its kind)',
    r.process === 'child' ? 'fresh child process' : '',
    r.note ?? '',
    r.timesMs && r.timesMs.length > 1 ? `min ${Math.min(...r.timesMs).toFixed(0)} ms` : '',
  ].filter(Boolean);
  console.log(`${head} ${r.msPerIteration!.toFixed(1).padStart(10)} ${r.gflops!.toFixed(2).padStart(8)}  ${String(r.timesMs!.length).padStart(5)} ${r.setupMs!.toFixed(0).padStart(9)}  ${notes.join('; ')}`);
  if (r.breakdown) {
    const total = r.breakdownTotalMs!;
    const inCalls = r.breakdown.reduce((t, b) => t + b.ms, 0);
    const parts = r.breakdown.filter((b) => b.ms >= 0.01 * total).map((b) => `${b.method} ${((100 * b.ms) / total).toFixed(0)}%`);
    console.log(`${''.padEnd(18)}   by call: ${parts.join(', ')}; outside the calls ${((100 * (total - inCalls)) / total).toFixed(0)}% (of a ${total.toFixed(0)} ms step)`);
  }
}

async function admmSection(cells: CellResult[]): Promise<void> {
  console.log(`\nAlgorithm 1, per iteration (sigmoid, β = 1, λ = ${lambda}, biases, paper step rule, MSRA seed 1; median of the timed steps after one warm-up; GFLOP/s counts the products only)`);
  printCellHeader();
  for (const layers of NETS) {
    for (const n of SAMPLES) {
      for (const backend of BACKENDS) {
        for (const precision of PRECISIONS) {
          const spec: CellSpec = { layers, n, backend, precision };
          const flops = iterationFlops(layers, n);
          // The estimate: each measured cell of the same backend and precision, scaled by the flop counts; the largest.
          let estimatedS: number | undefined;
          let estimatedFrom: string | undefined;
          for (const c of cells) {
            if (c.status !== 'measured' || c.backend !== backend || c.precision !== precision) continue;
            const s = (c.msPerIteration! / 1000) * (flops / c.flopsPerIteration);
            if (estimatedS === undefined || s > estimatedS) [estimatedS, estimatedFrom] = [s, `${c.layers} n=${c.n}`];
          }
          let r: CellResult;
          if (estimatedS !== undefined && estimatedS > maxIterationS) {
            r = {
              layers: netName(layers), n, backend, precision, status: 'skipped', flopsPerIteration: flops, estimatedS, estimatedFrom, process: 'main',
              note: `skipped: estimated ${estimatedS.toFixed(0)} s per iteration (> ${maxIterationS} s; from ${estimatedFrom} scaled by the flop counts)`,
            };
          } else {
            const run = (cellLambda: number) => (sameCell(spec, RSS_CELL) ? runCellInChild(spec, cellLambda) : runCell(spec, false, cellLambda));
            r = await run(lambda);
            if (r.status === 'failed' && r.note?.includes('NotPositiveDefiniteError') && lambda < 1) {
              // An f32 system λI + c ÃÃᵀ beyond 1/u: numerically singular at this λ, and Cholesky rightly refuses it.
              // The work of an iteration does not depend on λ: time the cell at λ = 1 instead, and say so.
              const failure = r.note;
              r = await run(1);
              r.note = `λ = 1: at λ = ${lambda} it ${failure}`;
            }
            Object.assign(r, { estimatedS, estimatedFrom });
          }
          cells.push(r);
          printCell(r);
        }
      }
    }
  }
  console.log('\nspeedup of blas over cpu (cpu time / blas time per iteration)');
  console.log(`${'layers'.padEnd(18)} ${'n'.padStart(6)}  ${'f64/f64'.padStart(8)} ${'f32/f32'.padStart(8)} ${'f32 over cpu f64'.padStart(17)}`);
  for (const layers of NETS) {
    for (const n of SAMPLES) {
      const speedup = (cpuPrecision: Precision, blasPrecision: Precision): string => {
        const value = speedupOf(cells, layers, n, cpuPrecision, blasPrecision);
        return value === undefined ? '–' : `${value.toFixed(1)}×`;
      };
      console.log(`${netName(layers).padEnd(18)} ${String(n).padStart(6)}  ${speedup('f64', 'f64').padStart(8)} ${speedup('f32', 'f32').padStart(8)} ${speedup('f64', 'f32').padStart(17)}`);
    }
  }
  const rssCell = cells.find((c) => c.process === 'child');
  if (rssCell?.rss) printRss(rssCell);
  else console.log(`\npeak RSS of ${cellName(RSS_CELL)}: not measured (${rssCell?.note ?? 'cell not run'})`);
}

function speedupOf(cells: readonly CellResult[], layers: readonly number[], n: number, cpuPrecision: Precision, blasPrecision: Precision): number | undefined {
  const find = (backend: BackendName, precision: Precision) =>
    cells.find((c) => c.status === 'measured' && c.backend === backend && c.precision === precision && c.layers === netName(layers) && c.n === n)?.msPerIteration;
  const cpu = find('cpu', cpuPrecision);
  const blas = find('blas', blasPrecision);
  return cpu === undefined || blas === undefined ? undefined : cpu / blas;
}

function printRss(c: CellResult): void {
  const r = c.rss!;
  console.log(`\npeak RSS, ${cellName(RSS_CELL)} in a fresh process${quick ? ' (--quick: shapes far too small for the ratio to mean anything)' : ''}`);
  console.log(`  peak RSS (process.resourceUsage().maxRSS)                 ${mib(r.peakBytes).padStart(10)}`);
  console.log(`  matrices the solver allocates (Σ rows·cols·${bytesPerElement(c.precision)} B, ${r.allocs} allocs) ${mib(r.matrixBytes).padStart(10)}`);
  console.log(`  ratio                                                      ${r.ratio.toFixed(3).padStart(10)}   (target ≤ 1.3: ${r.ratio <= 1.3 ? 'met' : 'NOT met'})`);
  console.log(`  what the peak holds besides the matrices:`);
  console.log(`    the process before any matrix (Node, tsx, koffi, the BLAS library, the loop worker threads): ${mib(r.baselineBytes)}`);
  console.log(`    the host copy of the data (X, Y as Float64Array, generated in place, no other copy): ${mib(r.hostDataBytes)}, dropped after the upload and before the first step`);
  console.log(`    the rest (library buffers, the JS heap, the upload's temporaries if they were still mapped at the peak): ${mib(r.peakBytes - r.baselineBytes - r.matrixBytes)}`);
  console.log(`  ratio without the process baseline: ${r.ratioWithoutBaseline.toFixed(3)}`);
  console.log('  RSS after each phase:');
  for (const p of r.phases) console.log(`    ${mib(p.rssBytes).padStart(10)}  ${p.phase}`);
}

const bytesPerElement = (precision: Precision): number => (precision === 'f64' ? 8 : 4);

// ---- kernels at the ADMM shapes ----

interface KernelResult {
  net: string;
  backend: BackendName;
  precision: Precision;
  kind: Op['kind'];
  what: string;
  shape: string;
  flops: number;
  ms: number;
  gflops: number;
  /** GEMMs and Grams: the square NN GEMM of the same flop count (side = cbrt(flops / 2)), and this op's rate over its rate. */
  squareSide?: number;
  squareGflops?: number;
  ratio?: number;
  /**
   * GEMMs on blas: the rate the memory bandwidth allows (bytes of A, B and C over the measured read bandwidth),
   * and this op's rate over min(square rate, that bound) — the roofline of the machine, not of the shape's flops alone.
   */
  bandwidthBoundGflops?: number;
  ofAttainable?: number;
}

/**
 * Read bandwidth of the memory in bytes/s: the blas backend's dot ⟨X, Y⟩ (the library's threaded ddot) over two
 * 2^24-element f64 matrices, best of --repeats. A GEMM whose operands' bytes take longer to read than its flops
 * take at the square rate is bound by this, not by the arithmetic.
 */
async function readBandwidth(b: Backend): Promise<number> {
  const side = 4096;
  const x = b.alloc(side, side);
  const y = b.alloc(side, side);
  const out = b.scalar();
  b.fill(x, 1);
  b.fill(y, 2);
  try {
    const ms = await best(b, () => b.dot(out, x, y));
    return (2 * side * side * bytesPerElement(b.precision)) / (ms / 1000);
  } finally {
    b.free(x);
    b.free(y);
    b.freeScalar(out);
  }
}

/**
 * Best of --repeats (3) runs of `op`, each after an untimed `prepare` (ms), after one untimed warm-up run (which counts
 * as one of them when it took over a second: the slow JavaScript kernels).
 */
async function best(b: Backend, op: () => void, prepare: () => void = () => {}): Promise<number> {
  const times: number[] = [];
  for (let run = 0; times.length < repeats; run++) {
    prepare();
    await b.sync();
    const start = performance.now();
    op();
    await b.sync();
    const ms = performance.now() - start;
    if (run > 0 || ms > 1000) times.push(ms);
  }
  return Math.min(...times);
}

/**
 * Waits until the blas backend's loop worker threads have started (their start-up takes a core for tens of ms, and
 * the library's threads, sharing the cores with it, then run its first calls up to 100× slower).
 */
function startWorkers(b: Backend): void {
  if (b instanceof BlasBackend) b.elementwiseThreads(sigmoid);
}

/** Best time of one call at `op`'s shape on random operands (allocated here, freed before returning). */
async function timeOp(b: Backend, op: Op, rng: Rng): Promise<number> {
  const owned: Matrix[] = [];
  const alloc = (rows: number, cols: number): Matrix => {
    const m = b.alloc(rows, cols);
    owned.push(m);
    return m;
  };
  const random = (rows: number, cols: number): Matrix => {
    const m = alloc(rows, cols);
    const data = new Float64Array(rows * cols);
    for (let k = 0; k < data.length; k++) data[k] = 2 * rng.uniform() - 1;
    b.upload(m, data);
    return m;
  };
  /** A symmetric positive definite order × order matrix: A Aᵀ / k + I for a random order × k A. */
  const spd = (order: number): Matrix => {
    const k = order + 16;
    const a = random(order, k);
    const m = alloc(order, order);
    b.gram(1 / k, a, false, 0, m);
    const one = b.scalar(1);
    b.shiftedScale(m, one, 1, m);
    b.freeScalar(one);
    return m;
  };
  try {
    switch (op.kind) {
      case 'gemm': {
        const A = op.transA ? random(op.k, op.m) : random(op.m, op.k);
        const B = op.transB ? random(op.n, op.k) : random(op.k, op.n);
        const C = alloc(op.m, op.n);
        return await best(b, () => b.gemm(1, A, op.transA, B, op.transB, op.accumulate ? 1 : 0, C));
      }
      case 'gram': {
        const A = op.transA ? random(op.k, op.order) : random(op.order, op.k);
        const C = alloc(op.order, op.order);
        return await best(b, () => b.gram(1, A, op.transA, 0, C));
      }
      case 'cholesky': {
        const source = spd(op.order);
        const M = alloc(op.order, op.order);
        return await best(b, () => b.cholesky(M), () => b.copy(source, M));
      }
      default: {
        // solveLeft, solveRight
        const L = spd(op.order);
        b.cholesky(L);
        const left = op.kind === 'solveLeft';
        const source = left ? random(op.order, op.rhs) : random(op.rhs, op.order);
        const B = left ? alloc(op.order, op.rhs) : alloc(op.rhs, op.order);
        return await best(b, () => (left ? b.solveLeft(L, B) : b.solveRight(L, B)), () => b.copy(source, B));
      }
    }
  } finally {
    for (const m of owned) b.free(m);
  }
}

async function kernelsSection(kernels: KernelResult[]): Promise<void> {
  console.log(`\nkernels at the ADMM shapes (n = ${KERNEL_N}; best of ${repeats}; GEMMs and Grams against the square NN GEMM of the same flop count)`);
  const runs: { backend: BackendName; precision: Precision; nets: readonly (readonly number[])[] }[] = [
    { backend: 'blas', precision: 'f64', nets: NETS },
    { backend: 'blas', precision: 'f32', nets: NETS },
    { backend: 'cpu', precision: 'f64', nets: [NETS[0]] },
  ];
  // The machine's memory bandwidth (a property of the machine: measured once, on f64).
  let bandwidth: number | undefined;
  for (const run of runs) {
    const b = makeBackend(run.backend, run.precision);
    startWorkers(b);
    const rng = new Rng(2);
    const squares = new Map<number, number>();
    try {
      if (run.backend === 'blas' && run.precision === 'f64') bandwidth = await readBandwidth(b);
      for (const layers of run.nets) {
        const seen = new Set<string>();
        for (const op of iterationOps(layers, KERNEL_N)) {
          const key = `${op.kind} ${opShape(op)}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const flops = opFlops(op);
          const ms = await timeOp(b, op, rng);
          const r: KernelResult = { net: netName(layers), backend: run.backend, precision: run.precision, kind: op.kind, what: op.what, shape: opShape(op), flops, ms, gflops: flops / (ms * 1e6) };
          if (run.backend === 'blas' && (op.kind === 'gemm' || op.kind === 'gram')) {
            const side = Math.max(1, Math.round(Math.cbrt(flops / 2)));
            if (!squares.has(side)) {
              const squareMs = await timeOp(b, { kind: 'gemm', m: side, n: side, k: side, transA: false, transB: false, accumulate: false, what: 'square' }, rng);
              squares.set(side, (2 * side ** 3) / (squareMs * 1e6));
            }
            r.squareSide = side;
            r.squareGflops = squares.get(side)!;
            r.ratio = r.gflops / r.squareGflops;
            if (op.kind === 'gemm' && bandwidth !== undefined && run.backend === 'blas') {
              // A and B read, C written (and read first when accumulating).
              const bytes = (op.m * op.k + op.k * op.n + op.m * op.n * (op.accumulate ? 2 : 1)) * bytesPerElement(run.precision);
              r.bandwidthBoundGflops = (bandwidth * flops) / bytes / 1e9;
              r.ofAttainable = r.gflops / Math.min(r.squareGflops, r.bandwidthBoundGflops);
            }
          }
          kernels.push(r);
        }
      }
    } finally {
      b.dispose();
      collect();
    }
  }
  for (const layers of NETS) {
    console.log(`\n${netName(layers)}, n = ${KERNEL_N}: GFLOP/s (ratio = this shape's rate / the square GEMM's of the same flops, side in brackets; '+': C ← … + β C with β ≠ 0, as in the iteration)`);
    console.log(`${'call'.padEnd(11)} ${'shape'.padEnd(24)} ${'what'.padEnd(34)} ${'cpu f64'.padStart(8)} ${'blas f64'.padStart(9)} ${'ratio'.padStart(26)} ${'blas f32'.padStart(9)} ${'ratio'.padStart(26)}`);
    const rows = kernels.filter((k) => k.net === netName(layers) && k.backend === 'blas' && k.precision === 'f64');
    for (const row of rows) {
      const at = (backend: BackendName, precision: Precision) => kernels.find((k) => k.net === row.net && k.backend === backend && k.precision === precision && k.kind === row.kind && k.shape === row.shape);
      const rate = (k: KernelResult | undefined) => (k === undefined ? '–' : k.gflops.toFixed(2));
      const ratio = (k: KernelResult | undefined) =>
        k?.ratio === undefined ? '' : `${k.ratio.toFixed(2)} [${k.squareSide}]${k.ofAttainable !== undefined && k.bandwidthBoundGflops! < k.squareGflops! ? ` (${k.ofAttainable.toFixed(2)} of bw)` : ''}`;
      const f32 = at('blas', 'f32');
      console.log(`${row.kind.padEnd(11)} ${row.shape.padEnd(24)} ${row.what.padEnd(34)} ${rate(at('cpu', 'f64')).padStart(8)} ${rate(row).padStart(9)} ${ratio(row).padStart(26)} ${rate(f32).padStart(9)} ${ratio(f32).padStart(26)}`);
    }
  }
  const squareRows = [...new Map(kernels.filter((k) => k.squareSide !== undefined).map((k) => [`${k.precision} ${k.squareSide}`, k])).values()];
  console.log(`\n(x of bw): where the bytes of A, B and C at the read bandwidth of ddot (${((bandwidth ?? NaN) / 1e9).toFixed(1)} GB/s) allow less than the square rate, the shape's rate over that bound`);
  console.log(`square NN GEMMs (the reference rates): ${squareRows.map((k) => `${k.precision} ${k.squareSide}³ ${k.squareGflops!.toFixed(1)}`).join(', ')} GFLOP/s`);
}

// ---- targets ----

interface Targets {
  f64Speedup: { value: number | undefined; target: 10; met: boolean | undefined; cell: string };
  f32Speedup: { value: number | undefined; target: 15; met: boolean | undefined; cell: string; overCpuF64: number | undefined };
  gemmEfficiency: {
    worst: number | undefined;
    target: 0.7;
    met: boolean | undefined;
    shape: string | undefined;
    /** The worst among the GEMMs whose every dimension exceeds 16 (the output layer's d_N = 10 products left out). */
    worstWide: number | undefined;
    shapeWide: string | undefined;
    /** Σ time at the square rates / Σ time at the ADMM shapes, over every GEMM of both nets (flop-weighted). */
    aggregate: number | undefined;
    /** The worst rate over min(square rate, memory-bandwidth bound): how far from the machine's roofline. */
    worstOfAttainable: number | undefined;
    shapeOfAttainable: string | undefined;
  };
  rss: { peakBytes: number | undefined; matrixBytes: number | undefined; ratio: number | undefined; target: 1.3; met: boolean | undefined; cell: string };
}

function targets(cells: readonly CellResult[], kernels: readonly KernelResult[]): Targets {
  const f64 = speedupOf(cells, SPEEDUP_NET, SPEEDUP_N, 'f64', 'f64');
  const f32 = speedupOf(cells, SPEEDUP_NET, SPEEDUP_N, 'f32', 'f32');
  const gemms = kernels.filter((k) => k.backend === 'blas' && k.kind === 'gemm' && k.ratio !== undefined);
  const worstOf = (list: readonly KernelResult[]) => list.reduce<KernelResult | undefined>((w, k) => (w === undefined || k.ratio! < w.ratio! ? k : w), undefined);
  const worst = worstOf(gemms);
  const wide = worstOf(gemms.filter((k) => k.shape.split(' ')[1].split('×').every((x) => Number(x) > 16)));
  const label = (k: KernelResult | undefined) => (k === undefined ? undefined : `${k.precision} gemm ${k.shape} (${k.what}, ${k.net})`);
  const attainable = gemms.reduce<KernelResult | undefined>((w, k) => (k.ofAttainable !== undefined && (w === undefined || k.ofAttainable < w.ofAttainable!) ? k : w), undefined);
  const aggregate = gemms.length === 0 ? undefined : gemms.reduce((t, k) => t + k.flops / (k.squareGflops! * 1e6), 0) / gemms.reduce((t, k) => t + k.ms, 0);
  const rss = cells.find((c) => c.rss !== undefined)?.rss;
  const speedupCell = `${netName(SPEEDUP_NET)}, n = ${SPEEDUP_N}`;
  return {
    f64Speedup: { value: f64, target: 10, met: f64 === undefined ? undefined : f64 >= 10, cell: speedupCell },
    f32Speedup: { value: f32, target: 15, met: f32 === undefined ? undefined : f32 >= 15, cell: speedupCell, overCpuF64: speedupOf(cells, SPEEDUP_NET, SPEEDUP_N, 'f64', 'f32') },
    gemmEfficiency: { worst: worst?.ratio, target: 0.7, met: worst === undefined ? undefined : worst.ratio! >= 0.7, shape: label(worst), worstWide: wide?.ratio, shapeWide: label(wide), aggregate, worstOfAttainable: attainable?.ofAttainable, shapeOfAttainable: label(attainable) },
    rss: { peakBytes: rss?.peakBytes, matrixBytes: rss?.matrixBytes, ratio: rss?.ratio, target: 1.3, met: rss === undefined ? undefined : rss.ratio <= 1.3, cell: cellName(RSS_CELL) },
  };
}

function printTargets(t: Targets): void {
  const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'met' : 'NOT met');
  const num = (v: number | undefined, digits: number, suffix = '') => (v === undefined ? '–' : `${v.toFixed(digits)}${suffix}`);
  console.log(`\ntargets${quick ? ' (--quick: on the small stand-in shapes, not the issue\'s)' : ''}`);
  const row = (name: string, value: string, goal: string, met: boolean | undefined, extra = '') => console.log(`  ${name.padEnd(58)} ${value.padStart(8)}  target ${goal.padEnd(7)} ${verdict(met).padEnd(12)} ${extra}`);
  row(`blas f64 over cpu f64 per iteration, ${t.f64Speedup.cell}`, num(t.f64Speedup.value, 1, '×'), '≥ 10×', t.f64Speedup.met);
  row(`blas f32 over cpu f32 per iteration, ${t.f32Speedup.cell}`, num(t.f32Speedup.value, 1, '×'), '≥ 15×', t.f32Speedup.met, `(over cpu f64: ${num(t.f32Speedup.overCpuF64, 1, '×')})`);
  const g = t.gemmEfficiency;
  row('GEMM at the ADMM shapes / square GEMM of equal flops, worst', num(g.worst, 2), '≥ 0.70', g.met, g.shape ?? '');
  console.log(`  ${''.padEnd(58)} ${''.padStart(8)}  worst without the d_N = 10 products: ${num(g.worstWide, 2)} ${g.shapeWide ?? ''}; flop-weighted over all: ${num(g.aggregate, 2)}`);
  console.log(`  ${''.padEnd(58)} ${''.padStart(8)}  worst against min(square rate, memory-bandwidth bound): ${num(g.worstOfAttainable, 2)} ${g.shapeOfAttainable ?? ''}`);
  const r = t.rss;
  row(`peak RSS / solver matrix bytes, ${r.cell}`, num(r.ratio, 3), '≤ 1.3', r.met, r.peakBytes === undefined ? '' : `(${mib(r.peakBytes)} / ${mib(r.matrixBytes!)})`);
}

// ---- main ----

if (childResultFile !== undefined) {
  // A child run by runCellInChild: one cell, its result to the file.
  const [backend, precision, layers, n] = (cli.cell ?? '').split(':');
  const spec: CellSpec = { backend: backend as BackendName, precision: precision as Precision, layers: layers.split('-').map(Number), n: Number(n) };
  const result = await runCell(spec, true, lambda);
  writeFileSync(childResultFile, JSON.stringify(result));
  process.exit(0);
}

const probe = new BlasBackend(threads === undefined ? {} : { threads });
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  availableParallelism: availableParallelism(),
  memoryBytes: totalmem(),
  os: `${platform()} ${release()}`,
  node: process.version,
  blas: { path: probe.library.path, vendor: probe.library.vendor, config: probe.library.config, threading: probe.library.threading, threads: probe.threads },
  env: { NLADMM_THREADS: process.env.NLADMM_THREADS, NLADMM_BLAS: process.env.NLADMM_BLAS, OPENBLAS_THREAD_TIMEOUT: process.env.OPENBLAS_THREAD_TIMEOUT },
};
probe.dispose();
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${mib(machine.memoryBytes)}, ${machine.os}, node ${machine.node}`);
console.log(`blas: ${machine.blas.config.startsWith(machine.blas.vendor) ? '' : `${machine.blas.vendor} `}${machine.blas.config} (${machine.blas.threading}), ${machine.blas.threads} threads: ${machine.blas.path}`);

const cells: CellResult[] = [];
const kernels: KernelResult[] = [];
const started = performance.now();
if (sections.includes('admm')) await admmSection(cells);
if (sections.includes('kernels')) await kernelsSection(kernels);
const t = targets(cells, kernels);
printTargets(t);
const parentPeak = process.resourceUsage().maxRSS * 1024;
console.log(`\nthis process's own peak RSS (all main-process cells one after another; not the target's figure): ${mib(parentPeak)}; total ${((performance.now() - started) / 1000).toFixed(0)} s`);

if (out !== undefined) {
  const results = {
    date: new Date().toISOString(),
    machine,
    options: { quick, sections, threads, lambda, maxIterationS, repeats, nets: NETS.map(netName), samples: SAMPLES, kernelN: KERNEL_N },
    cells,
    kernels,
    targets: t,
    parentPeakRssBytes: parentPeak,
    totalSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${out}`);
}
process.exit(0);
