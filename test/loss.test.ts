// Loss plugins: the contract's validation, the V_N prox (lossProx.ts), Algorithm 1 with softmax cross-entropy
// (Lemma 6's (50) as Λ_N = ∇ℓ(V_N), (51), ∇𝓛 against finite differences, a tiny problem driven to a KKT point) and
// the β schedule (resume bit for bit, (8) with the scheduled β_N).
import { describe, expect, it } from 'vitest';
import {
  AdmmSolver,
  type AdmmConfig,
  type Backend,
  type HostIterate,
  InvalidProblemError,
  type Loss,
  LossValidationError,
  MetricsEvaluator,
  PROX_TOLERANCE,
  ProxWorkspace,
  Rng,
  authorsStepRule,
  betasAt,
  checkHypotheses,
  hostMatrix,
  paperStepRule,
  proxColumn,
  squaredLoss,
  theoryInputFromConfig,
  validateLoss,
} from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { BlasBackend } from '@nladmm/blas-backend';
import { CpuBackend } from '@nladmm/cpu-backend';
import { crossEntropy } from '@nladmm/losses';
import {
  type HostProblem,
  add,
  augment,
  augmentedLagrangian,
  dropBias,
  finiteDifferenceGradient,
  frob,
  frob2,
  lossGradientOf,
  mul,
  relDiff,
  scale,
  sub,
  transpose,
} from './support/hostModel.ts';

const tanh = createDefaultRegistry().get('tanh');
const sigmoid = createDefaultRegistry().get('sigmoid');

/** X with normal entries and one-hot Y of classes c mod d_N (a classification problem for cross-entropy). */
function classification(layers: readonly number[], n: number, seed: number) {
  const rng = new Rng(seed);
  const x = hostMatrix(layers[0], n, Array.from({ length: layers[0] * n }, () => rng.normal()));
  const dN = layers[layers.length - 1];
  const y = hostMatrix(dN, n);
  for (let c = 0; c < n; c++) y.data[(c % dN) * n + c] = 1;
  return { x, y };
}

describe('validateLoss', () => {
  it('accepts the squared loss and softmax cross-entropy', () => {
    expect(validateLoss(squaredLoss)).toBe(squaredLoss);
    expect(validateLoss(crossEntropy)).toBe(crossEntropy);
  });

  const broken: [string, string, Partial<Loss>][] = [
    ['a non-finite value', 'finite', { value: () => NaN }],
    ['a wrong gradient', 'gradient', { gradient: (v, y, g) => { crossEntropy.gradient(v, y, g); g.forEach((x, i) => (g[i] = 2 * x)); } }],
    ['a wrong Newton solve', 'newton solve', { newtonSolve: (_v, _y, beta, r, s) => s.set(r.map((x) => x / beta)) }],
    ['an understated smoothness', 'smoothness', { smoothness: 0.05 }],
    ['a quadratic claim', 'shape', { quadratic: true }],
    ['missing WGSL', 'shape', { wgsl: undefined as never }],
    ['a bad name', 'shape', { name: '9 lives' }],
  ];
  for (const [what, check, patch] of broken) {
    it(`refuses ${what} with the '${check}' check`, () => {
      const candidate = { ...crossEntropy, ...patch };
      expect(() => validateLoss(candidate)).toThrow(LossValidationError);
      try {
        validateLoss(candidate);
      } catch (err) {
        expect((err as LossValidationError).check).toBe(check);
        expect((err as Error).message).toMatch(new RegExp(`^loss '.*' refused: ${check} check failed`));
      }
    });
  }

  it("refuses a non-convex loss with the 'convexity' check", () => {
    // ℓ(v) = Σ cos(v_i): finite, exact gradient and Hessian, but concave near 0.
    const wavy: Loss = {
      ...crossEntropy,
      name: 'wavy',
      value: (v) => v.reduce((acc, x) => acc + Math.cos(x), 0),
      gradient: (v, _y, g) => v.forEach((x, i) => (g[i] = -Math.sin(x))),
      newtonSolve: (v, _y, beta, r, s) => r.forEach((x, i) => (s[i] = x / (beta - Math.cos(v[i])))),
      smoothness: 1,
      checkTarget: undefined,
    };
    expect(() => validateLoss(wavy)).toThrow(/convexity check failed/);
  });
});

