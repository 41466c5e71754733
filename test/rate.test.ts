// Rate diagnostics of Theorem 1(c): running mean and running min of ‖∇𝓛‖², log-log slopes over the tail.
import { describe, expect, it } from 'vitest';
import { type GradientSample, fitLogLogSlope, gradientSamples, interpretMeanSlope, rateDiagnostics, runningGradStats } from '@nladmm/core';

/** Samples k = from, from + step, … ≤ to with ‖∇𝓛‖² = f(k). */
function samples(f: (k: number) => number, to: number, step = 1, from = 1): GradientSample[] {
  const out: GradientSample[] = [];
  for (let k = from; k <= to; k += step) out.push({ k, gradNorm: Math.sqrt(f(k)) });
  return out;
}

describe('fitLogLogSlope', () => {
  it('recovers the exponent of exact power laws and a constant', () => {
    const ks = Array.from({ length: 50 }, (_, t) => 10 + 7 * t);
    for (const [p, c] of [[-1, 3], [-2, 0.5], [0, 7], [-0.5, 1e-6], [1.5, 2]] as const) {
      const fit = fitLogLogSlope(ks, ks.map((k) => c * k ** p));
      expect(fit.slope).toBeCloseTo(p, 12);
      expect(fit.intercept).toBeCloseTo(Math.log(c), 10);
      expect(fit.r2).toBeCloseTo(1, 12);
      expect(fit.points).toBe(50);
      expect([fit.fromK, fit.toK]).toEqual([10, 353]);
    }
  });

  it('skips values with no logarithm and needs two distinct abscissae', () => {
    const fit = fitLogLogSlope([1, 2, 4, 8], [1, 0, 1 / 16, 1 / 64]);
    expect(fit.points).toBe(3);
    expect(fit.slope).toBeCloseTo(-2, 12);
    expect(fitLogLogSlope([5], [1]).slope).toBeNaN();
    expect(fitLogLogSlope([5, 5], [1, 2]).slope).toBeNaN();
    expect(() => fitLogLogSlope([1, 2], [1])).toThrow(RangeError);
  });
});

describe('running mean and running min', () => {
  it('are right on a short hand-computed sequence (unsorted input is sorted by k)', () => {
    const seq = [5, 3, 4, 1, 2].map((g, t) => ({ k: t + 1, gradNorm: g }));
    const s = runningGradStats([seq[3], seq[0], seq[4], seq[2], seq[1]]);
    expect(s.k).toEqual([1, 2, 3, 4, 5]);
    expect(s.gradSq).toEqual([25, 9, 16, 1, 4]);
    expect(s.runningMean).toEqual([25, 17, 50 / 3, 51 / 4, 11]);
    expect(s.runningMin).toEqual([25, 9, 9, 1, 1]);
  });

  it("weights every-m-th logging by points (the Trainer's running mean) or by iterations", () => {
    const logged = [{ k: 1, gradNorm: 2 }, { k: 4, gradNorm: 1 }, { k: 8, gradNorm: 3 }];
    expect(runningGradStats(logged, 'points').runningMean).toEqual([4, 2.5, 14 / 3]);
    // (4·1 + 1·3 + 9·4) / 8: each logged value stands for the iterations since the previous log.
    expect(runningGradStats(logged, 'iterations').runningMean).toEqual([4, 7 / 4, 43 / 8]);
    const every = samples((k) => 1 / k, 50);
    expect(runningGradStats(every, 'iterations').runningMean).toEqual(runningGradStats(every, 'points').runningMean);
  });

  it('refuses repeated or non-positive iteration numbers', () => {
    expect(() => runningGradStats([{ k: 2, gradNorm: 1 }, { k: 2, gradNorm: 1 }])).toThrow(/twice/);
    expect(() => runningGradStats([{ k: 0, gradNorm: 1 }])).toThrow(RangeError);
  });
});

