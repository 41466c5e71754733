// Algorithm 1 on the WebGPU backend (f32) against the CPU reference (f64) from identical data and weights: the
// iterates, every metric, the Lemma 6 identities on the GPU iterates, and third-party activation plugins on the GPU.
// One device per file (a live Dawn device keeps a CPU core busy): created in beforeAll, destroyed in afterAll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Activation,
  type AdmmConfig,
  AdmmSolver,
  type IterationMetrics,
  MetricsEvaluator,
  PROX_TOLERANCE,
  paperStepRule,
} from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { crossEntropy } from '@nladmm/losses';
import { loadActivationPlugin } from '@nladmm/activations/node';
import { CpuBackend } from '@nladmm/cpu-backend';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { type NodeDevice, createNodeDevice } from '@nladmm/webgpu-backend/node';
import { add, augment, dropBias, hadamard, iterateDifference, lossGradientOf, map, mul, relDiff, scale, sub, transpose } from './support/hostModel.ts';
import { randomRegression } from './support/problems.ts';

let gpu: NodeDevice | undefined;
let backend!: WebGpuBackend;
beforeAll(async () => {
  gpu = await createNodeDevice();
  backend = await WebGpuBackend.create({ device: gpu.device, adapterInfo: gpu.info });
});
afterAll(() => {
  backend?.dispose();
  gpu?.destroy();
});

const registry = createDefaultRegistry();

/** The two runs of one problem: f64 on the CPU, f32 on the GPU. */
function solvers(layers: number[], activation: Activation, beta: number, lambda: number, seed: number, n = 40) {
  const data = randomRegression(layers, n, seed);
  const config: AdmmConfig = {
    layers,
    activation,
    beta,
    lambda,
    bias: true,
    stepRule: paperStepRule,
    init: { scheme: 'xavier', seed: seed + 1, scale: 1.5 },
  };
  return { data, config, cpu: AdmmSolver.create(new CpuBackend(), data, config), gpu: AdmmSolver.create(backend, data, config) };
}

/** Every scalar metric, by name. */
function metricValues(m: IterationMetrics): [string, number][] {
  const out: [string, number][] = [
    ['augmentedLagrangian', m.augmentedLagrangian],
    ['objective', m.objective],
    ['gradNorm', m.gradNorm],
    ['stepNorm', m.stepNorm],
    ['trainLoss', m.trainLoss],
  ];
  m.residuals.forEach((r, i) => out.push([`residual ${i + 1}`, r]));
  for (const block of ['W', 'V', 'Lambda'] as const) m.gradNormBlocks[block].forEach((g, i) => out.push([`‖∂𝓛/∂${block}${i + 1}‖`, g]));
  return out;
}

// Tolerance of the cross-check. Rounding to f32 (u = 2⁻²⁴ ≈ 6e-8) enters every block update through linear systems
// whose condition numbers reach 1e3-1e4 here (λI + c ÃÃᵀ with sigmoid features, all positive, and a row of ones): the
// very first W_N update of a sigmoid network already differs from f64 by ~1e-4 on the GPU, and ~3e-5 on the CPU
// backend in f32 storage mode (f64 arithmetic, f32 storage). Algorithm 1 then carries such perturbations along its
// trajectory: in f64, a relative perturbation of 1e-7 of X grows about 35-fold in 20 iterations for sigmoid, N = 4.
// The problems below (β = 10, λ = 1 for sigmoid; β = 1, λ = 0.05 for tanh, whose zero-mean features give better
// conditioned systems) keep the f32-storage CPU run within 1e-4 of f64 after 20 iterations; the GPU, which also
// rounds every product and sum to f32, stays within 4e-4 (measured). ITERATE_TOL = 2e-3 leaves a margin of 5 over
// that, while a wrong kernel (a wrong transpose, a missed β, a bad σ′) moves the iterates by O(1).
// Metrics are norms and sums of these iterates: the same bound applies relative to each metric's magnitude.
const ITERATE_TOL = 2e-3;
const ITERATIONS = 20;

