// The WebGPU backend (f32) against the shared conformance suite, once as it is and once with matrices split into
// column chunks, plus what is specific to it: pivot failures found on the device, the pipeline cache, the adapter.
// One device per file (a live Dawn device keeps a CPU core busy): created in beforeAll, destroyed in afterAll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Activation, NotPositiveDefiniteError } from '@nladmm/core';
import { builtinActivations } from '@nladmm/activations';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { type NodeDevice, createNodeDevice } from '@nladmm/webgpu-backend/node';
import { describeBackendConformance } from './conformance/backendSuite.ts';
import { CpuBackend } from '@nladmm/cpu-backend';
import { type HostMatrix, createRng, frobenius, hostMatrix, randomMatrix, randomSpd, refGemm } from './conformance/reference.ts';

let gpu: NodeDevice | undefined;
beforeAll(async () => {
  gpu = await createNodeDevice();
});
afterAll(() => gpu?.destroy());

const backendOn = async (options: { maxBindingBytes?: number; inverseSolveMinRhs?: number } = {}): Promise<WebGpuBackend> => {
  const { device, info } = gpu!;
  return WebGpuBackend.create({ device, adapterInfo: info, ...options });
};

// Tolerance. The suite's `rel` is the accuracy of one well-conditioned op on a few values; it scales it by √k for
// sums of k terms and by κ for solutions. Here every result is computed in f32 (unit roundoff u = 2⁻²⁴ ≈ 6.0e-8),
// not just stored in it: a sum of k terms carries about √k·u of relative error (sums are blocked, split-K partials
// added pairwise), Cholesky and the blocked solves a small multiple of √n·u backward error — all well inside
// 16 u ≈ 1e-6 on top of the suite's scaling, the value it uses for the CPU backend in f32 storage mode.
// The activation steps are the exception, as they evaluate transcendental builtins: WGSL only bounds f32 exp(x) to
// 3 + 2|x| ULP, and the suite's σ′ = 4e/(1+e)² with e = exp(−2|x|), |x| ≤ 3, allows 3 + 2·6 = 15 ULP there, plus
// tanh's error and about 6 roundings of the fused Λ + β(σ(S) − V)·σ′(S): ≈ 25 u ≈ 1.5e-6. Hence rel = 2e-6 ≈ 34 u.
const REL = 2e-6;

describeBackendConformance('webgpu f32', () => backendOn(), { rel: REL });

// 256 KiB per buffer: every d × d matrix of the suite (≤ 130 × 130) still fits one buffer, while its long operands
// are split into column chunks — 64 × 5000 into 5, 5000 × 65 into 6, 33 × 5000 and 5000 × 33 into 3, the 2000 × 65
// right-hand sides into 3 — so that every op runs its chunked path: elementwise ops and reductions per chunk, GEMM
// cut along M, N and K (K pieces summed as split-K partials), Gram matrices from chunks, solves over chunks.
const SPLIT_BYTES = 256 * 1024;
describeBackendConformance('webgpu f32, split into column chunks', () => backendOn({ maxBindingBytes: SPLIT_BYTES }), { rel: REL });