describe('the V_N prox of a loss plugin (lossProx.ts)', () => {
  const d = 10;
  const rng = new Rng(5);
  const target = new Float64Array(d);
  target[3] = 1;
  for (const beta of [0.01, 0.1, 1, 10, 1000]) {
    it(`cross-entropy: ∇ℓ(v) + β(v − t) = 0 to tolerance, β = ${beta}, logits up to ±50`, () => {
      const work = new ProxWorkspace(d);
      for (let trial = 0; trial < 50; trial++) {
        const spread = trial < 10 ? 50 : 3;
        const t = Float64Array.from({ length: d }, () => spread * rng.normal());
        const v = trial % 2 === 0 ? Float64Array.from(t) : new Float64Array(d);
        const steps = proxColumn(crossEntropy, t, target, beta, v, PROX_TOLERANCE.f64, work);
        expect(steps).toBeGreaterThanOrEqual(0);
        const g = new Float64Array(d);
        crossEntropy.gradient(v, target, g);
        const tMax = Math.max(...t.map(Math.abs));
        for (let i = 0; i < d; i++) expect(Math.abs(g[i] + beta * (v[i] - t[i]))).toBeLessThanOrEqual(PROX_TOLERANCE.f64 * (1 + beta * tMax));
      }
    });
  }

  it('squared loss: one Newton step gives the closed form (y + βt)/(1 + β) of (12)', () => {
    const t = Float64Array.from({ length: d }, () => rng.normal());
    const y = Float64Array.from({ length: d }, () => rng.normal());
    const v = new Float64Array(d);
    const steps = proxColumn(squaredLoss, t, y, 0.7, v, PROX_TOLERANCE.f64, new ProxWorkspace(d));
    expect(steps).toBeLessThanOrEqual(2);
    for (let i = 0; i < d; i++) expect(v[i]).toBeCloseTo((y[i] + 0.7 * t[i]) / 1.7, 14);
  });
});

const F64_BACKENDS: [string, () => Backend][] = [
  ['cpu', () => new CpuBackend()],
  ['blas', () => new BlasBackend({ threads: 2 })],
];

function crossEntropySetup(layers: number[], betas: number[], backend: Backend, n = 9, seed = 3, lambda = 0.05) {
  const data = classification(layers, n, seed);
  const config: AdmmConfig = {
    layers, activation: sigmoid, beta: betas, lambda, stepRule: paperStepRule, init: { scheme: 'xavier', seed: seed + 1, scale: 1.5 }, loss: crossEntropy,
  };
  const solver = AdmmSolver.create(backend, data, config);
  const problem: HostProblem = { x: data.x, y: data.y, betas, lambda, bias: true, activation: sigmoid, loss: crossEntropy };
  return { solver, problem, data };
}

describe.each(F64_BACKENDS)('Algorithm 1 with softmax cross-entropy on %s', (_name, makeBackend) => {
  for (const depth of [2, 3]) {
    it(`Lemma 6: (50) Λ_N = ∇ℓ(V_N) and (51) after every iteration, N = ${depth}`, async () => {
      const layers = [4, ...Array.from({ length: depth - 1 }, () => 5), 3];
      const betas = Array.from({ length: depth }, (_, k) => 0.8 + 0.35 * k);
      const backend = makeBackend();
      const { solver, problem } = crossEntropySetup(layers, betas, backend);
      const N = depth;
      let prev = await solver.snapshot();
      for (let k = 1; k <= 12; k++) {
        await solver.step();
        const cur = await solver.snapshot();
        expect(relDiff(cur.Lambda[N], lossGradientOf(crossEntropy, cur.V[N], problem.y))).toBeLessThan(1e-10);
        const wbarN = dropBias(cur.W[N], true);
        const rhs51 = mul(transpose(wbarN), add(cur.Lambda[N], scale(betas[N - 1], sub(cur.V[N], prev.V[N]))));
        expect(relDiff(cur.Lambda[N - 1], rhs51)).toBeLessThan(1e-10);
        prev = cur;
      }
      solver.dispose();
      backend.dispose();
    });
  }
});

