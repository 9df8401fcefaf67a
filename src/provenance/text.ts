import { printable } from '../report/text.ts';
import type { ProvenanceClaim, ProvenanceReport, ProvenanceSourceSummary, ProvenanceStatus, SignatureClaim } from './types.ts';

const STATUS_LABEL: Record<ProvenanceStatus, string> = {
  matches: 'MATCHES',
  differs: 'DIFFERS',
  'not-listed': 'NOT LISTED',
  'not-hashed': 'NOT HASHED',
};
/** Width of the status column: the longest label, NOT SCANNED, and a space. */
const LABEL_WIDTH = 12;
const label = (text: string) => text.padEnd(LABEL_WIDTH);

/** A terminal rendering of a ProvenanceReport, to print after the file blocks. Untrusted text is escaped. */
export function formatProvenanceText(report: ProvenanceReport): string {
  const lines = ['Provenance'];
  for (const source of report.sources) lines.push(...formatSource(source));
  for (const file of report.files) {
    lines.push(`  ${label(STATUS_LABEL[file.status])}${printable(file.path)}${sourcesOf(file.claims)}`);
    if (file.status !== 'differs') continue;
    for (const claim of file.claims.filter((candidate) => candidate.agrees === false)) {
      if (claim.mismatch === 'size') lines.push(`      expected ${claim.size} bytes (${where(claim)}), scanned ${file.size} bytes`);
      else lines.push(`      expected ${claim.sha256} (${where(claim)})`);
    }
    if (file.claims.some((claim) => claim.mismatch === 'sha256')) lines.push(`      actual   ${file.sha256}`);
  }
  for (const entry of report.listedNotScanned) {
    const what = entry.missing === 'sha256' ? `no scanned file has ${entry.sha256}` : printable(entry.listedPath ?? '');
    lines.push(`  ${label('NOT SCANNED')}${what} (${where(entry)})`);
  }
  for (const conflict of report.conflicts) {
    lines.push(`  ${label('CONFLICT')}${printable(conflict.path)}: the sources disagree`);
    for (const claim of conflict.claims) lines.push(`      ${claim.sha256} (${where(claim)})`);
  }
  for (const note of report.notes) lines.push(`  note: ${printable(note)}`);
  const { counts } = report;
  lines.push(
    `  ${counts.matches} match, ${counts.differs} differ, ${counts.notListed} not listed, ` +
      `${counts.listedNotScanned} listed but not scanned, ${counts.conflicts} conflict(s)` +
      (counts.notHashed > 0 ? `, ${counts.notHashed} not hashed` : ''),
  );
  return lines.join('\n') + '\n';
}

function formatSource(source: ProvenanceSourceSummary): string[] {
  const lines = [`  source ${printable(source.name)}: ${source.kind}, ${source.entries} file hash(es)`];
  for (const problem of source.problems) {
    lines.push(`      problem: ${problem.line !== undefined ? `line ${problem.line}: ` : ''}${printable(problem.message)}`);
  }
  for (const note of source.notes) lines.push(`      note: ${printable(note)}`);
  if (source.signature) lines.push(...formatSignature(source.signature));
  return lines;
}

function formatSignature(signature: SignatureClaim): string[] {
  const { signer } = signature;
  const names = signer.names.map((name) => `${name.kind} ${name.value}`).join(', ');
  const who =
    signer.source === 'certificate'
      ? `${names || 'no identity in the certificate'}${signer.oidcIssuer ? `, issuer ${signer.oidcIssuer}` : ''}`
      : signer.source === 'public-key'
        ? `a public key${signer.publicKeyHint ? ` (hint ${signer.publicKeyHint})` : ''}`
        : 'no signer found';
  const lines = [`      signed by (UNVERIFIED claim): ${printable(who)}`];
  if (signer.certificateIssuer) lines.push(`      certificate issued by: ${printable(signer.certificateIssuer)}`);
  for (const entry of signature.transparencyLog) {
    lines.push(`      transparency log index ${printable(entry.logIndex)}${entry.integratedTime ? ` at ${entry.integratedTime}` : ''}`);
  }
  lines.push(`      ${printable(signature.unverifiedReason)}`);
  lines.push(`      verify: ${printable(signature.verifyCommand)}`);
  return lines;
}

function sourcesOf(claims: ProvenanceClaim[]): string {
  return claims.length > 0 ? `  (${claims.map(where).join('; ')})` : '';
}

function where(claim: { source: string; line?: number }): string {
  return printable(`${claim.source}${claim.line !== undefined ? ` line ${claim.line}` : ''}`);
}