describe('Algorithm 1 on WebGPU (f32) agrees with the CPU reference (f64)', () => {
  const cases: { layers: number[]; act: string; beta: number; lambda: number }[] = [];
  for (const layers of [[5, 8, 6, 3], [5, 8, 7, 6, 3]]) {
    cases.push({ layers, act: 'sigmoid', beta: 10, lambda: 1 });
    cases.push({ layers, act: 'tanh', beta: 1, lambda: 0.05 });
  }
  for (const { layers, act, beta, lambda } of cases) {
    it(`${ITERATIONS} iterations, N = ${layers.length - 1} (${layers.join('-')}), ${act}, biases: W, V, Λ and every metric`, async () => {
      const run = solvers(layers, registry.get(act), beta, lambda, 3);
      await backend.prepareActivation(run.config.activation);
      for (let k = 1; k <= ITERATIONS; k++) {
        await run.cpu.step({ trackIncrements: k === ITERATIONS });
        await run.gpu.step({ trackIncrements: k === ITERATIONS });
      }
      const diff = iterateDifference(await run.cpu.snapshot(), await run.gpu.snapshot());
      expect(diff.worst, `largest relative difference at ${diff.where}`).toBeLessThan(ITERATE_TOL);

      const evaluators = [new MetricsEvaluator(run.cpu, run.data), new MetricsEvaluator(run.gpu, run.data)];
      const [want, got] = [
        metricValues(await evaluators[0].evaluate(await run.cpu.increments())),
        metricValues(await evaluators[1].evaluate(await run.gpu.increments())),
      ];
      want.forEach(([name, value], k) => {
        const error = Math.abs(got[k][1] - value) / Math.max(Math.abs(value), 1e-12);
        expect(error, `${name}: GPU ${got[k][1]}, CPU ${value}`).toBeLessThan(ITERATE_TOL);
      });
      const [hCpu, hGpu] = [(await run.cpu.stepSizes()).h, (await run.gpu.stepSizes()).h];
      for (let i = 1; i < hCpu.length; i++) expect(Math.abs(hGpu[i] - hCpu[i]) / hCpu[i]).toBeLessThan(ITERATE_TOL);
      for (const e of evaluators) e.dispose();
      run.cpu.dispose();
      run.gpu.dispose();
    });
  }
});

// Lemma 6 on the GPU's own iterates, evaluated on the host in f64 from the downloaded f32 values. Each identity
// holds exactly in exact arithmetic for any iterate Algorithm 1 produces; in f32 it holds up to the rounding of the
// updates that establish it: (50) from the V_N and Λ_N updates (a few roundings of terms of size |Y|, β|S_N|),
// (51) and (52) from the solve of V_{N−1}'s (or V_j's) system, whose backward error is about n·u·‖system‖ and which
// turns into a residual relative to the multipliers of at most κ(system)·(a few u). With κ ≤ 1e2 for these V systems
// (β I + c′W̄ᵀW̄ with small W̄) and multipliers that cancel terms up to 10× their size, 1e-4 ≈ 1700 u is the bound.
const LEMMA6_TOL = 1e-4;

