// The hypotheses of Theorem 3 (Appendix A): the constants (36)-(41), λ̄, λ̂ and the checks (42)-(47) on small cases
// computed by hand, the minimal parameters of suggestParameters, and training with them (Lemma 1, Theorem 1(c)).
import { describe, expect, it } from 'vitest';
import {
  type HypothesisCheck,
  type TheoryReport,
  type TheorySetting,
  AdmmSolver,
  Rng,
  Trainer,
  checkHypotheses,
  drawWeights,
  hostMatrix,
  isParameterHypothesis,
  lyapunovCoefficients,
  paperStepRule,
  prepareTheorySetting,
  rateDiagnostics,
  suggestParameters,
  theoryConstants,
  theoryInputFromConfig,
} from '@nladmm/core';
import { formatTheoryReport } from '@nladmm/cli';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { randomRegression } from './support/problems.ts';

const registry = createDefaultRegistry();
const sigmoid = registry.get('sigmoid');

/** tanh with the round bounds L0 = L1 = L2 = 1 (valid upper bounds: |tanh″| ≤ 0.77), so that L3 = 6. */
const roundTanh = { sigma: Math.tanh, bounds: { L0: 1, L1: 1, L2: 1 } };

const close = (actual: number, expected: number, rel = 1e-12) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));

function find(report: TheoryReport, id: string): HypothesisCheck {
  const h = report.hypotheses.find((c) => c.id === id);
  if (!h) throw new Error(`no hypothesis ${id} in [${report.hypotheses.map((c) => c.id).join(', ')}]`);
  return h;
}

/**
 * Case A: N = 2, layers [1, 1, 1], n = 1, no biases, X = [1], Y = [3], W_1 = [2], W_2 = [0.5], σ = tanh with
 * L0 = L1 = L2 = 1. By hand: L3 = 2(1 + 1 + 1) = 6, γ = max(2, 0.5) = 2, d_min = 1,
 * f_min = √6(√3 + 2√6 · 1) = 3√2 + 12, α3 = (12 + 3√2)² = 162 + 72√2,
 * C3 = max{2 L0 √(1·1)/γ⁰ = 2, ‖Y‖/((β_2 − 3)γ) = 3/(2(β_2 − 3))}: 3 at β_2 = 3.5, 2 at β_2 = 6.
 */
const caseA: TheorySetting = {
  x: hostMatrix(1, 1, [1]),
  y: hostMatrix(1, 1, [3]),
  layers: [1, 1, 1],
  activation: roundTanh,
  weights: [hostMatrix(1, 1, [2]), hostMatrix(1, 1, [0.5])],
  bias: false,
};

/**
 * Case B: N = 3, layers [2, 2, 2, 1], n = 2, no biases, X = I₂, Y = [3 4], W_1 = diag(1.2, 1.6) (‖·‖ = 2),
 * W_2 = ½·𝟙𝟙ᵀ (‖·‖ = 1), W_3 = [1 0] (‖·‖ = 1), same σ. By hand: L3 = 6, γ = 2, d_min = 2,
 * f_min = √6(√3 + 2√6 · 4^{1/4}) = 3√2 + 12√2 = 15√2, α3 = 450,
 * C3 = max{2√(2·2) = 4, 2√(2·2)/γ = 2, 5/(γ²(β_3 − 3)) = 5/(4(β_3 − 3))}: 4 at β_3 = 3.5, 5 at β_3 = 3.25.
 */
const caseB: TheorySetting = {
  x: hostMatrix(2, 2, [1, 0, 0, 1]),
  y: hostMatrix(1, 2, [3, 4]),
  layers: [2, 2, 2, 1],
  activation: roundTanh,
  weights: [hostMatrix(2, 2, [1.2, 0, 0, 1.6]), hostMatrix(2, 2, [0.5, 0.5, 0.5, 0.5]), hostMatrix(1, 2, [1, 0])],
  bias: false,
};

