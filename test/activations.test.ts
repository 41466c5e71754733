import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type Activation,
  ActivationRegistry,
  ActivationValidationError,
  authorsStepRule,
  identityActivation,
  paperStepRule,
  validateActivation,
} from '@nladmm/core';
import { atan, builtinActivations, createDefaultRegistry, sigmoid, silu, softplus, tanh } from '@nladmm/activations';
import { loadActivationPlugin } from '@nladmm/activations/node';
import { compileWgslScalarF32 } from './support/wgslScalarF32.ts';

const testDir = dirname(fileURLToPath(import.meta.url));
const pluginsDir = join(testDir, 'fixtures', 'plugins');
const pluginPath = (file: string) => join(pluginsDir, file);
const softclipPath = pluginPath('softclip.mjs');

/** The example third-party plugin, loaded the way a user would load it. */
const softclip = await loadActivationPlugin(new ActivationRegistry(), softclipPath);

/** The claimed limits of σ, σ′, σ″ at u = +Infinity and u = −Infinity. */
const LIMITS: Record<string, { sigma: [number, number]; dsigma: [number, number]; d2sigma: [number, number] }> = {
  sigmoid: { sigma: [1, 0], dsigma: [0, 0], d2sigma: [0, 0] },
  tanh: { sigma: [1, -1], dsigma: [0, 0], d2sigma: [0, 0] },
  atan: { sigma: [Math.PI / 2, -Math.PI / 2], dsigma: [0, 0], d2sigma: [0, 0] },
  softclip: { sigma: [1, -1], dsigma: [0, 0], d2sigma: [0, 0] },
  softplus: { sigma: [Infinity, 0], dsigma: [1, 0], d2sigma: [0, 0] },
  silu: { sigma: [Infinity, 0], dsigma: [1, 0], d2sigma: [0, 0] },
};

const EXACT_BOUNDS: Record<string, { L0: number; L1: number; L2: number }> = {
  sigmoid: { L0: 1, L1: 1 / 4, L2: 1 / (6 * Math.sqrt(3)) },
  tanh: { L0: 1, L1: 1, L2: 4 / (3 * Math.sqrt(3)) },
  atan: { L0: Math.PI / 2, L1: 1, L2: (3 * Math.sqrt(3)) / 8 },
  softclip: { L0: 1, L1: 1, L2: (48 * Math.sqrt(5)) / 125 },
  // Outside Assumption 1 (σ unbounded); L1 of silu is (u⋆ + 2)/4 with u⋆ tanh(u⋆/2) = 2, re-derived below.
  softplus: { L0: Infinity, L1: 1, L2: 1 / 4 },
  silu: { L0: Infinity, L1: 1.099839320128867, L2: 1 / 2 },
};

/** The built-in activations that lie outside Assumption 1: σ is unbounded (L0 = ∞), σ′ and σ″ are bounded. */
const OUTSIDE_ASSUMPTION_1 = new Set(['softplus', 'silu']);

/**
 * Step 1e-5 on [−5, 5] (the maxima of |σ′|, |σ″| lie there), step 1e-4 on [−20, 20] (where sigmoid′-like tails
 * approach their sups), plus ±10^k for k from 1.3 to 300 (the tails, where |σ| approaches L0).
 */
function boundsGrid(): number[] {
  const grid: number[] = [];
  for (let i = -500_000; i <= 500_000; i++) grid.push(i / 100_000);
  for (let i = -200_000; i <= 200_000; i++) grid.push(i / 10_000);
  for (let k = 1.3; k <= 300; k += 0.01) grid.push(10 ** k, -(10 ** k));
  return grid;
}

/** Magnitudes from 10 to 1e300 and the largest double, both signs. */
const HUGE_INPUTS = [...Array.from({ length: 300 }, (_, i) => 10 ** (i + 1)), Number.MAX_VALUE].flatMap((u) => [u, -u]);

const underTest: Activation[] = [...builtinActivations, softclip];

