/**
 * The loss plugin contract. The paper's problem (5) has the squared loss ½‖V_N − Y‖²; a loss plugin replaces it by
 * ℓ(V_N; Y) = Σ_c ℓ(v_c; y_c), a sum over the columns (samples) of a convex, differentiable per-column loss. Only
 * Algorithm 1's V_N subproblem changes: (12) becomes the proximal step
 *
 *     V_N^k = argmin_V ℓ(V; Y) + β_N/2 ‖V − T‖²,   T = W_N^k Ṽ_{N−1}^k + Λ_N^{k−1}/β_N,
 *
 * separable by columns and β_N-strongly convex (see lossProx.ts), and Lemma 6's (50) reads Λ_N^k = ∇ℓ(V_N^k).
 * A loss supplies ℓ, ∇ℓ and the Newton system (∇²ℓ + βI) s = r for one column in JavaScript (CPU backends, checks),
 * the same three as WGSL function bodies (WebGPU backend), and a bound on ∇²ℓ (the theory report).
 */
export interface Loss {
  /** Registry name, e.g. `squared`. Letters, digits, `-` and `_`. */
  readonly name: string;
  /** ℓ(v; y) of one column (both of length d_N). */
  value(v: Float64Array, y: Float64Array): number;
  /** g ← ∇ℓ(v; y). */
  gradient(v: Float64Array, y: Float64Array, g: Float64Array): void;
  /** s ← (∇²ℓ(v; y) + β I)⁻¹ r for β > 0: the Newton system of the V_N subproblem. `s` is never `r`. */
  newtonSolve(v: Float64Array, y: Float64Array, beta: number, r: Float64Array, s: Float64Array): void;
  /**
   * WGSL function bodies over one column, with `LOSS_D` (= d_N, a `const u32`) and `Column` (= `array<f32, LOSS_D>`):
   * `value`: `fn loss_value(v: ptr<function, Column>, y: ptr<function, Column>) -> f32`;
   * `gradient`: `fn loss_gradient(v: …, y: …, g: ptr<function, Column>)`;
   * `newtonSolve`: `fn loss_newton_solve(v: …, y: …, beta: f32, r: ptr<function, Column>, s: ptr<function, Column>)`.
   * They may call only WGSL builtins.
   */
  readonly wgsl: { readonly value: string; readonly gradient: string; readonly newtonSolve: string };
  /** sup ‖∇²ℓ(v; y)‖₂ over v (the Lipschitz constant of ∇ℓ); Infinity when not known. */
  readonly smoothness: number;
  /**
   * True only for the paper's ℓ(v; y) = ½‖v − y‖²: V_N is then updated by the closed form (12) and the theory of the
   * paper applies as written.
   */
  readonly quadratic: boolean;
  /**
   * Why a target column cannot be used with this loss (e.g. cross-entropy needs a probability vector), or undefined
   * when it can. Omitted: every finite column can.
   */
  checkTarget?(y: Float64Array): string | undefined;
}

/** The error a refused loss plugin raises: it names the plugin and the check that failed. */
export class LossValidationError extends Error {
  constructor(
    readonly lossName: string,
    readonly check: string,
    detail: string,
  ) {
    super(`loss '${lossName}' refused: ${check} check failed: ${detail}`);
    this.name = 'LossValidationError';
  }
}

/**
 * The paper's loss ½‖v − y‖² (5). Its V_N step is the closed form (12); the Newton system is (1 + β) s = r.
 */
export const squaredLoss: Loss = {
  name: 'squared',
  value(v, y) {
    let acc = 0;
    for (let i = 0; i < v.length; i++) acc += (v[i] - y[i]) ** 2;
    return acc / 2;
  },
  gradient(v, y, g) {
    for (let i = 0; i < v.length; i++) g[i] = v[i] - y[i];
  },
  newtonSolve(_v, _y, beta, r, s) {
    for (let i = 0; i < r.length; i++) s[i] = r[i] / (1 + beta);
  },
  wgsl: {
    value: 'var acc = 0.0; for (var i = 0u; i < LOSS_D; i++) { let e = (*v)[i] - (*y)[i]; acc += e * e; } return 0.5 * acc;',
    gradient: 'for (var i = 0u; i < LOSS_D; i++) { (*g)[i] = (*v)[i] - (*y)[i]; }',
    newtonSolve: 'for (var i = 0u; i < LOSS_D; i++) { (*s)[i] = (*r)[i] / (1.0 + beta); }',
  },
  smoothness: 1,
  quadratic: true,
};

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** The samples a loss is checked on: a seeded generator of v (≈ N(0, scale²)) and of target columns. */
export interface LossValidationSamples {
  /** Output width d of the checked columns. */
  readonly width: number;
  /** Number of random columns v. */
  readonly points: number;
  /** Standard deviation of the entries of v. */
  readonly scale: number;
}

