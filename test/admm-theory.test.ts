// The identities and inequalities the iterates of Algorithm 1 must satisfy (docs/design.md), checked in f64
// on the CPU reference backend against the host oracle of support/hostModel.ts.
import { describe, expect, it } from 'vitest';
import {
  type Activation,
  AdmmSolver,
  type AdmmConfig,
  type Backend,
  type HostIterate,
  MetricsEvaluator,
  Rng,
  hostMatrix,
  paperStepRule,
} from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { BlasBackend } from '@nladmm/blas-backend';
import { CpuBackend } from '@nladmm/cpu-backend';
import {
  type HostProblem,
  add,
  augment,
  augmentedLagrangian,
  dropBias,
  finiteDifferenceGradient,
  frob,
  frob2,
  hadamard,
  map,
  mul,
  relDiff,
  scale,
  sigmaOf,
  sub,
  transpose,
} from './support/hostModel.ts';
import { randomRegression } from './support/problems.ts';

const registry = createDefaultRegistry();
const sigmoid = registry.get('sigmoid');
const tanh = registry.get('tanh');

function setup(
  layers: number[],
  opts: { activation: Activation; betas: number[]; lambda: number; bias: boolean; seed: number; n?: number; backend?: () => Backend },
) {
  const data = randomRegression(layers, opts.n ?? 9, opts.seed);
  const config: AdmmConfig = {
    layers,
    activation: opts.activation,
    beta: opts.betas,
    lambda: opts.lambda,
    bias: opts.bias,
    stepRule: paperStepRule,
    init: { scheme: 'xavier', seed: opts.seed + 1, scale: 1.5 },
  };
  const backend = (opts.backend ?? (() => new CpuBackend()))();
  const solver = AdmmSolver.create(backend, data, config);
  const problem: HostProblem = { x: data.x, y: data.y, betas: opts.betas, lambda: opts.lambda, bias: opts.bias, activation: opts.activation };
  return { backend, solver, problem, data };
}

const betasFor = (depth: number) => Array.from({ length: depth }, (_, k) => 0.8 + 0.35 * k);

// Both f64 backends: the JavaScript reference, and blas on 2 threads (n = 9 is below its worker threshold; the
// blas-admm tests compare its threaded iterates with the reference's).
const F64_BACKENDS: [string, () => Backend][] = [
  ['cpu', () => new CpuBackend()],
  ['blas', () => new BlasBackend({ threads: 2 })],
];

describe.each(F64_BACKENDS)('Lemma 6 on %s: the multipliers are expressed by the primal iterates', (_name, backend) => {
  for (const depth of [2, 3, 5]) {
    for (const bias of [true, false]) {
      it(`(50)-(52) hold on every iteration, N = ${depth}, ${bias ? 'with' : 'without'} biases`, async () => {
        const layers = [4, ...Array.from({ length: depth - 1 }, (_, k) => 5 + (k % 2)), 3];
        const betas = betasFor(depth);
        const { solver, problem, backend: used } = setup(layers, { activation: sigmoid, betas, lambda: 0.05, bias, seed: 10 + depth, backend });
        const N = depth;
        let prev = await solver.snapshot();
        for (let k = 1; k <= 12; k++) {
          await solver.step();
          const cur = await solver.snapshot();
          const { mu } = await solver.stepSizes();
          // (50) Λ_N^k = V_N^k − Y
          expect(relDiff(cur.Lambda[N], sub(cur.V[N], problem.y))).toBeLessThan(1e-10);
          // (51) Λ_{N−1}^k = W̄_Nᵀ Λ_N^k + β_N W̄_Nᵀ (V_N^k − V_N^{k−1})
          const wbarN = dropBias(cur.W[N], bias);
          const rhs51 = mul(transpose(wbarN), add(cur.Lambda[N], scale(betas[N - 1], sub(cur.V[N], prev.V[N]))));
          expect(relDiff(cur.Lambda[N - 1], rhs51)).toBeLessThan(1e-10);
          // First line of the derivation of (52), j = N−2 … 1.
          for (let j = N - 2; j >= 1; j--) {
            const wNext = cur.W[j + 1];
            const wbar = dropBias(wNext, bias);
            const zn = mul(wNext, augment(prev.V[j], bias));
            const bj = betas[j];
            const inner = hadamard(add(prev.Lambda[j + 1], scale(bj, sub(map(zn, sigmoid.sigma), prev.V[j + 1]))), map(zn, sigmoid.dsigma));
            const prox = scale((bj * mu[j]) / 2, mul(mul(transpose(wbar), wbar), sub(cur.V[j], prev.V[j])));
            const rhs52 = add(mul(transpose(wbar), inner), prox);
            expect(relDiff(cur.Lambda[j], rhs52)).toBeLessThan(1e-10);
          }
          prev = cur;
        }
        solver.dispose();
        used.dispose();
      });
    }
  }
});