describe('constants (36)-(41), λ̄, λ̂ by hand', () => {
  it('case A (N = 2, d = 1, n = 1, γ = 2)', () => {
    const c = theoryConstants(caseA, { betas: [224, 3.5], lambda: 1 });
    expect(c.L3).toBe(6);
    expect(c.gamma).toBe(2);
    expect(c.dMin).toBe(1);
    close(c.fMin, 12 + 3 * Math.SQRT2);
    close(c.alpha3, 162 + 72 * Math.SQRT2);
    expect(c.c3DataTerm).toBe(2);
    close(c.c3TargetTerm, 3);
    close(c.C3, 3);
    expect(c.c3Defined).toBe(true);
    expect(c.lambdaBar).toBe(0); // N = 2: no i with 2 ≤ i ≤ N − 1
    // λ̂ = L1 β_1 ‖X‖ (4C3 + L0√(n d_1)) γ⁻¹ (1 + √(2 L3 C3 ‖X‖ γ / (L1 (4C3 + L0√(n d_1))))) = 224 · 13/2 · (1 + √(72/13)).
    close(c.lambdaHat, 224 * 6.5 * (1 + Math.sqrt(72 / 13)));
    expect(c.normX).toBe(1);
    expect(c.normY).toBe(3);
    // A larger β_2 makes the data term the maximum.
    expect(theoryConstants(caseA, { betas: [224, 6], lambda: 1 }).C3).toBe(2);
  });

  it('case B (N = 3, d = 2, n = 2, γ = 2)', () => {
    const b2 = 224;
    const b1 = 4848 * Math.sqrt(3) * b2;
    const c = theoryConstants(caseB, { betas: [b1, b2, 3.5], lambda: 1 });
    expect(c.L3).toBe(6);
    expect(c.gamma).toBe(2);
    expect(c.dMin).toBe(2);
    close(c.fMin, 15 * Math.SQRT2);
    close(c.alpha3, 450);
    expect(c.c3DataTerm).toBe(4);
    close(c.c3TargetTerm, 2.5);
    expect(c.C3).toBe(4);
    // λ̄, i = 2: with inner = 4C3γ + L0√(n d_2) = 34, the first term is 3 L1 C3 β_2 γ⁻¹ · 34 · (1 + √(6 L3 C3² γ² / 34))
    // = 204 β_2 (1 + 48/√34); the second is (1 + 3 L2 L3 γ / L1)² C3² γ⁰ β_2 / 6 = 37² · 16 β_2 / 6 = 10952 β_2 / 3.
    const first = 204 * b2 * (1 + 48 / Math.sqrt(34));
    const second = (10952 / 3) * b2;
    expect(second).toBeGreaterThan(first);
    close(c.lambdaBar, second);
    // λ̂ = β_1 √2 · 18 / 2 · (1 + √(2·6·4·√2·2 / 18)) = 9√2 β_1 (1 + √(16√2/3)).
    close(c.lambdaHat, 9 * Math.SQRT2 * b1 * (1 + Math.sqrt((16 * Math.SQRT2) / 3)));
    // β_3 = 3.25: the ‖Y‖ term 5/(4 · 0.25) = 5 dominates.
    close(theoryConstants(caseB, { betas: [b1, b2, 3.25], lambda: 1 }).C3, 5);
  });

  it('case B with L2 = 0.01: the first term of λ̄ is the larger one', () => {
    // L3 = 2(1 + 0.01 + 0.01) = 2.04, C3 = 4, γ = 2, inner = 34: first = 3 · 4 · β_2 / 2 · 34 · (1 + √(6 · 2.04 · 16 · 4 / 34)),
    // second = (1 + 3 · 0.01 · 2.04 · 2)² · 16 · β_2 / 6.
    const setting: TheorySetting = { ...caseB, activation: { sigma: Math.tanh, bounds: { L0: 1, L1: 1, L2: 0.01 } } };
    const b2 = 100;
    const c = theoryConstants(setting, { betas: [1e6, b2, 3.5], lambda: 1 });
    close(c.L3, 2.04);
    const first = 6 * b2 * 34 * (1 + Math.sqrt((6 * 2.04 * 64) / 34));
    const second = ((1 + 3 * 0.01 * 2.04 * 2) ** 2 * 16 * b2) / 6;
    expect(first).toBeGreaterThan(second);
    close(c.lambdaBar, first);
  });

  it('Lyapunov coefficients (91)-(92) for N = 2 (case A)', () => {
    // γ = 2, C3 = 3, β = (224, 3.5), λ = 4900.
    const { xi, eta, zeta } = lyapunovCoefficients(caseA, { betas: [224, 3.5], lambda: 4900 });
    close(xi[2], (3 * 4 * 3.5 ** 2) / 224);
    close(eta[2], 4.5 / 2 - 1 / 3.5 - (3 * 4 * 4.5 ** 2) / 224);
    expect(xi[1]).toBe(0);
    expect(eta[1]).toBe(112);
    expect(zeta[1]).toBe(2450);
    close(zeta[2], 2450 - (3 * 9 * 3.5 ** 2 * 4) / 224);
  });

  it('biases: X̃ = [X; 1ᵀ] and γ includes the bias columns; weights without one get a zero column', () => {
    const withBias: TheorySetting = {
      ...caseA,
      bias: true,
      weights: [hostMatrix(1, 2, [2, 1]), hostMatrix(1, 1, [0.5])],
    };
    const c = theoryConstants(withBias, { betas: [224, 3.5], lambda: 1 });
    close(c.gamma, Math.sqrt(5)); // ‖[2 1]‖
    close(c.normX, Math.SQRT2); // ‖[1; 1]‖
    const p = prepareTheorySetting(withBias);
    // V_1^0 = tanh(2·1 + 1), V_2^0 = 0.5 V_1^0 + 0 (the zero bias column appended to W_2).
    close(p.initialVNorms[1], Math.tanh(3));
    close(p.initialVNorms[2], 0.5 * Math.tanh(3));
  });
});

