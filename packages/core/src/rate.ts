/**
 * Rate diagnostics for Theorem 1(c): from logged pairs (k, ‖∇𝓛(Q^k)‖) — every iteration or only every m-th — the
 * running mean (1/K) Σ ‖∇𝓛‖² and the running minimum min_{k≤K} ‖∇𝓛(Q^k)‖², with least-squares slopes of
 * log(value) against log(K) over the tail of the run. Pure functions on numbers; no backend.
 *
 * Reading a slope. Theorem 1(c) says the running mean decays at least like 1/K: on a converging run its fitted
 * slope is ≤ −1 (up to fitting noise). A run whose ‖∇𝓛‖ vanishes fast (e.g. linearly) still shows a slope of
 * about −1 for the running mean, because the mean is then a fixed sum divided by K; the running minimum shows the
 * faster decay. A slope between −1 and 0 means the mean decays slower than 1/K (the run is not yet in the regime the
 * theorem describes, or its hypotheses do not hold). A slope near 0 means the value has plateaued at a non-zero
 * level: the iterates are not (yet) at a KKT point (24), e.g. with parameters outside the theory.
 */

/** One logged point: iteration k ≥ 1 and ‖∇𝓛(Q^k)‖. */
export interface GradientSample {
  readonly k: number;
  readonly gradNorm: number;
}

/** A least-squares fit log(value) = intercept + slope · log(K). */
export interface SlopeFit {
  readonly slope: number;
  readonly intercept: number;
  /** Coefficient of determination of the fit on the log-log points (1 = a perfect power law). */
  readonly r2: number;
  /** Points used (positive, finite values in the tail). */
  readonly points: number;
  /** First and last iteration of the fitted tail. */
  readonly fromK: number;
  readonly toK: number;
}

/** The diagnostics at every logged point and the fits over the tail. */
export interface RateDiagnostics {
  /** Logged iterations, increasing. */
  readonly k: readonly number[];
  /** ‖∇𝓛(Q^k)‖² at the logged iterations. */
  readonly gradSq: readonly number[];
  /** Running mean of ‖∇𝓛‖² up to each logged iteration (see {@link RateOptions.weighting}). */
  readonly runningMean: readonly number[];
  /** min_{logged k' ≤ k} ‖∇𝓛(Q^{k'})‖². */
  readonly runningMin: readonly number[];
  /** Fit of log(running mean) vs log(K) over the tail. */
  readonly meanFit: SlopeFit;
  /** Fit of log(running min) vs log(K) over the tail. */
  readonly minFit: SlopeFit;
  /** A one-line reading of {@link meanFit} (see the module comment). */
  readonly verdict: string;
}

export interface RateOptions {
  /** Fraction of the logged points (the last ones) to fit. Default 0.5: the last half. */
  readonly tailFraction?: number;
  /** Fit only points with k ≥ fromK (overrides tailFraction). */
  readonly fromK?: number;
  /**
   * How the running mean treats every-m-th logging. 'points' (default): the mean over the logged points, as the
   * Trainer's runningMeanGradSq does; on a uniform log grid it is the every-m-th estimate of (1/K) Σ_{k≤K}.
   * 'iterations': each logged value stands for the iterations since the previous logged one (a step-function
   * estimate of Σ_{k≤K}), divided by K; equal to 'points' when every iteration is logged.
   */
  readonly weighting?: 'points' | 'iterations';
  /** |slope| below this reads as a plateau in the verdict. Default 0.1. */
  readonly plateauSlope?: number;
  /** Slack on −1 in the verdict: slope ≤ −1 + this reads as "at least 1/K". Default 0.05. */
  readonly slopeTolerance?: number;
}

/**
 * Least-squares slope of log(y) vs log(x) over the pairs with x > 0 and finite y > 0 (others are skipped: a value of
 * exactly 0, e.g. a running min that reached 0, has no logarithm). NaN slope with fewer than two distinct x.
 */
export function fitLogLogSlope(xs: readonly number[], ys: readonly number[]): SlopeFit {
  if (xs.length !== ys.length) throw new RangeError(`fitLogLogSlope: ${xs.length} x values but ${ys.length} y values`);
  const lx: number[] = [];
  const ly: number[] = [];
  const kept: number[] = [];
  for (let t = 0; t < xs.length; t++) {
    if (xs[t] > 0 && ys[t] > 0 && Number.isFinite(xs[t]) && Number.isFinite(ys[t])) {
      lx.push(Math.log(xs[t]));
      ly.push(Math.log(ys[t]));
      kept.push(xs[t]);
    }
  }
  const m = lx.length;
  const fromK = m > 0 ? Math.min(...kept) : NaN;
  const toK = m > 0 ? Math.max(...kept) : NaN;
  if (m < 2) return { slope: NaN, intercept: NaN, r2: NaN, points: m, fromK, toK };
  const mx = lx.reduce((a, v) => a + v, 0) / m;
  const my = ly.reduce((a, v) => a + v, 0) / m;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let t = 0; t < m; t++) {
    const dx = lx[t] - mx;
    const dy = ly[t] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return { slope: NaN, intercept: NaN, r2: NaN, points: m, fromK, toK };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  // A flat line (all log-values equal up to rounding) is fitted perfectly.
  const flat = syy <= m * (1e-12 * Math.max(1, Math.abs(my))) ** 2;
  const r2 = flat ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2, points: m, fromK, toK };
}

