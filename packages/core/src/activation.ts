/**
 * The activation plugin contract. An activation supplies σ, σ′, σ″ as scalar functions (CPU backend, checks),
 * WGSL snippets for σ and σ′ (WebGPU backend), and the bounds of Assumption 1:
 * |σ| ≤ L0, |σ′| ≤ L1, |σ″| ≤ L2. The step rule of (20)-(22) is built from these bounds.
 */
export interface ActivationBounds {
  /** sup |σ(u)| (Infinity when unbounded). */
  readonly L0: number;
  /** sup |σ′(u)|. */
  readonly L1: number;
  /** sup |σ″(u)|. */
  readonly L2: number;
}

export interface Activation {
  /** Registry name, e.g. `sigmoid`. Letters, digits, `-` and `_`. */
  readonly name: string;
  sigma(u: number): number;
  dsigma(u: number): number;
  d2sigma(u: number): number;
  /**
   * WGSL function bodies, each the body of `fn(x: f32) -> f32` (for example `return tanh(x);`). They may
   * call only WGSL builtins.
   */
  readonly wgsl: { readonly sigma: string; readonly dsigma: string };
  readonly bounds: ActivationBounds;
  /**
   * Whether σ satisfies Assumption 1 (bounded, with bounded σ′ and σ″, real analytic or semialgebraic). When
   * false, the convergence theory does not apply and a run with it warns. The bounds are checked numerically
   * when the activation is registered; analyticity is the plugin author's claim.
   */
  readonly satisfiesAssumption1: boolean;
}

/** The error a refused activation plugin raises: it names the plugin and the check that failed. */
export class ActivationValidationError extends Error {
  constructor(
    readonly activationName: string,
    readonly check: string,
    detail: string,
  ) {
    super(`activation '${activationName}' refused: ${check} check failed: ${detail}`);
    this.name = 'ActivationValidationError';
  }
}

/** Options of {@link validateActivation}: the grid on which the claims are checked. */
export interface ValidationGrid {
  /** Half-width of the checked interval [−range, range]. */
  readonly range: number;
  /** Number of grid points. */
  readonly points: number;
}

export const DEFAULT_VALIDATION_GRID: ValidationGrid = { range: 20, points: 4001 };

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * Checks an activation plugin numerically before it is used: well-formed fields, finite σ, σ′, σ″ on a grid,
 * the claimed bounds L0, L1, L2 (with a relative slack of 1e-9), σ′ against a central difference of σ and σ″
 * against a central difference of σ′. Throws {@link ActivationValidationError} naming the failed check.
 */
export function validateActivation(candidate: unknown, grid: ValidationGrid = DEFAULT_VALIDATION_GRID): Activation {
  const act = candidate as Partial<Activation> | null;
  const name = typeof act?.name === 'string' ? act.name : '<unnamed>';
  const fail = (check: string, detail: string): never => {
    throw new ActivationValidationError(name, check, detail);
  };
  if (act === null || typeof act !== 'object') fail('shape', 'a plugin must export an object');
  if (typeof act!.name !== 'string' || !NAME_PATTERN.test(act!.name)) {
    fail('shape', `name must match ${NAME_PATTERN}, got ${JSON.stringify(act!.name)}`);
  }
  for (const fn of ['sigma', 'dsigma', 'd2sigma'] as const) {
    if (typeof act![fn] !== 'function') fail('shape', `${fn} must be a function`);
  }
  if (!act!.wgsl || typeof act!.wgsl.sigma !== 'string' || typeof act!.wgsl.dsigma !== 'string') {
    fail('shape', 'wgsl.sigma and wgsl.dsigma must be strings (WGSL function bodies)');
  }
  const b = act!.bounds;
  if (!b) fail('shape', 'bounds {L0, L1, L2} are required');
  for (const key of ['L0', 'L1', 'L2'] as const) {
    const v = b![key];
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0) fail('shape', `bounds.${key} must be a number ≥ 0 or Infinity, got ${v}`);
  }
  if (typeof act!.satisfiesAssumption1 !== 'boolean') fail('shape', 'satisfiesAssumption1 must be a boolean');
  const finiteBounds = Number.isFinite(b!.L0) && Number.isFinite(b!.L1) && Number.isFinite(b!.L2);
  if (act!.satisfiesAssumption1 && !finiteBounds) {
    fail('shape', 'an activation satisfying Assumption 1 needs finite bounds L0, L1, L2');
  }

  const a = act as Activation;
  const slack = (bound: number) => bound * (1 + 1e-9) + 1e-12;
  const step = (2 * grid.range) / (grid.points - 1);
  // Step of the central differences: balances truncation (∝ h²) and rounding (∝ ε/h) errors.
  const h = 1e-5;
  const checkValues = (u: number) => {
    const s = a.sigma(u);
    const ds = a.dsigma(u);
    const d2s = a.d2sigma(u);
    if (!Number.isFinite(s)) fail('finite', `sigma(${u}) = ${s}`);
    if (!Number.isFinite(ds)) fail('finite', `dsigma(${u}) = ${ds}`);
    if (!Number.isFinite(d2s)) fail('finite', `d2sigma(${u}) = ${d2s}`);
    if (Math.abs(s) > slack(b!.L0)) fail('bound L0', `|sigma(${u})| = ${Math.abs(s)} > L0 = ${b!.L0}`);
    if (Math.abs(ds) > slack(b!.L1)) fail('bound L1', `|dsigma(${u})| = ${Math.abs(ds)} > L1 = ${b!.L1}`);
    if (Math.abs(d2s) > slack(b!.L2)) fail('bound L2', `|d2sigma(${u})| = ${Math.abs(d2s)} > L2 = ${b!.L2}`);
    return ds;
  };
  // Far tails: pre-activations can be large; the functions must stay finite and bounded there too.
  if (finiteBounds) for (const u of [-1e300, -1e6, -1e3, 1e3, 1e6, 1e300]) checkValues(u);
  for (let p = 0; p < grid.points; p++) {
    const u = Number((-grid.range + p * step).toPrecision(12));
    const ds = checkValues(u);
    const d2s = a.d2sigma(u);
    const fdFirst = (a.sigma(u + h) - a.sigma(u - h)) / (2 * h);
    const fdSecond = (a.dsigma(u + h) - a.dsigma(u - h)) / (2 * h);
    const errFirst = Math.abs(fdFirst - ds) / (1 + Math.abs(ds));
    const errSecond = Math.abs(fdSecond - d2s) / (1 + Math.abs(d2s));
    // Written as !(err ≤ tol) so that a NaN difference (σ or σ′ not finite at u ± h) fails too.
    if (!(errFirst <= 1e-5)) fail('derivative', `dsigma(${u}) = ${ds} but a finite difference of sigma gives ${fdFirst}`);
    if (!(errSecond <= 1e-5)) fail('second derivative', `d2sigma(${u}) = ${d2s} but a finite difference of dsigma gives ${fdSecond}`);
  }
  return a;
}

/**
 * The identity σ(u) = u of the output layer (σ_N in (5)). It lies outside Assumption 1 and is never
 * registered for hidden layers; the last layer's updates (8), (11), (12) are exact, so no step rule applies.
 */
export const identityActivation: Activation = {
  name: 'identity',
  sigma: (u) => u,
  dsigma: () => 1,
  d2sigma: () => 0,
  wgsl: { sigma: 'return x;', dsigma: 'return 1.0;' },
  bounds: { L0: Infinity, L1: 1, L2: 0 },
  satisfiesAssumption1: false,
};