describe('hypotheses (42)-(47), each satisfied and violated', () => {
  it('case A: all hold at β = (224, 3.5), λ = 4900; each parameter hypothesis fails when its parameter is lowered', () => {
    const lambdaHat = 224 * 6.5 * (1 + Math.sqrt(72 / 13)); // ≈ 4882.6 > 12 β_2 C3² γ⁰ = 378
    const ok = checkHypotheses(caseA, { betas: [224, 3.5], lambda: 4900 });
    expect(ok.failing).toEqual([]);
    expect(ok.allHold).toBe(true);
    expect(ok.hypotheses.map((h) => h.id)).toEqual(['(42)', '(43)', '(45)', '(46)', '(47) V i=1', '(47) V i=2', '(47) Λ i=1', '(47) Λ i=2']);
    const h43 = find(ok, '(43)');
    expect([h43.lhs, h43.rhs, h43.margin, h43.marginKind]).toEqual([64, 64, 1, 'ratio']);
    const h45 = find(ok, '(45)');
    close(h45.rhs, lambdaHat);
    expect(h45.parts?.['12β_N C3² γ^(2N−4)']).toBeCloseTo(378, 10);
    close(h45.margin, 4900 / lambdaHat);
    // (46): (√49 · 1 − √18)⁴ / (1 · (24 · 1 · 6)²).
    const h46 = find(ok, '(46)');
    close(h46.rhs, (7 - Math.sqrt(18)) ** 4 / 144 ** 2);
    expect(h46.lhs).toBe(1);
    // (47): V_1^0 = tanh 2 ≤ 3 C3 = 9, V_2^0 = tanh(2)/2 ≤ 3 C3 γ = 18, Λ^0 = 0 ≤ C3 β_i γ^{i−1} = 672, 21.
    close(find(ok, '(47) V i=1').lhs, Math.tanh(2));
    close(find(ok, '(47) V i=1').rhs, 9);
    close(find(ok, '(47) V i=2').lhs, Math.tanh(2) / 2);
    close(find(ok, '(47) V i=2').rhs, 18);
    close(find(ok, '(47) Λ i=1').rhs, 672);
    close(find(ok, '(47) Λ i=2').rhs, 21);
    expect(find(ok, '(47) Λ i=1').margin).toBe(0);

    expect(checkHypotheses(caseA, { betas: [224, 3.4], lambda: 4900 }).failing).toContain('(42)');
    expect(checkHypotheses(caseA, { betas: [223, 3.5], lambda: 4900 }).failing).toEqual(['(43)']);
    expect(checkHypotheses(caseA, { betas: [224, 3.5], lambda: 4800 }).failing).toEqual(['(45)']);
  });

  it('(42) fails with C3 undefined when β_N ≤ 3: no division by β_N − 3 ≤ 0', () => {
    for (const betaN of [3, 2]) {
      const r = checkHypotheses(caseB, { betas: [1e9, 1e6, betaN], lambda: 1e12 });
      expect(r.constants.c3Defined).toBe(false);
      expect(r.constants.C3).toBeNaN();
      expect(find(r, '(42)').holds).toBe(false);
      expect(find(r, '(42)').defined).toBe(true);
      expect(find(r, '(43)').defined).toBe(true);
      for (const id of ['(44) i=1', '(45)', '(47) V i=1', '(47) Λ i=3']) {
        const h = find(r, id);
        expect(h.defined).toBe(false);
        expect(h.holds).toBe(false);
        expect(h.margin).toBeNaN();
      }
      expect(r.notes.join('\n')).toMatch(/C3 of \(41\) is undefined/);
      expect(formatTheoryReport(r)).toMatch(/\(45\)\s+undefined/);
    }
    // 3 < β_N < 3.5: C3 is defined (the ‖Y‖ term 5) but (42) fails.
    const r = checkHypotheses(caseB, { betas: [1e9, 1e6, 3.25], lambda: 1e12 });
    close(r.constants.C3, 5);
    expect(r.failing).toContain('(42)');
  });

  it('case B: (43), (44), (45) at and around their thresholds', () => {
    const b3 = 3.5;
    const b2 = 64 * b3; // (43): 16 γ² = 64
    const r44 = 4848 * Math.sqrt(3); // (44) i=1: max{6√3(2 + 25·4·2)·4, 24(√3 + √96)²} = max{4848√3, 2376 + 576√2}
    const b1 = 1.001 * r44 * b2;
    const lambdaBar = (10952 / 3) * b2;
    const lambdaHat = 9 * Math.SQRT2 * b1 * (1 + Math.sqrt((16 * Math.SQRT2) / 3));
    const lambda = 1.001 * Math.max(2688, lambdaBar, lambdaHat);
    const ok = checkHypotheses(caseB, { betas: [b1, b2, b3], lambda });
    expect(ok.failing).toEqual([]);
    const h44 = find(ok, '(44) i=1');
    expect(h44.layer).toBe(1);
    close(h44.rhs, r44);
    close(h44.parts!['6(√(3L1)+√(2L3C3γ^i))²γ²'], 2376 + 576 * Math.SQRT2);
    close(h44.margin, 1.001);
    const h45 = find(ok, '(45)');
    close(h45.parts!['12β_N C3² γ^(2N−4)'], 2688); // 12 · 3.5 · 16 · 2²
    close(h45.parts!['λ̄'], lambdaBar);
    close(h45.parts!['λ̂'], lambdaHat);
    // (46): (√73 − √18)⁴ / (2 (24 · 6)²) ≤ d_min = 2.
    close(find(ok, '(46)').rhs, (Math.sqrt(73) - Math.sqrt(18)) ** 4 / (2 * 144 ** 2));
    // (47) from (7): V_1^0 = tanh(diag(1.2, 1.6)), V_2^0 = tanh(½[t1 t2; t1 t2]), V_3^0 = first row of V_2^0.
    const t1 = Math.tanh(1.2);
    const t2 = Math.tanh(1.6);
    const u1 = Math.tanh(t1 / 2);
    const u2 = Math.tanh(t2 / 2);
    close(find(ok, '(47) V i=1').lhs, Math.hypot(t1, t2));
    close(find(ok, '(47) V i=2').lhs, Math.SQRT2 * Math.hypot(u1, u2));
    close(find(ok, '(47) V i=3').lhs, Math.hypot(u1, u2));
    expect([1, 2, 3].map((i) => find(ok, `(47) V i=${i}`).rhs)).toEqual([12, 24, 48]);

    expect(checkHypotheses(caseB, { betas: [b1, 0.99 * b2, b3], lambda }).failing).toContain('(43)');
    expect(checkHypotheses(caseB, { betas: [0.998 * r44 * b2, b2, b3], lambda }).failing).toEqual(['(44) i=1']);
    expect(checkHypotheses(caseB, { betas: [b1, b2, b3], lambda: 0.998 * lambdaHat }).failing).toEqual(['(45)']);
  });

  it('(46) fails for a narrow layer when L0 is small, and suggestParameters calls it unattainable', () => {
    // L0 = 0.01, L1 = 1, L2 = 0.01: L3 = 2(1 + 0.0001 + 0.01) = 2.0202; with N = 2, n = 1 the bound is
    // (7 − √18)⁴ / (24 · 0.01 · 2.0202)² ≈ 246 > d_min = 1.
    const setting: TheorySetting = { ...caseA, activation: { sigma: (u) => 0.01 * Math.tanh(u), bounds: { L0: 0.01, L1: 1, L2: 0.01 } } };
    const r = checkHypotheses(setting, { betas: [1e3, 3.5], lambda: 1e9 });
    const h = find(r, '(46)');
    close(h.rhs, (7 - Math.sqrt(18)) ** 4 / (24 * 0.01 * 2.0202) ** 2);
    expect(h.holds).toBe(false);
    expect(r.constants.alpha3).toBeLessThan(24 * 2 + 1); // the equivalent form (86)
    const s = suggestParameters(setting);
    expect(s.unattainable).toContain('(46)');
    expect(s.notes.join('\n')).toMatch(/\(46\) fails: .*widths/);
  });

  it('(47) fails for a starting point outside the bounds, and for a large output bias with a small L0', () => {
    // A given start: V_1^0 = 10 > 3C3 = 9, Λ_2^0 = 22 > C3 β_2 γ = 21 (case A, C3 = 3).
    const start: TheorySetting = {
      ...caseA,
      initial: { V: [caseA.x, hostMatrix(1, 1, [10]), hostMatrix(1, 1, [0])], Lambda: [caseA.x, hostMatrix(1, 1, [0]), hostMatrix(1, 1, [22])] },
    };
    const r = checkHypotheses(start, { betas: [224, 3.5], lambda: 4900 });
    expect(r.failing).toEqual(['(47) V i=1', '(47) Λ i=2']);
    close(find(r, '(47) V i=1').margin, 10 / 9);
    // From (7) with biases: V_2^0 = 0.01 tanh(1) + 5 while 3C3γ = 3 · 0.02 · √26 (C3 = 2 L0 = 0.02).
    const biased: TheorySetting = {
      x: hostMatrix(1, 1, [1]),
      y: hostMatrix(1, 1, [0.01]),
      layers: [1, 1, 1],
      activation: { sigma: (u) => 0.01 * Math.tanh(u), bounds: { L0: 0.01, L1: 0.01, L2: 0.01 } },
      weights: [hostMatrix(1, 2, [1, 0]), hostMatrix(1, 2, [1, 5])],
      bias: true,
    };
    const s = suggestParameters(biased);
    const h = find(s.report, '(47) V i=2');
    close(h.lhs, 0.01 * Math.tanh(1) + 5);
    close(h.rhs, 3 * 0.02 * Math.sqrt(26));
    expect(h.holds).toBe(false);
    expect(s.unattainable).toEqual(['(47) V i=2']);
    expect(s.notes.join('\n')).toMatch(/initialisation/);
    // 4C3 = 0.08 < 1: the proof of Lemma 4 takes L0 ≥ 1/8.
    expect(s.notes.join('\n')).toMatch(/L0 ≥ 1\/8/);
  });

  it('formats one line per hypothesis with id, holds/fails, lhs, rhs and margin', () => {
    const r = checkHypotheses(caseB, { betas: [1, 1, 3.5], lambda: 1 });
    const text = formatTheoryReport(r);
    for (const h of r.hypotheses) {
      const line = text.split('\n').find((l) => l.startsWith(`${h.id} `));
      expect(line, h.id).toBeDefined();
      expect(line).toMatch(h.holds ? /\bholds\b/ : /\bFAILS\b/);
      expect(line).toMatch(/lhs(\/|−)rhs=/);
      expect(line).toContain(h.relation === '>=' ? '≥' : '≤');
    }
    expect(text).toMatch(/^constants: L0=1 L1=1 L2=1 L3=6 γ=2 d_min=2/);
    expect(text).toMatch(/failing: \(43\), \(44\) i=1, \(45\)/);
  });

  it('reads the initial weights of a configuration as the solver draws them; V^0 agrees with the solver', async () => {
    const layers = [3, 4, 5, 2];
    const data = randomRegression(layers, 6, 3);
    const config = { layers, activation: sigmoid, beta: [50, 9, 4], lambda: 2, stepRule: paperStepRule, init: { scheme: 'xavier' as const, seed: 9 } };
    const input = theoryInputFromConfig(data, config);
    expect(input.bias).toBe(true);
    expect(input.weights.map((w) => w.cols)).toEqual([4, 5, 6]);
    const report = checkHypotheses(input, input);
    const solver = AdmmSolver.create(new CpuBackend(), data, config);
    const q = await solver.snapshot();
    for (let i = 1; i <= 3; i++) {
      let sq = 0;
      for (const v of q.V[i].data) sq += v * v;
      close(find(report, `(47) V i=${i}`).lhs, Math.sqrt(sq), 1e-12);
    }
    solver.dispose();
  });
});

