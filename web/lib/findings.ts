import { SEVERITIES, type Finding, type FindingLocation } from '../../src/report/types.ts';
import { formatInteger, formatOffset } from './format.ts';

/** Worst first; the order of the scan is kept within a severity. */
export function sortBySeverity(findings: readonly Finding[]): Finding[] {
  const rank = (finding: Finding) => SEVERITIES.indexOf(finding.severity);
  return [...findings].sort((left, right) => rank(left) - rank(right));
}

/** `2 high, 1 medium`: counts per severity, worst first. */
export function severityCounts(findings: readonly Finding[]): string {
  const counts = SEVERITIES.map((severity) => [severity, findings.filter((finding) => finding.severity === severity).length] as const);
  return counts
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`)
    .join(', ');
}

/** `offset 0x1A3 (419), 12 bytes, in archive/data.pkl`; null when the finding has no location. */
export function describeLocation(location: FindingLocation): string | null {
  const parts: string[] = [];
  if (location.offset !== undefined) parts.push(formatOffset(location.offset));
  if (location.length !== undefined) parts.push(`${formatInteger(location.length)} bytes`);
  if (location.entry !== undefined) parts.push(`in ${location.entry}`);
  return parts.length > 0 ? parts.join(', ') : null;
}