describe('rateDiagnostics', () => {
  it('‖∇𝓛‖² = K⁻²: running min slope −2, running mean ζ(2)/K with slope ≈ −1', () => {
    const r = rateDiagnostics(samples((k) => k ** -2, 2000));
    expect(r.minFit.slope).toBeCloseTo(-2, 10);
    // d log(H₂(K)/K)/d log K = −1 + 1/(K H₂(K)) ≈ −1 + 1/(1.64 K): within 1e-3 of −1 on the tail K ∈ [1001, 2000].
    expect(r.meanFit.slope).toBeGreaterThan(-1);
    expect(r.meanFit.slope).toBeLessThan(-1 + 1e-3);
    expect(r.runningMean[1999]).toBeCloseTo((Math.PI ** 2 / 6 - 1 / 2000) / 2000, 6);
    expect(r.meanFit.fromK).toBe(1001);
    expect(r.meanFit.points).toBe(1000);
    expect(r.verdict).toMatch(/at least like 1\/K/);
  });

  it('‖∇𝓛‖² = K⁻¹: running min slope −1, running mean H_K/K decays slower than 1/K', () => {
    const r = rateDiagnostics(samples((k) => 1 / k, 2000));
    expect(r.minFit.slope).toBeCloseTo(-1, 10);
    // d log(H_K/K)/d log K = −1 + 1/H_K with H_K ≈ 7.2-7.6 on the tail: slope ≈ −0.86.
    expect(r.meanFit.slope).toBeGreaterThan(-0.88);
    expect(r.meanFit.slope).toBeLessThan(-0.85);
    expect(r.verdict).toMatch(/slower than the 1\/K/);
  });

  it('a constant ‖∇𝓛‖ gives slope 0 for both: a plateau, not a KKT point', () => {
    const r = rateDiagnostics(samples(() => 0.3, 500));
    expect(r.meanFit.slope).toBeCloseTo(0, 12);
    expect(r.minFit.slope).toBeCloseTo(0, 12);
    expect(r.runningMean[499]).toBeCloseTo(0.3, 14);
    expect(r.verdict).toMatch(/plateaued at a non-zero value/);
  });

  it('handles every-m-th logging: the slopes match those of the full log', () => {
    for (const [f, mean, min] of [[(k: number) => k ** -2, -1, -2], [(k: number) => 5, 0, 0], [(k: number) => Math.exp(-k / 50), -1, NaN]] as const) {
      const full = rateDiagnostics(samples(f, 3000));
      // What the Trainer logs with metricsEvery = 10: k = 1, 10, 20, …, 3000.
      const sparse = rateDiagnostics([{ k: 1, gradNorm: Math.sqrt(f(1)) }, ...samples(f, 3000, 10, 10)]);
      const byIterations = rateDiagnostics([{ k: 1, gradNorm: Math.sqrt(f(1)) }, ...samples(f, 3000, 10, 10)], { weighting: 'iterations' });
      expect(sparse.k).toHaveLength(301);
      // Counting points, the mean after k = 1, 10, …, K is S/(K/10 + 1): its slope is −K/(K + 10) ≈ −0.995 on the tail.
      for (const r of [full, sparse, byIterations]) {
        expect(Math.abs(r.meanFit.slope - mean)).toBeLessThan(1e-2);
        if (!Number.isNaN(min)) expect(r.minFit.slope).toBeCloseTo(min, 10);
      }
      expect(Math.abs(byIterations.meanFit.slope - full.meanFit.slope)).toBeLessThan(2e-3);
      expect(Math.abs(sparse.meanFit.slope - full.meanFit.slope)).toBeLessThan(1e-2);
    }
  });

  it("the 'iterations' weighting estimates the full running mean from every-m-th logs", () => {
    const f = (k: number) => k ** -0.5;
    const full = rateDiagnostics(samples(f, 4000));
    const sparse = rateDiagnostics([{ k: 1, gradNorm: 1 }, ...samples(f, 4000, 20, 20)], { weighting: 'iterations' });
    const exact = full.runningMean[full.runningMean.length - 1];
    const estimate = sparse.runningMean[sparse.runningMean.length - 1];
    // Σ k^(−1/2) ≈ 2√K − 1.46 = 125.0 at K = 4000; the right-end step sum 1 + √20 Σ_{t≤200} t^(−1/2) ≈ 120.9 is 3% low
    // (a decreasing sequence sampled at the right ends of its blocks).
    expect(estimate).toBeLessThan(exact);
    expect(Math.abs(estimate / exact - 1)).toBeLessThan(0.05);
    // Both ≈ −0.5 (the constant terms −1.46/K and −5.5/K of the two sums bend the tail slopes to −0.49 and −0.47).
    expect(Math.abs(sparse.meanFit.slope - full.meanFit.slope)).toBeLessThan(0.03);
    expect(Math.abs(full.meanFit.slope + 0.5)).toBeLessThan(0.01);
  });

  it('fits the configured tail', () => {
    // ‖∇𝓛‖² = K⁻³ for K ≤ 100, then flat: the last half sees the plateau, the first tenth does not.
    const f = (k: number) => Math.min(k, 100) ** -3;
    const all = samples(f, 1000);
    expect(rateDiagnostics(all).minFit.slope).toBeCloseTo(0, 12);
    const early = rateDiagnostics(all.slice(0, 100), { tailFraction: 1 });
    expect(early.minFit.slope).toBeCloseTo(-3, 10);
    const fromK = rateDiagnostics(all, { fromK: 900 });
    expect(fromK.minFit.fromK).toBe(900);
    expect(fromK.minFit.points).toBe(101);
    expect(() => rateDiagnostics(all, { tailFraction: 0 })).toThrow(RangeError);
  });

  it('reads slopes and takes samples from logged metrics', () => {
    expect(interpretMeanSlope(-1.3)).toMatch(/at least like 1\/K/);
    expect(interpretMeanSlope(-0.99)).toMatch(/at least like 1\/K/);
    expect(interpretMeanSlope(-0.5)).toMatch(/slower/);
    expect(interpretMeanSlope(0.02)).toMatch(/plateaued/);
    expect(interpretMeanSlope(0.5)).toMatch(/growing/);
    expect(interpretMeanSlope(NaN)).toMatch(/too few/);
    expect(gradientSamples([{ iteration: 0, gradNorm: 9 }, { iteration: 1, gradNorm: 2 }, { iteration: 5, gradNorm: 1 }])).toEqual([
      { k: 1, gradNorm: 2 },
      { k: 5, gradNorm: 1 },
    ]);
  });
});