/** Settings for suggestParameters: tiny networks with drawn weights, and the two hand cases. */
function tinySetting(layers: number[], bias: boolean, seed = 5): TheorySetting {
  const data = randomRegression(layers, 4, seed);
  return { x: data.x, y: data.y, layers, activation: sigmoid, weights: drawWeights(layers, { scheme: 'xavier', seed: seed + 1, bias }), bias };
}

describe('suggestParameters', () => {
  const settings: [string, TheorySetting][] = [
    ['case A', caseA],
    ['case B', caseB],
    ['[2, 3, 1] sigmoid', tinySetting([2, 3, 1], false)],
    ['[2, 2, 2, 1] sigmoid with biases', tinySetting([2, 2, 2, 1], true)],
    ['[3, 4, 3, 3, 2] sigmoid', tinySetting([3, 4, 3, 3, 2], false)],
  ];
  for (const [name, setting] of settings) {
    it(`${name}: meets (42)-(45), and lowering any β_i or λ by 1% breaks one of them`, () => {
      const s = suggestParameters(setting);
      const N = setting.layers.length - 1;
      expect(s.betas).toHaveLength(N);
      expect(s.betas[N - 1]).toBe(3.5);
      const report = checkHypotheses(setting, s);
      for (const h of report.hypotheses.filter(isParameterHypothesis)) expect(h.holds, h.id).toBe(true);
      for (const h of report.hypotheses.filter(isParameterHypothesis)) {
        if (h.equation !== '(42)') expect(h.margin, h.id).toBeLessThan(1 + 1e-12); // tight
      }
      expect(s.unattainable).toEqual(report.hypotheses.filter((h) => !isParameterHypothesis(h) && !h.holds).map((h) => h.id));
      for (let i = 0; i < N; i++) {
        const betas = [...s.betas];
        betas[i] *= 0.99;
        const lowered = checkHypotheses(setting, { betas, lambda: s.lambda });
        expect(lowered.hypotheses.filter(isParameterHypothesis).some((h) => !h.holds), `β_${i + 1}`).toBe(true);
      }
      const lowered = checkHypotheses(setting, { betas: s.betas, lambda: 0.99 * s.lambda });
      expect(lowered.failing).toContain('(45)');
    });
  }

  it('case A by hand: β = (64 · 3.5, 3.5), λ = λ̂ at β_1 = 224', () => {
    const s = suggestParameters(caseA);
    expect(s.betas[1]).toBe(3.5);
    close(s.betas[0], 224);
    close(s.lambda, 224 * 6.5 * (1 + Math.sqrt(72 / 13)));
    expect(s.c3Source).toBe('targets'); // C3 = 3 from ‖Y‖ at β_2 = 3.5
    // From β_N = 3 + ‖Y‖/(data term · γ^(N−1)) = 3 + 3/(2 · 2) on, the data term is the maximum.
    expect(s.notes.join('\n')).toMatch(/any β_N ≥ 3\.75 makes it the data term/);
  });

  it('case B by hand: β_2 = 64 β_3, β_1 = 4848√3 β_2, λ = λ̂', () => {
    const s = suggestParameters(caseB);
    close(s.betas[1], 224);
    close(s.betas[0], 4848 * Math.sqrt(3) * 224);
    close(s.lambda, 9 * Math.SQRT2 * s.betas[0] * (1 + Math.sqrt((16 * Math.SQRT2) / 3)));
    expect(s.astronomical).toBe(true); // λ ≈ 4e7
    expect(s.notes[0]).toMatch(/astronomically large.*very conservative for real widths/);
  });

  it('a larger β_N can be asked for; the chain follows it', () => {
    const s = suggestParameters(caseB, { betaN: 10 });
    expect(s.betas[2]).toBe(10);
    close(s.betas[1], 640);
    // β_N below 3.5 is raised to 3.5.
    expect(suggestParameters(caseB, { betaN: 1 }).betas[2]).toBe(3.5);
  });

  it('flags a realistic width (784-128-128-10) as astronomically large', () => {
    const layers = [784, 128, 128, 10];
    const n = 200;
    const rng = new Rng(1);
    const x = hostMatrix(784, n);
    for (let k = 0; k < x.data.length; k++) x.data[k] = rng.uniform() < 0.2 ? rng.uniform() : 0;
    const y = hostMatrix(10, n);
    for (let c = 0; c < n; c++) y.data[(c % 10) * n + c] = 1;
    const weights = drawWeights(layers, { scheme: 'msra', seed: 2, bias: true });
    const s = suggestParameters({ x, y, layers, activation: sigmoid, weights, bias: true });
    expect(s.astronomical).toBe(true);
    expect(s.betas[0]).toBeGreaterThan(1e9);
    expect(s.notes[0]).toMatch(/very conservative for real widths/);
  });
});