describe('WebGpuBackend specifics', () => {
  let backend!: WebGpuBackend;
  beforeAll(async () => {
    backend = await backendOn();
  });
  afterAll(() => backend?.dispose());

  it('describes the adapter and its precision', async () => {
    const { info } = gpu!;
    expect(backend.name).toBe('webgpu');
    expect(backend.precision).toBe('f32');
    const text = backend.describe();
    expect(text).toContain('f32');
    expect(text).toContain(info.architecture || info.vendor);
    if (info.isSoftware) expect(text).toMatch(/software/);
  });

  it('reports a non-positive pivot found on the device at the next sync, download or readScalar', async () => {
    const n = 70;
    const m = backend.alloc(n, n);
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) data[i * n + i] = i === 45 ? -2 : 1 + i;
    backend.upload(m, data);
    backend.cholesky(m);
    await expect(backend.download(m)).rejects.toBeInstanceOf(NotPositiveDefiniteError);
    // Reported once; the backend stays usable.
    backend.upload(m, data.map((v, k) => (k % (n + 1) === 0 ? Math.abs(v) : v)));
    backend.cholesky(m);
    await backend.sync();
    // Through readScalar, with the pivot's index and value (a pivot in the second block).
    backend.upload(m, data);
    backend.cholesky(m);
    const s = backend.scalar(1);
    const error = await backend.readScalar(s).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotPositiveDefiniteError);
    expect((error as NotPositiveDefiniteError).pivotIndex).toBe(45);
    expect((error as NotPositiveDefiniteError).pivot).toBe(-2);
    expect((error as NotPositiveDefiniteError).size).toBe(n);
    expect(await backend.readScalar(s)).toBe(1);
    backend.freeScalar(s);
    backend.free(m);
  });

  it('caches pipelines: repeating a call creates none', async () => {
    const rng = createRng(5);
    const a = backend.alloc(33, 40);
    const b = backend.alloc(40, 17);
    const c = backend.alloc(33, 17);
    backend.upload(a, randomMatrix(rng, 33, 40).data);
    backend.upload(b, randomMatrix(rng, 40, 17).data);
    const s = backend.scalar();
    const run = () => {
      backend.gemm(1, a, false, b, false, 0, c);
      backend.axpby(2, c, 1, c);
      backend.sumSquares(s, c);
    };
    run();
    await backend.sync();
    const before = backend.stats.pipelinesCreated;
    const bindGroupsBefore = backend.stats.bindGroupsCreated;
    run();
    await backend.sync();
    expect(backend.stats.pipelinesCreated).toBe(before);
    expect(backend.stats.bindGroupsCreated).toBe(bindGroupsBefore);
    for (const m of [a, b, c]) backend.free(m);
    backend.freeScalar(s);
  });

  it('prepareActivation compiles the fused steps as Algorithm 1 calls them: none compiles later', async () => {
    const softsign: Activation = {
      name: 'test-softsign',
      sigma: (u) => u / (1 + Math.abs(u)),
      dsigma: (u) => 1 / (1 + Math.abs(u)) ** 2,
      d2sigma: (u) => (-2 * Math.sign(u)) / (1 + Math.abs(u)) ** 3,
      wgsl: { sigma: 'return x / (1.0 + abs(x));', dsigma: 'let d = 1.0 + abs(x); return 1.0 / (d * d);' },
      bounds: { L0: 1, L1: 1, L2: 2 },
      satisfiesAssumption1: false,
    };
    await backend.prepareActivation(softsign);
    const before = backend.stats.pipelinesCreated;
    const [S, V, L, G] = [backend.alloc(4, 5), backend.alloc(4, 5), backend.alloc(4, 5), backend.alloc(4, 5)];
    backend.multiplierStep(softsign, S, V, L, 1, true, G); // the gradient G of (16)/(17)
    backend.multiplierStep(softsign, S, V, L, 1, false, G); // the right-hand side of (19)
    backend.multiplierStep(softsign, S, V, L, 1, true, S); // in place on Zn
    backend.multiplierStep(softsign, S, V, L, 1, false, L); // the Λ update (13)
    backend.activate(softsign, S, G);
    backend.activate(softsign, S, S);
    await backend.sync();
    expect(backend.stats.pipelinesCreated).toBe(before);
    for (const m of [S, V, L, G]) backend.free(m);
  });

  // The built-in activations' WGSL σ and σ′ on the device, far into the tails (no exp overflow to inf/inf = NaN,
  // no ∞ · 0): σ from activate, σ′ from the fused multiplier step with Λ = 1, β = 0, which gives (1 + 0)·σ′(S).
  // The tolerance is loose because WGSL bounds f32 exp(x) only to 3 + 2|x| ULP (83 ULP ≈ 5e-6 at |x| = 40) and
  // atan to 4096 ULP; what this checks is that every value is finite and right, the unbounded σ (softplus,
  // silu) relative to its size.
  it.each(builtinActivations.map((act) => [act.name, act] as const))('evaluates the WGSL σ and σ′ of %s like the JS functions, for |x| up to 1e30', async (name, act) => {
    const z = [...Array.from({ length: 321 }, (_, i) => -40 + i * 0.25), ...[50, 100, 1e4, 1e10, 1e19, 1e30].flatMap((v) => [v, -v])];
    await backend.prepareActivation(act);
    const [S, V, L, O] = [backend.alloc(1, z.length), backend.alloc(1, z.length), backend.alloc(1, z.length), backend.alloc(1, z.length)];
    backend.upload(S, z);
    backend.upload(V, z.map(() => 0));
    backend.upload(L, z.map(() => 1));
    backend.activate(act, S, O);
    const sigma = await backend.download(O);
    backend.multiplierStep(act, S, V, L, 0, true, O);
    const dsigma = await backend.download(O);
    z.forEach((u, i) => {
      // The device holds the f32 input: compare at it (f32(1e30) = 1e30 + 1.5e22).
      const x = Math.fround(u);
      expect(Number.isFinite(sigma[i]) && Number.isFinite(dsigma[i]), `${name}: σ(${u}) = ${sigma[i]}, σ′(${u}) = ${dsigma[i]}`).toBe(true);
      expect(Math.abs(sigma[i] - act.sigma(x)), `${name}: σ(${u}) = ${sigma[i]}`).toBeLessThan(2e-5 * (1 + Math.abs(act.sigma(x))));
      expect(Math.abs(dsigma[i] - act.dsigma(x)), `${name}: σ′(${u}) = ${dsigma[i]}`).toBeLessThan(2e-5 * (1 + Math.abs(act.dsigma(x))));
    });
    for (const m of [S, V, L, O]) backend.free(m);
  });

  it('shares compiled pipelines between backends on one device without mixing up activations', async () => {
    const act = (name: string, body: string, f: (u: number) => number): Activation => ({
      name,
      sigma: f,
      dsigma: () => 1,
      d2sigma: () => 0,
      wgsl: { sigma: body, dsigma: 'return 1.0;' },
      bounds: { L0: Infinity, L1: 1, L2: 0 },
      satisfiesAssumption1: false,
    });
    // Bodies longer than the runtime's key-interning threshold, so that they are keyed by interned ids.
    const twice = act('twice', 'let scaled = 2.0 * x; return scaled;', (u) => 2 * u);
    const thrice = act('thrice', 'let scaled = 3.0 * x; return scaled;', (u) => 3 * u);
    const other = await backendOn();
    try {
      for (const [b, a, factor] of [[backend, twice, 2], [other, thrice, 3], [backend, thrice, 3], [other, twice, 2]] as const) {
        const m = b.alloc(1, 3);
        b.upload(m, [1, -2, 0.5]);
        b.activate(a, m, m);
        expect(Array.from(await b.download(m))).toEqual([1, -2, 0.5].map((v) => factor * v));
        b.free(m);
      }
      const created = other.stats.pipelinesCreated;
      const m = other.alloc(2, 2);
      other.activate(twice, m, m);
      await other.sync();
      expect(other.stats.pipelinesCreated).toBe(created);
      other.free(m);
    } finally {
      other.dispose();
    }
  });

  it('profiles every dispatch with GPU timestamps, labelled, without changing results', async () => {
    const rng = createRng(21);
    const [A, B] = [randomMatrix(rng, 37, 70), randomMatrix(rng, 70, 45)];
    const a = backend.alloc(37, 70);
    const b = backend.alloc(70, 45);
    const plain = backend.alloc(37, 45);
    const profiled = backend.alloc(37, 45);
    backend.upload(a, Float32Array.from(A.data));
    backend.upload(b, Float32Array.from(B.data));
    backend.gemm(1, a, false, b, false, 0, plain);
    backend.axpby(2, plain, 0, plain);
    const dispatches = backend.stats.dispatches;
    const entries = await backend.profile(() => {
      backend.gemm(1, a, false, b, false, 0, profiled);
      backend.axpby(2, profiled, 0, profiled);
    });
    expect(entries.length).toBe(backend.stats.dispatches - dispatches);
    expect(entries[0].label).toMatch(/^gemm NN 37×45×70 /);
    expect(entries.at(-1)!.label).toBe('elementwise axpby 37×45');
    for (const e of entries) expect(Number.isFinite(e.ms) && e.ms >= 0).toBe(true);
    expect(entries.some((e) => e.ms > 0)).toBe(true);
    expect(await backend.download(profiled)).toEqual(await backend.download(plain));
    // Capacity 1: the first dispatch is timed, the rest run unprofiled.
    const one = await backend.profile(() => {
      backend.axpby(1, profiled, 1, profiled);
      backend.axpby(1, profiled, 1, profiled);
    }, 1);
    expect(one.map((e) => e.label)).toEqual(['elementwise axpby 37×45']);
    await expect(backend.profile(() => undefined, 0)).rejects.toThrow(/capacity must be an integer in \[1, 2048\], got 0/);
    for (const m of [a, b, plain, profiled]) backend.free(m);
  });

  it('batches work: many calls, few submits (one per 64 dispatches, so the GPU starts while the host encodes)', async () => {
    const m = backend.alloc(8, 8);
    await backend.sync();
    const submits = backend.stats.submits;
    for (let k = 0; k < 200; k++) backend.axpby(1, m, 0.5, m);
    await backend.sync();
    expect(backend.stats.submits - submits).toBe(Math.ceil(200 / 64));
    backend.free(m);
  });

  it('computes the same products with every GEMM tile config (forced), split-K and the symmetric mode included', async () => {
    const rng = createRng(13);
    const cases: [number, number, number, boolean, boolean][] = [
      [68, 72, 36, false, false], // vec4 loads on both operands, vec4 stores of C
      [37, 53, 29, true, false], // scalar loads, partial tiles
      [45, 33, 700, false, true], // long K: split into partial slices on this adapter
      [40, 36, 900, false, false], // split-K with vec4 loads, and vec4 stores of the partials and of C
      [19, 140, 23, true, true],
    ];
    // The table's configs and some given as specs (BMxBN-kBK-tTMxTN[-s2]): a tall thread block with BK = 32, a wide one
    // with BK = 8, and double-buffered ones (one of them with a partial staging load: 32·4/4 = 32 vec4s for 16 threads).
    for (const forceConfig of [...WebGpuBackend.gemmConfigs, '64x32-k32-t8x4', '32x64-k8-t4x8', '64x64-k16-t4x4-s2', '32x32-k4-t8x8-s2', '128x128-k16-t8x8-s2']) {
      const b = await WebGpuBackend.create({ device: gpu!.device, adapterInfo: gpu!.info, gemm: { forceConfig } });
      try {
        for (const [m, n, k, transA, transB] of cases) {
          const a = transA ? randomMatrix(rng, k, m) : randomMatrix(rng, m, k);
          const bb = transB ? randomMatrix(rng, n, k) : randomMatrix(rng, k, n);
          const c = randomMatrix(rng, m, n);
          const [A, B, C] = [b.alloc(a.rows, a.cols), b.alloc(bb.rows, bb.cols), b.alloc(m, n)];
          b.upload(A, a.data);
          b.upload(B, bb.data);
          b.upload(C, c.data);
          b.gemm(0.5, A, transA, B, transB, -1.5, C);
          const got = hostMatrix(m, n, await b.download(C));
          const want = refGemm(0.5, a, transA, bb, transB, -1.5, c);
          const error = frobenius(hostMatrix(m, n, got.data.map((v, i) => v - want.data[i])));
          const scale = 0.5 * frobenius(a) * frobenius(bb) + 1.5 * frobenius(c);
          expect(error / scale, `${forceConfig}: ${m}×${n}×${k} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`).toBeLessThan(REL * Math.sqrt(k));
        }
        const x = randomMatrix(rng, 70, 650);
        const X = b.alloc(70, 650);
        const G = b.alloc(70, 70);
        b.upload(X, x.data);
        b.gram(1, X, false, 0, G);
        const gram = await b.download(G);
        const want = refGemm(1, x, false, x, true, 0, hostMatrix(70, 70));
        const error = frobenius(hostMatrix(70, 70, gram.map((v, i) => v - want.data[i])));
        expect(error / frobenius(x) ** 2, `${forceConfig}: gram`).toBeLessThan(REL * Math.sqrt(650));
        for (let i = 0; i < 70; i++) for (let j = 0; j < i; j++) expect(gram[i * 70 + j]).toBe(gram[j * 70 + i]);
      } finally {
        b.dispose();
      }
    }
  });

  it('refuses a GEMM config spec it cannot run, naming the problem', async () => {
    const cases: [string, RegExp][] = [
      ['bogus', /unknown GEMM config 'bogus' \(known: 128x128, .*or BMxBN-kBK-tTMxTN\[-s2\]\)/],
      ['64x64-k6-t4x4', /'64x64-k6-t4x4': BK must be a positive multiple of 4/],
      ['64x64-k8-t6x4', /TM and TN must be positive multiples of 4/],
      ['100x64-k8-t8x8', /BM and BN must be multiples of TM and TN/],
      ['256x256-k4-t4x4', /4096 threads per workgroup exceed the device's \d+/],
      ['256x256-k64-t16x16', /131072 bytes of workgroup memory exceed the device's \d+/],
      ['128x128-k64-t8x8-s2', /131072 bytes of workgroup memory exceed the device's \d+/],
      ['128x128-k16-t8x8-s3', /unknown GEMM config '128x128-k16-t8x8-s3'/],
    ];
    for (const [forceConfig, message] of cases) {
      const b = await WebGpuBackend.create({ device: gpu!.device, adapterInfo: gpu!.info, gemm: { forceConfig } });
      try {
        const m = b.alloc(8, 8);
        expect(() => b.gemm(1, m, false, m, false, 0, b.alloc(8, 8)), forceConfig).toThrow(message);
      } finally {
        b.dispose();
      }
    }
  });

  it('splits matrices above maxBindingBytes into column chunks and multiplies across them (A Aᵀ over 3 chunks)', async () => {
    const split = await backendOn({ maxBindingBytes: 8 * 100 * 4 });
    try {
      const rng = createRng(9);
      const x = randomMatrix(rng, 8, 300);
      const X = split.alloc(8, 300); // 8 × 100 columns per chunk
      split.upload(X, x.data);
      const G = split.alloc(8, 8);
      split.gram(1, X, false, 0, G);
      const got = hostMatrix(8, 8, await split.download(G));
      const want = refGemm(1, x, false, x, true, 0, hostMatrix(8, 8));
      expect(frobenius(hostMatrix(8, 8, got.data.map((v, i) => v - want.data[i]))) / frobenius(want)).toBeLessThan(1e-5);
      expect(() => split.cholesky(split.alloc(40, 40))).toThrow(/maxBindingBytes/);
      expect(() => split.alloc(801, 2)).toThrow(/maxBindingBytes/);
    } finally {
      split.dispose();
    }
  });

  it('refuses a second use after dispose and matrices of another backend', async () => {
    const other = await backendOn();
    const m = other.alloc(2, 2);
    expect(() => backend.fill(m, 0)).toThrow(TypeError);
    other.dispose();
    expect(() => other.fill(m, 0)).toThrow(/freed/);
    expect(() => other.alloc(1, 1)).toThrow(/disposed/);
  });
});

describe('webgpu solves by explicit inverse and by substitution', () => {
  // An SPD matrix of condition κ = 1e4 with many right-hand sides, factored and solved in f64 on the CPU backend; the
  // f32 device solves (forced onto the explicit-L⁻¹ path and onto the blocked substitution) must both be within a
  // small multiple of κ·u of it (u = 2⁻²⁴): forward error of a backward-stable solve is ≈ κ·u·(small constant), and
  // multiplying by L⁻¹ computed in f32 has the same first-order bound for SPD systems.
  const n = 150; // two inverse panels, a partial last block (64 ∤ 150)
  const r = 700; // ≥ 4·n: the default picks the inverse path too
  const kappa = 1e4;
  const tol = kappa * 2 ** -24; // κ·u ≈ 6e-4 (the errors seen are ≈ 5e-7: random right-hand sides)
  const rng = createRng(31);
  const spd = randomSpd(rng, n, kappa);
  const bLeft = randomMatrix(rng, n, r);
  const bRight = randomMatrix(rng, r, n);

  /**
   * The f64 CPU factor L of `m` (its strict upper triangle zeroed: not part of L, and the CPU backend may leave M's
   * there) and the solutions X of L Lᵀ X = bLeft and Y of Y L Lᵀ = bRight.
   */
  const reference = async (m: HostMatrix, left: HostMatrix, right: HostMatrix): Promise<{ l: Float64Array; left: Float64Array; right: Float64Array }> => {
    const cpu = new CpuBackend();
    const order = m.rows;
    const M = cpu.alloc(order, order);
    cpu.upload(M, m.data);
    cpu.cholesky(M);
    const X = cpu.alloc(left.rows, left.cols);
    cpu.upload(X, left.data);
    cpu.solveLeft(M, X);
    const Y = cpu.alloc(right.rows, right.cols);
    cpu.upload(Y, right.data);
    cpu.solveRight(M, Y);
    const l = (await cpu.download(M)).map((v, i) => (i % order > Math.floor(i / order) ? 0 : v));
    const out = { l, left: await cpu.download(X), right: await cpu.download(Y) };
    cpu.dispose?.();
    return out;
  };

  const relErr = (got: Float64Array, want: Float64Array): number =>
    frobenius(got.map((v, i) => v - want[i])) / frobenius(want);

  /** The same solves on a GPU backend, given the factor L. */
  const solveOn = async (gpuBackend: WebGpuBackend, l: Float64Array, left: HostMatrix, right: HostMatrix): Promise<{ left: Float64Array; right: Float64Array }> => {
    const order = left.rows;
    const L = gpuBackend.alloc(order, order);
    gpuBackend.upload(L, l);
    const X = gpuBackend.alloc(left.rows, left.cols);
    gpuBackend.upload(X, left.data);
    gpuBackend.solveLeft(L, X);
    const Y = gpuBackend.alloc(right.rows, right.cols);
    gpuBackend.upload(Y, right.data);
    gpuBackend.solveRight(L, Y);
    return { left: await gpuBackend.download(X), right: await gpuBackend.download(Y) };
  };

  it('agree with the CPU f64 backend within a multiple of κ·u (inverse, substitution, inverse over column chunks)', async () => {
    const want = await reference(spd, bLeft, bRight);
    const errors: Record<string, { left: number; right: number }> = {};
    for (const [name, options] of [
      ['inverse', { inverseSolveMinRhs: 0 }],
      ['substitution', { inverseSolveMinRhs: Number.POSITIVE_INFINITY }],
      ['default', {}],
      ['inverse, split', { inverseSolveMinRhs: 0, maxBindingBytes: n * n * 4 }], // L whole, B in chunks
    ] as const) {
      const b = await backendOn(options);
      try {
        const got = await solveOn(b, want.l, bLeft, bRight);
        errors[name] = { left: relErr(got.left, want.left), right: relErr(got.right, want.right) };
      } finally {
        b.dispose();
      }
    }
    for (const e of Object.values(errors)) {
      expect(e.left).toBeLessThan(tol);
      expect(e.right).toBeLessThan(tol);
    }
    console.log('solve errors vs f64', JSON.stringify(errors));
  });

  it('solves with 10⁶ right-hand sides on either side (default path), matching the CPU f64 solve', async () => {
    const order = 6;
    const count = 1_000_000;
    const m = randomSpd(rng, order, 100);
    const left = randomMatrix(rng, order, count);
    const right = randomMatrix(rng, count, order);
    const want = await reference(m, left, right);
    const b = await backendOn();
    try {
      const got = await solveOn(b, want.l, left, right);
      expect(relErr(got.left, want.left)).toBeLessThan(100 * 2 ** -24 * 8);
      expect(relErr(got.right, want.right)).toBeLessThan(100 * 2 ** -24 * 8);
    } finally {
      b.dispose();
    }
  });
});