/** Running mean and running minimum of ‖∇𝓛‖² at the logged points (sorted by k; k must be distinct integers ≥ 1). */
export function runningGradStats(
  samples: readonly GradientSample[],
  weighting: 'points' | 'iterations' = 'points',
): { k: number[]; gradSq: number[]; runningMean: number[]; runningMin: number[] } {
  const sorted = [...samples].sort((a, b) => a.k - b.k);
  const k: number[] = [];
  const gradSq: number[] = [];
  const runningMean: number[] = [];
  const runningMin: number[] = [];
  let sum = 0;
  let min = Infinity;
  let previousK = 0;
  for (const s of sorted) {
    if (!(Number.isInteger(s.k) && s.k >= 1)) throw new RangeError(`iteration numbers must be integers ≥ 1, got ${s.k}`);
    if (s.k === previousK) throw new RangeError(`iteration ${s.k} is logged twice`);
    const g2 = s.gradNorm * s.gradNorm;
    sum += weighting === 'points' ? g2 : g2 * (s.k - previousK);
    min = Math.min(min, g2);
    k.push(s.k);
    gradSq.push(g2);
    runningMean.push(sum / (weighting === 'points' ? k.length : s.k));
    runningMin.push(min);
    previousK = s.k;
  }
  return { k, gradSq, runningMean, runningMin };
}

/** The tail to fit: points with k ≥ fromK, or the last ⌈fraction · count⌉ points (at least 2 when available). */
function tailStart(k: readonly number[], options: RateOptions): number {
  if (options.fromK !== undefined) {
    const at = k.findIndex((v) => v >= options.fromK!);
    return at < 0 ? k.length : at;
  }
  const fraction = options.tailFraction ?? 0.5;
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`tailFraction must be in (0, 1], got ${fraction}`);
  const count = Math.min(k.length, Math.max(2, Math.ceil(fraction * k.length)));
  return k.length - count;
}

/** Reads a running-mean slope (see the module comment). */
export function interpretMeanSlope(slope: number, options: Pick<RateOptions, 'plateauSlope' | 'slopeTolerance'> = {}): string {
  const plateau = options.plateauSlope ?? 0.1;
  const tol = options.slopeTolerance ?? 0.05;
  if (Number.isNaN(slope)) return 'too few points to fit a slope';
  if (slope <= -1 + tol) return `slope ${slope.toFixed(3)} ≤ −1: the running mean decays at least like 1/K, as Theorem 1(c) predicts`;
  if (Math.abs(slope) < plateau) {
    return `slope ${slope.toFixed(3)} ≈ 0: ‖∇𝓛‖² has plateaued at a non-zero value; the iterates are not (yet) at a KKT point`;
  }
  if (slope < 0) return `slope ${slope.toFixed(3)} between −1 and 0: decaying, but slower than the 1/K of Theorem 1(c)`;
  return `slope ${slope.toFixed(3)} > 0: ‖∇𝓛‖² is growing`;
}

/**
 * Rate diagnostics from logged (k, ‖∇𝓛(Q^k)‖) pairs: running mean and running min of ‖∇𝓛‖², and their log-log
 * slopes over the tail (the last half of the logged points by default).
 */
export function rateDiagnostics(samples: readonly GradientSample[], options: RateOptions = {}): RateDiagnostics {
  const stats = runningGradStats(samples, options.weighting ?? 'points');
  const start = tailStart(stats.k, options);
  const tailK = stats.k.slice(start);
  const meanFit = fitLogLogSlope(tailK, stats.runningMean.slice(start));
  const minFit = fitLogLogSlope(tailK, stats.runningMin.slice(start));
  return { ...stats, meanFit, minFit, verdict: interpretMeanSlope(meanFit.slope, options) };
}

/** Gradient samples from logged metrics (e.g. the Trainer's `metrics` events), skipping iteration 0. */
export function gradientSamples(progress: readonly { readonly iteration: number; readonly gradNorm: number }[]): GradientSample[] {
  return progress.filter((m) => m.iteration >= 1).map((m) => ({ k: m.iteration, gradNorm: m.gradNorm }));
}