describe('cross-entropy iterates: blas f64 and f32 against the cpu f64 reference', () => {
  it('agree over 10 iterations (f64 to 1e-10, f32 to 1e-3)', async () => {
    const layers = [6, 7, 5, 4];
    const betas = [1, 1.5, 2];
    const runs: HostIterate[] = [];
    for (const backend of [new CpuBackend(), new BlasBackend({ threads: 2 }), new BlasBackend({ threads: 1, precision: 'f32' })]) {
      const { solver } = crossEntropySetup(layers, betas, backend, 40, 8);
      for (let k = 0; k < 10; k++) await solver.step();
      runs.push(await solver.snapshot());
      solver.dispose();
      backend.dispose();
    }
    const [ref, blas64, blas32] = runs;
    for (let i = 1; i <= 3; i++) {
      for (const block of ['W', 'V', 'Lambda'] as const) {
        expect(relDiff(blas64[block][i], ref[block][i])).toBeLessThan(1e-10);
        expect(relDiff(blas32[block][i], ref[block][i])).toBeLessThan(1e-3);
      }
    }
  });
});

describe('the metrics with cross-entropy', () => {
  it('∇𝓛 and 𝓛 agree with central finite differences of (6) with ℓ = cross-entropy', async () => {
    const layers = [3, 4, 3];
    const betas = [0.7, 1.3];
    const backend = new CpuBackend();
    const { solver, problem, data } = crossEntropySetup(layers, betas, backend, 5, 11, 0.3);
    for (let k = 0; k < 3; k++) await solver.step();
    const q = await solver.snapshot();
    // Move the iterate off the path of Algorithm 1 so that no block's gradient vanishes by construction.
    const rng = new Rng(4);
    for (let i = 1; i <= 2; i++) for (const m of [q.W[i], q.V[i], q.Lambda[i]]) for (let k = 0; k < m.data.length; k++) m.data[k] += 0.3 * rng.normal();
    solver.restore(q);
    const evaluator = new MetricsEvaluator(solver, data);
    const metrics = await evaluator.evaluate();
    const fd = finiteDifferenceGradient(problem, q);
    for (let i = 0; i < 2; i++) {
      expect(metrics.gradNormBlocks.W[i]).toBeCloseTo(frob(fd.W[i]), 6);
      expect(metrics.gradNormBlocks.V[i]).toBeCloseTo(frob(fd.V[i]), 6);
      expect(metrics.gradNormBlocks.Lambda[i]).toBeCloseTo(frob(fd.Lambda[i]), 6);
    }
    expect(Math.abs(metrics.augmentedLagrangian - augmentedLagrangian(problem, q))).toBeLessThan(1e-10 * (1 + Math.abs(metrics.augmentedLagrangian)));
    evaluator.dispose();
    solver.dispose();
  });

  it('a tiny problem is driven to a KKT point: ‖∇𝓛‖ < 1e-8', async () => {
    const layers = [2, 3, 2];
    const backend = new CpuBackend();
    const { solver, data } = crossEntropySetup(layers, [20, 20], backend, 4, 2, 1);
    const evaluator = new MetricsEvaluator(solver, data);
    let grad = Infinity;
    for (let k = 0; k < 3000 && !(grad < 1e-8); k++) {
      await solver.step();
      if (k % 50 === 49) grad = (await evaluator.evaluate()).gradNorm;
    }
    expect(grad).toBeLessThan(1e-8);
    evaluator.dispose();
    solver.dispose();
  });
});

