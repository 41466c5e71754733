import type { ActivationBounds } from './activation.ts';

/**
 * How the proximal parameters h_i^k of (20) and μ_j^k of (21) are obtained from the max-norm
 * m = ‖V − Λ/β‖_max of the layer they linearise. A step rule is affine in m so that the device computes it
 * without a readback: h = slope · m + intercept.
 */
export interface StepRule {
  readonly name: string;
  /** The affine map m ↦ slope · m + intercept for an activation with the given bounds. */
  coefficients(bounds: ActivationBounds): { slope: number; intercept: number };
}

/** The paper's rule: h = 𝕃(m) = 2 L2 (L0 + m) + 2 L1² of (22). Needs finite bounds (Assumption 1). */
export const paperStepRule: StepRule = {
  name: 'paper',
  coefficients({ L0, L1, L2 }) {
    if (!Number.isFinite(L0) || !Number.isFinite(L1) || !Number.isFinite(L2)) {
      throw new RangeError(
        `step rule 'paper' needs finite activation bounds (got L0=${L0}, L1=${L1}, L2=${L2}); use step rule 'authors'`,
      );
    }
    return { slope: 2 * L2, intercept: 2 * L2 * L0 + 2 * L1 * L1 };
  },
};

/** The authors' code's rule: h = ‖V − Λ/β‖_max. Outside the theory of Lemma 2. */
export const authorsStepRule: StepRule = {
  name: 'authors',
  coefficients() {
    return { slope: 1, intercept: 0 };
  },
};

export const STEP_RULES: Readonly<Record<string, StepRule>> = { paper: paperStepRule, authors: authorsStepRule };

export function stepRuleByName(name: string): StepRule {
  const rule = STEP_RULES[name];
  if (!rule) throw new RangeError(`unknown step rule '${name}' (known: ${Object.keys(STEP_RULES).join(', ')})`);
  return rule;
}