describe.each(underTest.map((act) => [act.name, act] as const))('activation %s', (name, act) => {
  it('claims the exact bounds (of Assumption 1, or L0 = ∞ for those outside it)', () => {
    expect(act.satisfiesAssumption1).toBe(!OUTSIDE_ASSUMPTION_1.has(name));
    expect(act.bounds).toEqual(EXACT_BOUNDS[name]);
  });

  it('has bounds that are tight: the sup over a fine grid is within 1e-9 below each claimed bound', () => {
    // "Never above" up to 4 ulps: σ″ evaluated in floating point may round one ulp past the exact sup.
    const ulpSlack = 1 + 4 * Number.EPSILON;
    const sup = { L0: 0, L1: 0, L2: 0 };
    for (const u of boundsGrid()) {
      sup.L0 = Math.max(sup.L0, Math.abs(act.sigma(u)));
      sup.L1 = Math.max(sup.L1, Math.abs(act.dsigma(u)));
      sup.L2 = Math.max(sup.L2, Math.abs(act.d2sigma(u)));
    }
    for (const key of ['L0', 'L1', 'L2'] as const) {
      expect(sup[key], key).toBeLessThanOrEqual(act.bounds[key] * ulpSlack);
      // An unbounded σ (L0 = ∞) reaches the largest grid magnitudes.
      if (act.bounds[key] === Infinity) expect(sup[key], key).toBeGreaterThanOrEqual(1e299);
      else expect(act.bounds[key] - sup[key], key).toBeLessThan(1e-9);
    }
  });

  it('has σ′ and σ″ matching central differences of σ and σ′', () => {
    const h = 1e-5;
    const points = [...Array.from({ length: 6001 }, (_, i) => -30 + i * 0.01), 50, -50, 100, -100, 700, -700];
    for (const u of points) {
      // Divided by the step actually taken: at |u| = 700, u ± h rounds by up to 1e-13, which is 5e-9 of 2h and
      // matters where σ grows like u (softplus, silu).
      const [up, down] = [u + h, u - h];
      const fdFirst = (act.sigma(up) - act.sigma(down)) / (up - down);
      const fdSecond = (act.dsigma(up) - act.dsigma(down)) / (up - down);
      expect(Math.abs(fdFirst - act.dsigma(u)), `σ′(${u})`).toBeLessThan(1e-9 * (1 + Math.abs(fdFirst)));
      expect(Math.abs(fdSecond - act.d2sigma(u)), `σ″(${u})`).toBeLessThan(1e-9 * (1 + Math.abs(fdSecond)));
    }
  });

  it('stays finite for |u| up to 1e300 and the largest double', () => {
    for (const u of HUGE_INPUTS) {
      for (const fn of ['sigma', 'dsigma', 'd2sigma'] as const) {
        expect(Number.isFinite(act[fn](u)), `${fn}(${u}) = ${act[fn](u)}`).toBe(true);
      }
      expect(Math.abs(act.sigma(u))).toBeLessThanOrEqual(act.bounds.L0);
    }
  });

  it('gives the limits at ±Infinity', () => {
    const limits = LIMITS[name];
    for (const fn of ['sigma', 'dsigma', 'd2sigma'] as const) {
      const [atPlus, atMinus] = limits[fn];
      // Compared through `+ 0` so that −0 and +0 both count as the limit 0.
      expect(act[fn](Infinity) + 0, `${fn}(Infinity)`).toBe(atPlus);
      expect(act[fn](-Infinity) + 0, `${fn}(-Infinity)`).toBe(atMinus);
    }
  });

  it('is accepted by validateActivation', () => {
    expect(validateActivation(act)).toBe(act);
  });

  describe('WGSL snippets evaluated in f32', () => {
    const wgslSigma = compileWgslScalarF32(act.wgsl.sigma);
    const wgslDsigma = compileWgslScalarF32(act.wgsl.dsigma);
    const F32_MAX = 3.4028234663852886e38;

    it('agree with σ and σ′ to f32 accuracy', () => {
      for (let i = -4000; i <= 4000; i++) {
        const x = Math.fround(i / 100);
        expect(Math.abs(wgslSigma(x) - act.sigma(x)), `σ(${x})`).toBeLessThan(1e-6 * (1 + Math.abs(act.sigma(x))));
        expect(Math.abs(wgslDsigma(x) - act.dsigma(x)), `σ′(${x})`).toBeLessThan(1e-6 * (1 + Math.abs(act.dsigma(x))));
      }
    });

    it('stay finite, agree with σ and σ′, and reach the limits for |x| up to the f32 maximum', () => {
      const unbounded = act.bounds.L0 === Infinity;
      for (const x of [50, 100, 1e4, 1e10, 1e19, 1e30, F32_MAX].flatMap((v) => [v, -v])) {
        expect(Number.isFinite(wgslSigma(x)), `σ(${x}) = ${wgslSigma(x)}`).toBe(true);
        expect(Number.isFinite(wgslDsigma(x)), `σ′(${x}) = ${wgslDsigma(x)}`).toBe(true);
        // An unbounded σ (≈ x) is compared at the f32 input, relatively: f32(1e30) is 1e30 + 1.5e22.
        if (unbounded) expect(Math.abs(wgslSigma(x) - act.sigma(Math.fround(x))), `σ(${x})`).toBeLessThan(1e-6 * (1 + Math.abs(act.sigma(Math.fround(x)))));
        else expect(Math.abs(wgslSigma(x) - act.sigma(x)), `σ(${x})`).toBeLessThan(1e-6);
        expect(Math.abs(wgslDsigma(x) - act.dsigma(x)), `σ′(${x})`).toBeLessThan(1e-6 * Math.abs(act.dsigma(x)) + 1e-30);
      }
      const [atPlus, atMinus] = LIMITS[name].sigma;
      // σ(x) ≈ x reaches the f32 maximum itself rather than its limit ∞.
      expect(wgslSigma(F32_MAX)).toBe(atPlus === Infinity ? F32_MAX : Math.fround(atPlus));
      expect(wgslSigma(-F32_MAX) + 0).toBe(Math.fround(atMinus));
    });
  });
});