export const DEFAULT_LOSS_VALIDATION: LossValidationSamples = { width: 10, points: 200, scale: 3 };

/** The seed of {@link validationStream} in {@link validateLoss}. */
export const LOSS_VALIDATION_SEED = 20241;

/**
 * A small deterministic generator (xorshift32 → Gaussian) so that validation checks the same points every time.
 * Self-contained (it refers to nothing outside its body): the plugin loader's vetting worker runs its source text, so
 * that the worker makes exactly the calls of {@link validateLoss}.
 */
export function validationStream(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * The target columns a loss is checked with: one-hot columns and a smoothed probability vector (accepted by a
 * classification loss) and a Gaussian column (a regression target); those the loss's checkTarget refuses are skipped.
 * Self-contained, like {@link validationStream}.
 */
export function validationTargets(d: number, next: () => number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let c = 0; c < Math.min(d, 3); c++) {
    const y = new Float64Array(d);
    y[c] = 1;
    out.push(y);
  }
  const soft = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < d; i++) total += soft[i] = Math.exp(next());
  for (let i = 0; i < d; i++) soft[i] /= total;
  out.push(soft);
  out.push(Float64Array.from({ length: d }, () => next()));
  return out;
}

/**
 * Checks a loss plugin numerically before it is used: well-formed fields; ℓ and ∇ℓ finite on samples; ∇ℓ against
 * central differences of ℓ; convexity (ℓ(b) ≥ ℓ(a) + ⟨∇ℓ(a), b − a⟩ on pairs of samples); the Newton solve against a
 * central difference of ∇ℓ ((∇²ℓ + βI) s = r); the claimed smoothness (‖∇²ℓ s‖ ≤ L‖s‖). Throws
 * {@link LossValidationError} naming the failed check.
 */