describe('Lemma 6 holds on the WebGPU iterates to f32 rounding', () => {
  for (const layers of [[4, 6, 5, 3], [4, 6, 6, 5, 3]]) {
    it(`(50)-(52) on every iteration, N = ${layers.length - 1}, sigmoid, biases`, async () => {
      const sigmoid = registry.get('sigmoid');
      const betas = layers.slice(1).map((_, k) => 0.8 + 0.35 * k);
      const data = randomRegression(layers, 12, 10 + layers.length);
      const solver = AdmmSolver.create(backend, data, {
        layers,
        activation: sigmoid,
        beta: betas,
        lambda: 0.05,
        bias: true,
        stepRule: paperStepRule,
        init: { scheme: 'xavier', seed: 11, scale: 1.5 },
      });
      const N = layers.length - 1;
      let prev = await solver.snapshot();
      const worst = [0, 0, 0];
      for (let k = 1; k <= 8; k++) {
        await solver.step();
        const cur = await solver.snapshot();
        const { mu } = await solver.stepSizes();
        // (50) Λ_N^k = V_N^k − Y
        worst[0] = Math.max(worst[0], relDiff(cur.Lambda[N], sub(cur.V[N], data.y)));
        // (51) Λ_{N−1}^k = W̄_Nᵀ Λ_N^k + β_N W̄_Nᵀ (V_N^k − V_N^{k−1})
        const wbarN = dropBias(cur.W[N], true);
        const rhs51 = mul(transpose(wbarN), add(cur.Lambda[N], scale(betas[N - 1], sub(cur.V[N], prev.V[N]))));
        worst[1] = Math.max(worst[1], relDiff(cur.Lambda[N - 1], rhs51));
        // First line of the derivation of (52), j = N−2 … 1.
        for (let j = N - 2; j >= 1; j--) {
          const wNext = cur.W[j + 1];
          const wbar = dropBias(wNext, true);
          const zn = mul(wNext, augment(prev.V[j], true));
          const bj = betas[j];
          const inner = hadamard(add(prev.Lambda[j + 1], scale(bj, sub(map(zn, sigmoid.sigma), prev.V[j + 1]))), map(zn, sigmoid.dsigma));
          const prox = scale((bj * mu[j]) / 2, mul(mul(transpose(wbar), wbar), sub(cur.V[j], prev.V[j])));
          worst[2] = Math.max(worst[2], relDiff(cur.Lambda[j], add(mul(transpose(wbar), inner), prox)));
        }
        prev = cur;
      }
      expect(worst[0], '(50)').toBeLessThan(LEMMA6_TOL);
      expect(worst[1], '(51)').toBeLessThan(LEMMA6_TOL);
      expect(worst[2], '(52)').toBeLessThan(LEMMA6_TOL);
      solver.dispose();
    });
  }
});

// Softmax cross-entropy: the V_N step is the WGSL Newton prox (shaders/loss.wgsl). The same problem class and
// tolerances as above (sigmoid, β = 10, λ = 1); (50) reads Λ_N = ∇ℓ(V_N), softmax(V_N) − Y, on the GPU's iterates.
describe('Algorithm 1 with cross-entropy on WebGPU (f32) agrees with the CPU reference (f64)', () => {
  it(`${ITERATIONS} iterations, N = 3 (5-8-6-3), sigmoid: W, V, Λ, the metrics and (50) Λ_N = ∇ℓ(V_N)`, async () => {
    const layers = [5, 8, 6, 3];
    const base = randomRegression(layers, 40, 5);
    const y = base.y.data.map(() => 0);
    for (let c = 0; c < 40; c++) y[(c % 3) * 40 + c] = 1;
    const data = { x: base.x, y: { rows: 3, cols: 40, data: y } };
    const config: AdmmConfig = {
      layers, activation: registry.get('sigmoid'), beta: 10, lambda: 1, bias: true, stepRule: paperStepRule,
      init: { scheme: 'xavier', seed: 6, scale: 1.5 }, loss: crossEntropy,
    };
    await backend.prepareActivation(config.activation);
    await backend.prepareLoss(crossEntropy, 3);
    const cpu = AdmmSolver.create(new CpuBackend(), data, config);
    const gpu = AdmmSolver.create(backend, data, config);
    let worst50 = 0;
    for (let k = 1; k <= ITERATIONS; k++) {
      await cpu.step({ trackIncrements: k === ITERATIONS });
      await gpu.step({ trackIncrements: k === ITERATIONS });
      const q = await gpu.snapshot();
      worst50 = Math.max(worst50, relDiff(q.Lambda[3], lossGradientOf(crossEntropy, q.V[3], data.y)));
    }
    expect(worst50).toBeLessThan(LEMMA6_TOL);
    const diff = iterateDifference(await cpu.snapshot(), await gpu.snapshot());
    expect(diff.worst, `largest relative difference at ${diff.where}`).toBeLessThan(ITERATE_TOL);
    const evaluators = [new MetricsEvaluator(cpu, data), new MetricsEvaluator(gpu, data)];
    const want = metricValues(await evaluators[0].evaluate(await cpu.increments()));
    const got = metricValues(await evaluators[1].evaluate(await gpu.increments()));
    // ∂𝓛/∂V_N = ∇ℓ(V_N) − Λ_N − β_N r_N is what remains of the V_N prox's optimality condition after the Λ_N update:
    // the f32 kernel stops at ‖∇F‖_∞ ≤ PROX_TOLERANCE.f32 (1 + β‖t‖_∞) per column, so this block is compared in
    // absolute terms, to that tolerance over the √(d_N n) entries, with ‖t‖_∞ of t = W_N Ṽ_{N−1} + Λ_N/β_N taken from
    // the reference's final iterate.
    const ref = await cpu.snapshot();
    const t = add(mul(ref.W[3], augment(ref.V[2], true)), scale(1 / 10, ref.Lambda[3]));
    const tMax = Math.max(...Array.from(t.data, Math.abs));
    const proxBound = PROX_TOLERANCE.f32 * (1 + 10 * tMax) * Math.sqrt(3 * 40);
    want.forEach(([name, value], k) => {
      if (name === '‖∂𝓛/∂V3‖') {
        expect(Math.abs(got[k][1] - value), `${name}: GPU ${got[k][1]}, CPU ${value}`).toBeLessThan(proxBound);
        return;
      }
      const error = Math.abs(got[k][1] - value) / Math.max(Math.abs(value), 1e-12);
      expect(error, `${name}: GPU ${got[k][1]}, CPU ${value}`).toBeLessThan(ITERATE_TOL);
    });
    for (const e of evaluators) e.dispose();
    cpu.dispose();
    gpu.dispose();
  });
});