/** The descent terms of (28) for the step from `prev` to `cur`, with h_N = 2 and μ_{N−1} = 2 (the exact updates (8), (11)). */
function descentTerms(problem: HostProblem, prev: HostIterate, cur: HostIterate, h: number[], mu: number[]): number {
  const N = cur.W.length - 1;
  const { betas, lambda, bias } = problem;
  let total = 0;
  for (let i = 1; i <= N; i++) {
    const dW = sub(cur.W[i], prev.W[i]);
    const hi = i < N ? h[i] : 2;
    const input = i === 1 ? problem.x : prev.V[i - 1];
    total += (lambda / 2) * frob2(dW) + ((betas[i - 1] * hi) / 4) * frob2(mul(dW, augment(input, bias)));
  }
  for (let j = 1; j <= N - 1; j++) {
    const dV = sub(cur.V[j], prev.V[j]);
    const muj = j <= N - 2 ? mu[j] : 2;
    total += (betas[j - 1] / 2) * frob2(dV) + ((betas[j] * muj) / 4) * frob2(mul(dropBias(cur.W[j + 1], bias), dV));
  }
  total += ((1 + betas[N - 1]) / 2) * frob2(sub(cur.V[N], prev.V[N]));
  return total;
}

describe('Lemma 2: one-step progress (28) with the paper step rule', () => {
  const cases: { act: Activation; beta: number; lambda: number }[] = [];
  for (const act of [sigmoid, tanh]) {
    for (const [beta, lambda] of [[1, 0.1], [20, 1e-3], [0.02, 0.01]] as const) cases.push({ act, beta, lambda });
  }
  for (const { act, beta, lambda } of cases) {
    it(`holds on every iteration for ${act.name}, β = ${beta}, λ = ${lambda}`, async () => {
      const layers = [3, 6, 5, 2];
      const betas = [beta, beta, beta];
      const { solver, problem } = setup(layers, { activation: act, betas, lambda, bias: true, seed: 7 });
      let prev = await solver.snapshot();
      let lPrev = augmentedLagrangian(problem, prev);
      let rises = 0;
      for (let k = 1; k <= 30; k++) {
        await solver.step();
        const cur = await solver.snapshot();
        const { h, mu } = await solver.stepSizes();
        const lCur = augmentedLagrangian(problem, cur);
        let dualAscent = 0;
        for (let i = 1; i <= 3; i++) dualAscent += frob2(sub(cur.Lambda[i], prev.Lambda[i])) / betas[i - 1];
        const bound = lPrev - descentTerms(problem, prev, cur, h, mu) + dualAscent;
        expect(lCur).toBeLessThanOrEqual(bound + 1e-10 * (1 + Math.abs(lPrev)));
        if (lCur > lPrev) rises++;
        prev = cur;
        lPrev = lCur;
      }
      // With a small β the dual ascent dominates and 𝓛 rises; (28) must hold all the same.
      if (beta < 0.1) expect(rises).toBeGreaterThan(0);
      solver.dispose();
    });
  }
});