describe('stable forms keep relative accuracy in the tails', () => {
  it('sigmoid: σ(−700) and σ′(±700) equal e^{−700} to rounding', () => {
    const e700 = Math.exp(-700);
    expect(sigmoid.sigma(-700) / e700).toBeCloseTo(1, 12);
    expect(sigmoid.dsigma(700) / e700).toBeCloseTo(1, 12);
    expect(sigmoid.dsigma(-700) / e700).toBeCloseTo(1, 12);
    expect(sigmoid.d2sigma(-700) / e700).toBeCloseTo(1, 12);
  });

  it('tanh: σ′(300) = 4 e^{−600} rather than 1 − tanh² = 0', () => {
    expect(tanh.dsigma(300) / (4 * Math.exp(-600))).toBeCloseTo(1, 12);
    expect(tanh.d2sigma(-300) / (8 * Math.exp(-600))).toBeCloseTo(1, 12);
  });

  it('atan: σ″(1e100) = −2e−300', () => {
    expect(atan.d2sigma(1e100) / -2e-300).toBeCloseTo(1, 12);
  });
});

describe('softplus and SiLU: smooth ReLUs outside Assumption 1', () => {
  // [u, σ(u), σ′(u), σ″(u)], each rounded from a 40-digit evaluation (mpmath) of log(1 + e^u), u·s(u) and their
  // derivatives, with s the sigmoid.
  const REFERENCES: Record<'softplus' | 'silu', [number, number, number, number][]> = {
    softplus: [
      [-30, 9.357622968839737e-14, 9.357622968839299e-14, 9.357622968838423e-14],
      [-3, 0.04858735157374206, 0.04742587317756678, 0.04517665973091213],
      [-0.5, 0.4740769841801067, 0.37754066879814546, 0.2350037122015945],
      [0, 0.6931471805599453, 0.5, 0.25],
      [0.5, 0.9740769841801067, 0.6224593312018546, 0.2350037122015945],
      [1.5, 1.7014132779827524, 0.8175744761936437, 0.14914645207033286],
      [4, 4.0181499279178094, 0.9820137900379085, 0.017662706213291118],
      [30, 30.000000000000092, 0.9999999999999064, 9.357622968838423e-14],
    ],
    silu: [
      [-30, -2.8072868906517896e-12, -2.713710660963134e-12, -2.620134431274233e-12],
      [-3, -0.14227761953270035, -0.08810410601516962, -0.032321404521006174],
      [-0.5, -0.18877033439907273, 0.2600388126973482, 0.4412290269770286],
      [0, 0, 0.5, 0.5],
      [0.5, 0.3112296656009273, 0.7399611873026518, 0.4412290269770286],
      [1.5, 1.2263617142904655, 1.041294154299143, 0.1561975849635367],
      [4, 3.928055160151634, 1.052664614891073, -0.03278393128697429],
      [30, 29.999999999997193, 1.0000000000027136, -2.620134431274233e-12],
    ],
  };
  const acts = { softplus, silu };

  it.each(['softplus', 'silu'] as const)('%s: σ, σ′, σ″ match high-precision references to a few ulps', (name) => {
    const act = acts[name];
    for (const [u, s, ds, d2s] of REFERENCES[name]) {
      expect(Math.abs(act.sigma(u) - s), `σ(${u})`).toBeLessThanOrEqual(1e-15 * Math.abs(s));
      expect(Math.abs(act.dsigma(u) - ds), `σ′(${u})`).toBeLessThanOrEqual(1e-15 * Math.abs(ds));
      expect(Math.abs(act.d2sigma(u) - d2s), `σ″(${u})`).toBeLessThanOrEqual(1e-15 * Math.abs(d2s));
    }
  });

  it('are exact at u = 0: softplus(0) = ln 2, σ′ = 1/2, σ″ = 1/4; SiLU(0) = 0, σ′ = 1/2, σ″ = 1/2', () => {
    expect(softplus.sigma(0)).toBe(Math.LN2);
    expect(softplus.dsigma(0)).toBe(0.5);
    expect(softplus.d2sigma(0)).toBe(0.25);
    expect(silu.sigma(0)).toBe(0);
    expect(silu.dsigma(0)).toBe(0.5);
    expect(silu.d2sigma(0)).toBe(0.5);
  });

  it('are finite and asymptotically right on the far tails', () => {
    expect(softplus.sigma(1e300)).toBe(1e300);
    expect(softplus.sigma(-1e300)).toBe(0);
    expect(softplus.dsigma(1e300)).toBe(1);
    expect(softplus.dsigma(-1e300)).toBe(0);
    expect(silu.sigma(1e300)).toBe(1e300);
    expect(silu.sigma(-1e300) + 0).toBe(0);
    expect(silu.dsigma(1e300)).toBe(1);
    expect(silu.dsigma(-1e300)).toBe(0);
    for (const u of [1e300, -1e300]) {
      expect(softplus.d2sigma(u) + 0).toBe(0);
      expect(silu.d2sigma(u) + 0).toBe(0);
    }
    // Relative accuracy where the values are tiny: softplus(−700) = log1p(e^{−700}) ≈ e^{−700}; SiLU(−700) =
    // −700 s(−700), σ′(−700) ≈ (1 − 700) e^{−700}, σ″(−700) ≈ (2 − 700) e^{−700}.
    const e700 = Math.exp(-700);
    expect(softplus.sigma(-700) / e700).toBeCloseTo(1, 12);
    expect(silu.sigma(-700) / e700).toBeCloseTo(-700, 9);
    expect(silu.dsigma(-700) / e700).toBeCloseTo(-699, 9);
    expect(silu.d2sigma(-700) / e700).toBeCloseTo(-698, 9);
    expect(silu.d2sigma(700) / e700).toBeCloseTo(-698, 9);
    expect(softplus.sigma(700)).toBe(700);
    expect(silu.sigma(700)).toBe(700);
  });

  it("SiLU's L1 is σ′ at the root u⋆ of σ″ = 0 (u·tanh(u/2) = 2), found here by Newton: (u⋆ + 2)/4", () => {
    let u = 2.4;
    for (let k = 0; k < 20; k++) {
      const t = Math.tanh(u / 2);
      u -= (u * t - 2) / (t + (u / 2) * (1 - t * t));
    }
    expect(u).toBeCloseTo(2.3993572805154677, 14);
    expect(Math.abs(silu.d2sigma(u))).toBeLessThan(1e-15);
    const ulp = 2 ** -52;
    // The constant is the double nearest (u⋆ + 2)/4 = 1.0998393201288669169…; evaluating it in double rounds 1 ulp low.
    expect(Math.abs((u + 2) / 4 - silu.bounds.L1)).toBeLessThanOrEqual(ulp);
    expect(Math.abs(silu.dsigma(u) - silu.bounds.L1)).toBeLessThanOrEqual(2 * ulp);
    // σ′(u) + σ′(−u) = 1: the minimum σ′(−u⋆) = 1 − L1 ≈ −0.0998 is smaller in magnitude than L1.
    expect(silu.dsigma(-u)).toBeCloseTo(1 - silu.bounds.L1, 15);
    // σ″ attains L2 = 1/2 at 0; its negative minimum, at ±3.4358…, is −0.0369….
    expect(silu.d2sigma(3.435840993535111)).toBeCloseTo(-0.036914373199893186, 15);
  });

  it.each(['softplus', 'silu'] as const)('%s: accepted by validateActivation, refused by the paper step rule (L0 = ∞), served by the authors rule', (name) => {
    const act = acts[name];
    expect(act.satisfiesAssumption1).toBe(false);
    expect(act.bounds.L0).toBe(Infinity);
    expect(validateActivation(act)).toBe(act);
    expect(() => paperStepRule.coefficients(act.bounds)).toThrow(/step rule 'paper' needs finite activation bounds .*use step rule 'authors'/);
    expect(authorsStepRule.coefficients(act.bounds)).toEqual({ slope: 1, intercept: 0 });
  });

  it('have self-contained σ and σ′ (the blas backend rebuilds them from their source text in its worker threads)', () => {
    for (const act of [softplus, silu]) {
      for (const fn of ['sigma', 'dsigma'] as const) {
        const source = act[fn].toString();
        // A method's text (`dsigma(u) { … }`) is no expression on its own; an arrow function's is.
        const rebuilt = /^[A-Za-z_$][\w$]*\s*\(/.test(source) ? new Function(`return ({${source}})`)()[fn] : new Function(`return (${source});`)();
        for (const u of [-800, -700, -3, -0.5, 0, 0.5, 40, 1e300]) expect(Object.is(rebuilt(u), act[fn](u)), `${act.name}.${fn}(${u})`).toBe(true);
      }
    }
  });

  it("softplus's WGSL σ keeps its relative accuracy in the left tail (no log(1.0 + e) rounding to 0)", () => {
    const wgslSigma = compileWgslScalarF32(softplus.wgsl.sigma);
    for (const x of [-1, -5, -17, -20, -40, -80]) {
      expect(Math.abs(wgslSigma(x) / softplus.sigma(x) - 1), `σ(${x})`).toBeLessThan(1e-6);
    }
  });
});

describe('the WGSL f32 emulation used above', () => {
  it('models the overflow that motivates clamping tanh: tanh(100) unclamped is NaN', () => {
    expect(compileWgslScalarF32('return tanh(x);')(100)).toBeNaN();
    expect(compileWgslScalarF32('return x * x;')(1e20)).toBe(Infinity);
  });

  it('refuses functions it does not know', () => {
    expect(() => compileWgslScalarF32('return erf(x);')).toThrow("unsupported function 'erf'");
  });
});

describe('default registry', () => {
  it('holds exactly the built-ins, resolved by name', () => {
    const registry = createDefaultRegistry();
    expect(registry.names()).toEqual(['sigmoid', 'tanh', 'atan', 'softplus', 'silu']);
    expect(registry.get('sigmoid')).toBe(sigmoid);
    expect(registry.get('tanh')).toBe(tanh);
    expect(registry.get('atan')).toBe(atan);
    expect(registry.get('softplus')).toBe(softplus);
    expect(registry.get('silu')).toBe(silu);
  });

  it('does not hold the identity of the output layer (outside Assumption 1)', () => {
    const registry = createDefaultRegistry();
    expect(registry.has('identity')).toBe(false);
    expect(builtinActivations).not.toContain(identityActivation);
    expect(() => registry.get('identity')).toThrow("unknown activation 'identity'");
  });

  it('refuses a duplicate name', () => {
    expect(() => createDefaultRegistry().register(tanh)).toThrow("activation 'tanh' is already registered");
  });

  it('refuses an unknown name, listing the registered ones', () => {
    expect(() => createDefaultRegistry().get('relu')).toThrow(
      new RangeError("unknown activation 'relu' (registered: sigmoid, tanh, atan, softplus, silu)"),
    );
  });

  it('is a new registry on each call', () => {
    const first = createDefaultRegistry();
    first.register(softclip);
    expect(createDefaultRegistry().has('softclip')).toBe(false);
  });
});

describe('loadActivationPlugin', () => {
  it('loads the example plugin from a path relative to the working directory, validated and registered', async () => {
    const registry = createDefaultRegistry();
    const loaded = await loadActivationPlugin(registry, relative(process.cwd(), softclipPath));
    expect(loaded.name).toBe('softclip');
    expect(registry.get('softclip')).toBe(loaded);
    expect(registry.names()).toEqual(['sigmoid', 'tanh', 'atan', 'softplus', 'silu', 'softclip']);
    expect(validateActivation(loaded)).toBe(loaded);
  });

  it('refuses to load the same plugin twice into one registry', async () => {
    const registry = createDefaultRegistry();
    await loadActivationPlugin(registry, softclipPath);
    await expect(loadActivationPlugin(registry, softclipPath)).rejects.toThrow("activation 'softclip' is already registered");
  });

  it.each([
    ['broken-l1-bound.mjs', 'broken-l1-bound', 'bound L1', /\|dsigma\(.+\)\| = .+ > L1 = 0\.5 \(plugin .*broken-l1-bound\.mjs\)$/],
    ['broken-nan-sinc.mjs', 'broken-nan-sinc', 'finite', /sigma\(.+\) = NaN \(plugin .*broken-nan-sinc\.mjs\)$/],
    ['broken-derivative.mjs', 'broken-derivative', 'derivative', /dsigma\(.+\) = .+ but a finite difference of sigma gives .+ \(plugin .*broken-derivative\.mjs\)$/],
  ])('refuses %s, naming the plugin and the failed check', async (file, activationName, check, detail) => {
    const registry = createDefaultRegistry();
    const error = await loadActivationPlugin(registry, pluginPath(file)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ActivationValidationError);
    const refusal = error as ActivationValidationError;
    expect(refusal.activationName).toBe(activationName);
    expect(refusal.check).toBe(check);
    expect(refusal.message).toContain(`activation '${activationName}' refused: ${check} check failed: `);
    expect(refusal.message).toMatch(detail);
    expect(registry.has(activationName)).toBe(false);
  });

  it('reports an error thrown while the plugin module evaluates', async () => {
    const path = pluginPath('broken-throws-at-import.mjs');
    await expect(loadActivationPlugin(createDefaultRegistry(), path)).rejects.toThrow(
      `activation plugin ${path} could not be loaded: softclip table could not be initialised`,
    );
  });

  it('refuses a module without a default export', async () => {
    const path = pluginPath('broken-no-default-export.mjs');
    await expect(loadActivationPlugin(createDefaultRegistry(), path)).rejects.toThrow(
      `activation plugin ${path} has no default export`,
    );
  });

  it('names the resolved path when the file does not exist', async () => {
    const missing = join('test', 'fixtures', 'plugins', 'no-such-plugin.mjs');
    await expect(loadActivationPlugin(createDefaultRegistry(), missing)).rejects.toThrow(
      `activation plugin ${resolve(missing)} does not exist (ENOENT)`,
    );
  });

  it('names the path when it is not a file', async () => {
    await expect(loadActivationPlugin(createDefaultRegistry(), pluginsDir)).rejects.toThrow(
      `activation plugin ${pluginsDir} is not a file`,
    );
  });
});

describe('validateActivation', () => {
  it('refuses a σ that is NaN only at the finite-difference points u ± h, not on the grid itself', () => {
    const gappy = { ...tanh, name: 'gappy', sigma: (u: number) => (u !== 0 && Math.abs(u) < 1e-3 ? NaN : Math.tanh(u)) };
    expect(() => validateActivation(gappy, { range: 1, points: 3 })).toThrow(
      "activation 'gappy' refused: derivative check failed: dsigma(0) = 1 but a finite difference of sigma gives NaN",
    );
  });
});

describe('the main entry of @nladmm/activations', () => {
  it('imports nothing Node-only (it is bundled for browsers)', () => {
    const srcDir = resolve(testDir, '..', 'packages', 'activations', 'src');
    const nodeOnly = new Set(builtinModules);
    const mainEntryFiles = readdirSync(srcDir).filter((file) => file.endsWith('.ts') && file !== 'node.ts');
    expect(mainEntryFiles).toContain('index.ts');
    for (const file of mainEntryFiles) {
      const source = readFileSync(join(srcDir, file), 'utf8');
      const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]);
      for (const specifier of specifiers) {
        expect(specifier.startsWith('node:') || nodeOnly.has(specifier), `${file} imports ${specifier}`).toBe(false);
        expect(specifier, `${file} imports the Node-only entry`).not.toBe('./node.ts');
      }
    }
  });
});