describe('training with the suggested ("theory") parameters', () => {
  const cases: { layers: number[]; bias: boolean }[] = [
    { layers: [2, 3, 1], bias: false },
    { layers: [2, 2, 2, 1], bias: false },
    { layers: [2, 2, 2, 1], bias: true },
  ];
  for (const { layers, bias } of cases) {
    it(`layers [${layers.join(', ')}]${bias ? ' with biases (absorbed form)' : ''}: Lemma 1's descent, ‖∇𝓛‖ → 0 at rate ≥ 1/K`, async () => {
      const setting = tinySetting(layers, bias);
      const s = suggestParameters(setting);
      expect(s.report.allHold).toBe(true);
      const { xi, eta, zeta } = lyapunovCoefficients(setting, s);
      // (95): the hypotheses make every descent coefficient positive.
      for (let i = 1; i < layers.length; i++) {
        expect(zeta[i], `ζ_${i}`).toBeGreaterThan(0);
        expect(eta[i] - xi[i], `η_${i} − ξ_${i}`).toBeGreaterThan(0);
      }
      const trainer = await Trainer.create(new CpuBackend(), { x: setting.x, y: setting.y }, {
        layers,
        activation: sigmoid,
        beta: s.betas,
        lambda: s.lambda,
        bias,
        stepRule: paperStepRule,
        init: { weights: setting.weights },
      });
      const log: { k: number; L: number; Lhat: number; descent: number; grad: number }[] = [];
      trainer.events.on('metrics', async (m) => {
        const inc = await trainer.solver.increments();
        let lhat = m.augmentedLagrangian;
        let descent = 0;
        for (let i = 1; i < layers.length; i++) {
          lhat += xi[i] * inc.V[i];
          descent += zeta[i] * inc.W[i] + (eta[i] - xi[i]) * inc.V[i];
        }
        log.push({ k: m.iteration, L: m.augmentedLagrangian, Lhat: lhat, descent, grad: m.gradNorm });
      });
      const K = 80;
      await trainer.run({ maxIterations: K, metricsEvery: 1 });
      trainer.dispose();
      expect(log.map((e) => e.k)).toEqual(Array.from({ length: K }, (_, t) => t + 1));

      const slack = (v: number) => 1e-12 * (1 + Math.abs(v));
      // What Theorem 3 guarantees (Lemma 1, (90)): for k ≥ 2 the Lyapunov function 𝓛̂ = 𝓛 + Σ ξ_i ‖V_i^k − V_i^{k−1}‖²
      // decreases by at least Σ ζ_i ‖ΔW_i‖² + Σ (η_i − ξ_i) ‖ΔV_i‖².
      for (let t = 1; t < log.length; t++) {
        expect(log[t].Lhat, `(90) at k = ${log[t].k}`).toBeLessThanOrEqual(log[t - 1].Lhat - log[t].descent + slack(log[t - 1].Lhat));
      }
      // 𝓛 itself is not guaranteed to descend; here it does from k = 2 on, up to rounding (checked, not implied).
      for (let t = 2; t < log.length; t++) expect(log[t].L, `𝓛 at k = ${log[t].k}`).toBeLessThanOrEqual(log[t - 1].L + slack(log[t - 1].L));
      // 𝓛 converges: its changes shrink to rounding level.
      const changes = log.slice(1).map((e, t) => Math.abs(e.L - log[t].L));
      expect(Math.max(...changes.slice(-10))).toBeLessThan(1e-12 * Math.max(...changes.slice(0, 3)));
      // ‖∇𝓛‖ → 0 (to the rounding floor of f64 at these β, λ).
      const g = log.map((e) => e.grad);
      expect(g[g.length - 1]).toBeLessThan(1e-9);
      expect(g[g.length - 1] / g[0]).toBeLessThan(1e-12);
      // Theorem 1(c): the running mean of ‖∇𝓛‖² decays at least like 1/K over the tail.
      const rate = rateDiagnostics(log.map((e) => ({ k: e.k, gradNorm: e.grad })));
      expect(rate.meanFit.slope).toBeLessThanOrEqual(-1 + 0.02);
      expect(rate.verdict).toMatch(/at least like 1\/K/);
    });
  }
});