describe('third-party activation plugins on the GPU', () => {
  it('softclip.mjs runs through its WGSL snippet and matches the CPU', async () => {
    const plugins = createDefaultRegistry();
    const softclip = await loadActivationPlugin(plugins, 'test/fixtures/plugins/softclip.mjs');
    await backend.prepareActivation(softclip);
    const run = solvers([4, 7, 5, 2], softclip, 1, 0.05, 21);
    for (let k = 0; k < 10; k++) {
      await run.cpu.step();
      await run.gpu.step();
    }
    const diff = iterateDifference(await run.cpu.snapshot(), await run.gpu.snapshot());
    expect(diff.worst, `largest relative difference at ${diff.where}`).toBeLessThan(ITERATE_TOL);
    // The elementwise steps themselves, far into the tails too (the snippet clamps before squaring).
    const z = [-1e30, -50, -3, -0.5, 0, 0.25, 2, 40, 1e30];
    const m = backend.alloc(1, z.length);
    const out = backend.alloc(1, z.length);
    backend.upload(m, z);
    backend.activate(softclip, m, out);
    const sigma = await backend.download(out);
    z.forEach((u, i) => expect(Math.abs(sigma[i] - softclip.sigma(u)), `σ(${u})`).toBeLessThan(4e-7));
    backend.free(m);
    backend.free(out);
    run.cpu.dispose();
    run.gpu.dispose();
  });

  it('refuses a plugin whose WGSL does not compile, naming it and quoting the compiler', async () => {
    const plugins = createDefaultRegistry();
    const broken = await loadActivationPlugin(plugins, 'test/fixtures/plugins/broken-wgsl.mjs');
    const error = await backend.prepareActivation(broken).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toContain("'broken-wgsl'");
    // The compiler's own words about the offending expression.
    expect(error!.message).toMatch(/error|no matching|operator|mismatch/i);
    expect(error!.message).toMatch(/t \+ 1u|1u/);
    // The backend stays usable.
    await backend.prepareActivation(registry.get('tanh'));
    const m = backend.alloc(2, 2);
    backend.activate(registry.get('tanh'), m, m);
    expect(Array.from(await backend.download(m))).toEqual([0, 0, 0, 0]);
    backend.free(m);
  });
});