export function validateLoss(candidate: unknown, samples: LossValidationSamples = DEFAULT_LOSS_VALIDATION): Loss {
  const loss = candidate as Partial<Loss> | null;
  const name = typeof loss?.name === 'string' ? loss.name : '<unnamed>';
  const fail = (check: string, detail: string): never => {
    throw new LossValidationError(name, check, detail);
  };
  if (loss === null || typeof loss !== 'object') fail('shape', 'a plugin must export an object');
  if (typeof loss!.name !== 'string' || !NAME_PATTERN.test(loss!.name)) {
    fail('shape', `name must match ${NAME_PATTERN}, got ${JSON.stringify(loss!.name)}`);
  }
  for (const fn of ['value', 'gradient', 'newtonSolve'] as const) {
    if (typeof loss![fn] !== 'function') fail('shape', `${fn} must be a function`);
  }
  if (loss!.checkTarget !== undefined && typeof loss!.checkTarget !== 'function') fail('shape', 'checkTarget must be a function when given');
  const w = loss!.wgsl;
  if (!w || typeof w.value !== 'string' || typeof w.gradient !== 'string' || typeof w.newtonSolve !== 'string') {
    fail('shape', 'wgsl.value, wgsl.gradient and wgsl.newtonSolve must be strings (WGSL function bodies)');
  }
  const L = loss!.smoothness as number;
  if (typeof L !== 'number' || Number.isNaN(L) || L < 0) fail('shape', `smoothness must be a number ≥ 0 or Infinity, got ${L}`);
  if (typeof loss!.quadratic !== 'boolean') fail('shape', 'quadratic must be a boolean');
  if (loss!.quadratic && loss !== squaredLoss) fail('shape', 'only the built-in squared loss may claim quadratic: true');

  const f = loss as Loss;
  const d = samples.width;
  const next = validationStream(LOSS_VALIDATION_SEED);
  const targets = validationTargets(d, next).filter((y) => f.checkTarget?.(y) === undefined);
  if (targets.length === 0) fail('targets', 'checkTarget refuses every sample target (one-hot, probability and Gaussian columns)');
  const columns = Array.from({ length: samples.points }, () => Float64Array.from({ length: d }, () => samples.scale * next()));
  const show = (v: Float64Array) => `[${Array.from(v, (x) => Number(x.toPrecision(4))).join(', ')}]`;
  const value = (v: Float64Array, y: Float64Array) => {
    const out = f.value(v, y);
    if (!Number.isFinite(out)) fail('finite', `value(${show(v)}) = ${out}`);
    return out;
  };
  const gradient = (v: Float64Array, y: Float64Array) => {
    const g = new Float64Array(d);
    f.gradient(v, y, g);
    for (let i = 0; i < d; i++) if (!Number.isFinite(g[i])) fail('finite', `gradient(${show(v)})[${i}] = ${g[i]}`);
    return g;
  };
  const h = 1e-5;
  const beta = 0.7;
  for (const y of targets) {
    for (let p = 0; p < columns.length; p++) {
      const v = columns[p];
      const fv = value(v, y);
      const g = gradient(v, y);
      // ∇ℓ against central differences, one coordinate at a time.
      for (let i = 0; i < d; i++) {
        const plus = Float64Array.from(v);
        const minus = Float64Array.from(v);
        plus[i] += h;
        minus[i] -= h;
        const fd = (value(plus, y) - value(minus, y)) / (2 * h);
        // !(err ≤ tol) so that a NaN fails too.
        if (!(Math.abs(fd - g[i]) <= 1e-5 * (1 + Math.abs(g[i])))) {
          fail('gradient', `gradient(${show(v)})[${i}] = ${g[i]} but a finite difference of value gives ${fd}`);
        }
      }
      // Convexity: the tangent plane at v lies below ℓ at the next sample.
      const u = columns[(p + 1) % columns.length];
      let tangent = fv;
      for (let i = 0; i < d; i++) tangent += g[i] * (u[i] - v[i]);
      const fu = value(u, y);
      if (!(fu >= tangent - 1e-9 * (1 + Math.abs(fu)))) {
        fail('convexity', `value(${show(u)}) = ${fu} lies below the tangent at ${show(v)} (${tangent})`);
      }
      // Newton solve: s = (∇²ℓ + βI)⁻¹ r, with ∇²ℓ s from a central difference of ∇ℓ.
      const r = Float64Array.from({ length: d }, () => next());
      const s = new Float64Array(d);
      f.newtonSolve(v, y, beta, r, s);
      let sNorm = 0;
      for (let i = 0; i < d; i++) {
        if (!Number.isFinite(s[i])) fail('finite', `newtonSolve at ${show(v)} gave s[${i}] = ${s[i]}`);
        sNorm += s[i] * s[i];
      }
      sNorm = Math.sqrt(sNorm);
      const eps = 1e-5 / Math.max(1, sNorm);
      const gp = gradient(Float64Array.from(v, (x, i) => x + eps * s[i]), y);
      const gm = gradient(Float64Array.from(v, (x, i) => x - eps * s[i]), y);
      let hsNorm = 0;
      let rNorm = 0;
      let err = 0;
      for (let i = 0; i < d; i++) {
        const hs = (gp[i] - gm[i]) / (2 * eps);
        hsNorm += hs * hs;
        rNorm += r[i] * r[i];
        err = Math.max(err, Math.abs(hs + beta * s[i] - r[i]));
      }
      if (!(err <= 1e-5 * (1 + Math.sqrt(rNorm)))) {
        fail('newton solve', `at ${show(v)}, (∇²ℓ + βI) s differs from r by ${err.toExponential(3)} (β = ${beta})`);
      }
      if (Number.isFinite(L) && !(Math.sqrt(hsNorm) <= L * sNorm * (1 + 1e-6) + 1e-9)) {
        fail('smoothness', `at ${show(v)}, ‖∇²ℓ s‖ = ${Math.sqrt(hsNorm)} > smoothness · ‖s‖ = ${L * sNorm}`);
      }
    }
  }
  return f;
}
