/** The text of a theory report (nladmm theory): core's TheoryReport as lines, one per hypothesis. */
import { type TheoryReport, formatTheoryNumber as fmt } from '@nladmm/core';

/** A human-readable report: the constants, then one line per hypothesis (id, holds/fails, lhs, rhs, margin), then notes. */
export function formatTheoryReport(report: TheoryReport): string {
  const c = report.constants;
  const lines: string[] = [];
  lines.push(
    `constants: L0=${fmt(c.L0)} L1=${fmt(c.L1)} L2=${fmt(c.L2)} L3=${fmt(c.L3)} γ=${fmt(c.gamma)} d_min=${c.dMin} f_min=${fmt(c.fMin)} α3=${fmt(c.alpha3)} ` +
      `C3=${fmt(c.C3)} λ̄=${fmt(c.lambdaBar)} λ̂=${fmt(c.lambdaHat)} (n=${c.n}, N=${c.N}, ‖X‖=${fmt(c.normX)}, ‖Y‖=${fmt(c.normY)}${report.bias ? ', biases absorbed' : ''})`,
  );
  lines.push(`parameters: β=[${report.parameters.betas.map(fmt).join(', ')}] λ=${fmt(report.parameters.lambda)}`);
  const width = Math.max(...report.hypotheses.map((h) => h.id.length));
  for (const h of report.hypotheses) {
    const status = !h.defined ? 'undefined' : h.holds ? 'holds' : 'FAILS';
    const margin = h.marginKind === 'ratio' ? `lhs/rhs=${fmt(h.margin)}` : `lhs−rhs=${fmt(h.margin)}`;
    lines.push(`${h.id.padEnd(width)}  ${status.padEnd(9)}  ${h.lhsLabel}=${fmt(h.lhs)} ${h.relation === '>=' ? '≥' : '≤'} ${fmt(h.rhs)}  ${margin}`);
  }
  lines.push(report.allHold ? 'all of (42)-(47) hold' : `failing: ${report.failing.join(', ')}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