describe('the β schedule', () => {
  it('multiplies β every m iterations up to the cap', () => {
    const schedule = { factor: 2, every: 3, cap: 5 };
    expect(betasAt([1, 0.5], schedule, 1)).toEqual([1, 0.5]);
    expect(betasAt([1, 0.5], schedule, 3)).toEqual([1, 0.5]);
    expect(betasAt([1, 0.5], schedule, 4)).toEqual([2, 1]);
    expect(betasAt([1, 0.5], schedule, 10)).toEqual([5, 4]);
    expect(betasAt([1, 0.5], undefined, 10)).toEqual([1, 0.5]);
  });

  const base = () => {
    const layers = [3, 5, 4, 2];
    const rng = new Rng(9);
    const n = 12;
    const data = { x: hostMatrix(3, n, Array.from({ length: 3 * n }, () => rng.normal())), y: hostMatrix(2, n, Array.from({ length: 2 * n }, () => 0.5 * rng.normal())) };
    const config: AdmmConfig = { layers, activation: tanh, beta: [0.5, 1, 2], lambda: 0.1, stepRule: authorsStepRule, init: { scheme: 'xavier', seed: 2 }, betaSchedule: { factor: 2, every: 3, cap: 6 } };
    return { data, config };
  };

  for (const [what, schedule, pattern] of [
    ['factor ≤ 0', { factor: 0, every: 3, cap: 6 }, /factor must be a finite number > 0/],
    ['a period that is not a positive integer', { factor: 2, every: 1.5, cap: 6 }, /period must be a positive integer/],
    ['cap < start', { factor: 2, every: 3, cap: 1.5 }, /cap must be a finite number ≥ the largest starting beta 2/],
  ] as const) {
    it(`refuses ${what}`, () => {
      const { data, config } = base();
      expect(() => AdmmSolver.create(new CpuBackend(), data, { ...config, betaSchedule: schedule })).toThrow(InvalidProblemError);
      expect(() => AdmmSolver.create(new CpuBackend(), data, { ...config, betaSchedule: schedule })).toThrow(pattern);
    });
  }

  it('(8) and (50) hold with the scheduled β_N, and a restore across a change of β continues bit for bit', async () => {
    const { data, config } = base();
    const straight = AdmmSolver.create(new CpuBackend(), data, config);
    const N = 3;
    let prev = await straight.snapshot();
    for (let k = 1; k <= 8; k++) {
      await straight.step();
      const cur = await straight.snapshot();
      const betaN = betasAt([0.5, 1, 2], config.betaSchedule, k)[N - 1];
      expect(straight.beta(N)).toBe(betaN);
      // (8): W_N (λI + β_N A Aᵀ) = (β_N V_N^{k−1} − Λ_N^{k−1}) Aᵀ with A = Ṽ_{N−1}^{k−1}.
      const a = augment(prev.V[N - 1], true);
      const lhs = add(scale(0.1, cur.W[N]), scale(betaN, mul(mul(cur.W[N], a), transpose(a))));
      const rhs = mul(sub(scale(betaN, prev.V[N]), prev.Lambda[N]), transpose(a));
      expect(relDiff(lhs, rhs)).toBeLessThan(1e-10);
      // (50) with the squared loss: Λ_N^k = V_N^k − Y, whatever β_N^k is.
      expect(relDiff(cur.Lambda[N], sub(cur.V[N], data.y))).toBeLessThan(1e-10);
      prev = cur;
    }
    const first = AdmmSolver.create(new CpuBackend(), data, config);
    for (let k = 0; k < 4; k++) await first.step();
    const checkpoint = await first.snapshot();
    const resumed = AdmmSolver.create(new CpuBackend(), data, config);
    resumed.restore(checkpoint);
    for (let k = 0; k < 4; k++) await resumed.step();
    const a = await straight.snapshot();
    const b = await resumed.snapshot();
    for (let i = 1; i <= N; i++) {
      expect(Array.from(b.W[i].data)).toEqual(Array.from(a.W[i].data));
      expect(Array.from(b.V[i].data)).toEqual(Array.from(a.V[i].data));
      expect(Array.from(b.Lambda[i].data)).toEqual(Array.from(a.Lambda[i].data));
    }
  });
});

describe('the theory report with a non-quadratic loss', () => {
  it('says which results cross-entropy leaves unproven', () => {
    const layers = [3, 4, 2];
    const data = classification(layers, 6, 1);
    const config: AdmmConfig = { layers, activation: sigmoid, beta: 4, lambda: 1, stepRule: paperStepRule, init: { scheme: 'xavier', seed: 1 } };
    const plain = checkHypotheses(theoryInputFromConfig(data, config), { betas: [4, 4], lambda: 1 });
    const withLoss = checkHypotheses(theoryInputFromConfig(data, { ...config, loss: crossEntropy }), { betas: [4, 4], lambda: 1 });
    expect(plain.notes.some((n) => n.includes('not the paper'))).toBe(false);
    const note = withLoss.notes.find((n) => n.includes("loss 'cross-entropy' is not the paper's"));
    expect(note).toMatch(/Lemma 2's descent \(28\).*Theorems 1 and 3 are unproven/);
    expect(withLoss.hypotheses.map((h) => h.lhs)).toEqual(plain.hypotheses.map((h) => h.lhs));
  });
});