describe('each block update solves its subproblem and satisfies its descent inequality (69)-(74)', () => {
  // d_N < d_{N−1} solves V_{N−1}'s system by Woodbury; d_N ≥ d_{N−1} by the direct Cholesky: both are covered.
  for (const layers of [[3, 5, 2], [3, 5, 5, 5, 2], [3, 4, 6], [2, 4, 3, 5]]) {
    const depth = layers.length - 1;
    it(`optimality conditions and per-block inequalities, layers ${layers.join('-')}, tanh, biases`, async () => {
      const betas = betasFor(depth);
      const lambda = 0.02;
      const { solver, problem } = setup(layers, { activation: tanh, betas, lambda, bias: true, seed: 21 });
      const N = depth;
      const act = tanh;
      let before = await solver.snapshot();
      let checked = 0;
      solver.observer = async ({ block, layer: i }) => {
        const after = await solver.snapshot();
        const { h } = await solver.stepSizes();
        const lBefore = augmentedLagrangian(problem, before);
        const lAfter = augmentedLagrangian(problem, after);
        const tol = 1e-10 * (1 + Math.abs(lBefore));
        const input = (q: HostIterate, j: number) => augment(j === 0 ? problem.x : q.V[j], true);
        if (block === 'W') {
          const a = input(before, i - 1);
          const dW = sub(after.W[i], before.W[i]);
          const beta = betas[i - 1];
          const sigma = sigmaOf(problem, i, N);
          const z = mul(before.W[i], a);
          // Gradient of the linearised penalty at W^{k−1} (16); exact for the linear output layer.
          const g = hadamard(add(before.Lambda[i], scale(beta, sub(map(z, sigma.sigma), before.V[i]))), map(z, sigma.dsigma));
          const c = i < N ? (beta * h[i]) / 2 : beta;
          const residual = add(add(scale(lambda, after.W[i]), mul(g, transpose(a))), scale(c, mul(dW, mul(a, transpose(a)))));
          expect(frob(residual) / (1 + frob(mul(g, transpose(a))))).toBeLessThan(1e-10);
          // (69)/(70)
          const hi = i < N ? h[i] : 2;
          expect(lAfter).toBeLessThanOrEqual(lBefore - (lambda / 2) * frob2(dW) - ((beta * hi) / 4) * frob2(mul(dW, a)) + tol);
        } else if (block === 'V' && i < N) {
          const dV = sub(after.V[i], before.V[i]);
          const wbar = dropBias(after.W[i + 1], true);
          const p = map(mul(after.W[i], input(after, i - 1)), act.sigma);
          const zn = mul(after.W[i + 1], input(before, i));
          const next = sigmaOf(problem, i + 1, N);
          const gn = hadamard(add(before.Lambda[i + 1], scale(betas[i], sub(map(zn, next.sigma), before.V[i + 1]))), map(zn, next.dsigma));
          const cPrime = i + 1 < N ? (betas[i] * h[i + 1]) / 2 : betas[i];
          const own = add(before.Lambda[i], scale(betas[i - 1], sub(p, after.V[i])));
          const residual = add(sub(mul(transpose(wbar), gn), own), scale(cPrime, mul(mul(transpose(wbar), wbar), dV)));
          expect(frob(residual) / (1 + frob(own))).toBeLessThan(1e-10);
          // (71)/(72)
          const muj = i + 1 < N ? h[i + 1] : 2;
          expect(lAfter).toBeLessThanOrEqual(lBefore - (betas[i - 1] / 2) * frob2(dV) - ((betas[i] * muj) / 4) * frob2(mul(wbar, dV)) + tol);
        } else if (block === 'V') {
          // V_N: optimality of (12) and (73).
          const zN = mul(after.W[N], input(after, N - 1));
          const residual = sub(sub(after.V[N], problem.y), add(before.Lambda[N], scale(betas[N - 1], sub(zN, after.V[N]))));
          expect(frob(residual) / (1 + frob(problem.y))).toBeLessThan(1e-10);
          expect(lAfter).toBeLessThanOrEqual(lBefore - ((1 + betas[N - 1]) / 2) * frob2(sub(after.V[N], before.V[N])) + tol);
        } else {
          // (74): the multiplier step raises 𝓛 by exactly Σ β_i⁻¹ ‖Λ_i^k − Λ_i^{k−1}‖².
          let ascent = 0;
          for (let j = 1; j <= N; j++) ascent += frob2(sub(after.Lambda[j], before.Lambda[j])) / betas[j - 1];
          expect(Math.abs(lAfter - (lBefore + ascent))).toBeLessThan(tol);
        }
        checked++;
        before = after;
      };
      for (let k = 0; k < 6; k++) await solver.step();
      expect(checked).toBe(6 * (2 * N + 1));
      solver.dispose();
    });
  }
});

function randomIterate(layers: number[], n: number, seed: number, bias: boolean): HostIterate {
  const rng = new Rng(seed);
  const rand = (r: number, c: number) => hostMatrix(r, c, Array.from({ length: r * c }, () => rng.normal()));
  const N = layers.length - 1;
  const W = [hostMatrix(0, 0)];
  const V = [hostMatrix(0, 0)];
  const Lambda = [hostMatrix(0, 0)];
  for (let i = 1; i <= N; i++) {
    W.push(rand(layers[i], layers[i - 1] + (bias ? 1 : 0)));
    V.push(rand(layers[i], n));
    Lambda.push(rand(layers[i], n));
  }
  return { iteration: 0, W, V, Lambda };
}

describe('∇𝓛 and the augmented Lagrangian of the metrics', () => {
  for (const bias of [true, false]) {
    it(`agree with central finite differences of (6) on a tiny network (${bias ? 'with' : 'without'} biases)`, async () => {
      const layers = [3, 4, 3, 2];
      const betas = [0.7, 1.3, 2.1];
      const { solver, problem, data } = setup(layers, { activation: tanh, betas, lambda: 0.3, bias, seed: 3, n: 5 });
      const q = randomIterate(layers, 5, 99, bias);
      q.V[0] = data.x;
      solver.restore(q);
      const evaluator = new MetricsEvaluator(solver, data);
      const metrics = await evaluator.evaluate();
      const fd = finiteDifferenceGradient(problem, q);
      for (let i = 0; i < 3; i++) {
        expect(metrics.gradNormBlocks.W[i]).toBeCloseTo(frob(fd.W[i]), 6);
        expect(metrics.gradNormBlocks.V[i]).toBeCloseTo(frob(fd.V[i]), 6);
        expect(metrics.gradNormBlocks.Lambda[i]).toBeCloseTo(frob(fd.Lambda[i]), 6);
      }
      const total = Math.sqrt([...fd.W, ...fd.V, ...fd.Lambda].reduce((s, g) => s + frob2(g), 0));
      expect(Math.abs(metrics.gradNorm - total) / total).toBeLessThan(1e-7);
      expect(Math.abs(metrics.augmentedLagrangian - augmentedLagrangian(problem, q))).toBeLessThan(1e-10 * (1 + Math.abs(metrics.augmentedLagrangian)));
      evaluator.dispose();
      solver.dispose();
    });
  }
});
