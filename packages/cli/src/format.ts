/** Number and duration formatting shared by the progress output, the summaries and eval. */
export function sci(v: number | undefined, digits = 3): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return String(v);
  return v.toExponential(digits);
}

export function percent(v: number | undefined, digits = 2): string {
  return v === undefined || Number.isNaN(v) ? '–' : `${(100 * v).toFixed(digits)}%`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** λ as the CLI prints it (small values in exponent form: 1e-4, not 0.0001). */
export function lambdaText(lambda: number): string {
  return lambda < 1e-3 ? lambda.toExponential() : String(lambda);
}

/**
 * What follows "train loss" / "test loss" (the network's mean loss n⁻¹ Σ ℓ) in printed text: nothing for the squared
 * loss (the paper's, and what a record without a loss means), else the loss's name: " (cross-entropy)".
 */
export function lossNameSuffix(loss: string | undefined): string {
  return loss === undefined || loss === 'squared' ? '' : ` (${loss})`;
}
