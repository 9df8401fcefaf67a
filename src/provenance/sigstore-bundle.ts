/**
 * OpenSSF model signing bundles (`model.sig`): a Sigstore bundle whose DSSE
 * envelope carries an in-toto statement listing every file of the model with
 * its SHA-256.
 *
 * Spec: Sigstore bundle (https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto,
 * JSON mapping: `mediaType` `application/vnd.dev.sigstore.bundle.v0.3+json` or
 * `application/vnd.dev.sigstore.bundle+json;version=0.x`; `verificationMaterial`
 * with `certificate.rawBytes` (v0.3), `x509CertificateChain.certificates[]`
 * (v0.1, v0.2) or `publicKey.hint`, and `tlogEntries`; `dsseEnvelope` with
 * base64 `payload`, `payloadType` and `signatures[].sig`), DSSE
 * (https://github.com/secure-systems-lab/dsse), and in-toto-statement.ts.
 *
 * Nothing is verified: not the DSSE signature, not the certificate chain to
 * Sigstore's root, not the transparency log inclusion. The signer and digests
 * are reported as an unverified claim with the command that verifies them.
 *
 * Threat surface: the bundle is untrusted JSON with base64 inside. Decoded
 * sizes are checked before decoding, the payload must be UTF-8 JSON, the
 * certificate goes through the bounded DER reader, and lists are bounded.
 */
import { decodeBase64 } from './base64.ts';
import { createSetCollector, type SetCollector } from './collector.ts';
import { readInTotoStatement, type StatementSummary } from './in-toto-statement.ts';
import { isObject, parseJson, type JsonObject } from './json.ts';
import { MAX_EXPECTATION_CHARS } from './limits.ts';
import type { ExpectationSet, SignerIdentity, TransparencyLogClaim } from './types.ts';
import { modelSigningVerifyCommand } from './verify-command.ts';
import { MAX_CERTIFICATE_BYTES, readCertificateIdentity } from './x509-identity.ts';

/** Transparency log entries reported: a bundle has one (CWE-770). */
export const MAX_TLOG_ENTRIES = 8;
/** Longest signature kept, in base64 characters: ML-DSA-87 signatures are about 6 200 (CWE-400). */
export const MAX_SIGNATURE_CHARS = 16 * 1024;
/** Longest public key hint kept (CWE-400). */
const MAX_HINT_CHARS = 512;

const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Why the claim is not verified, in words for the person reading the report. */
export const UNVERIFIED_REASON =
  'Not verified: Preflight read the signer and the file hashes from the bundle but did not check the signature, ' +
  "the certificate's chain to Sigstore's root or the transparency log entry; that needs Sigstore's trust root " +
  'and online checks that are not done offline in the browser. Anyone can write a bundle that claims these ' +
  'values: run the verify command to check it.';

/** True for JSON that is (or plainly means to be) a Sigstore bundle. */
export function looksLikeSigstoreBundle(json: unknown): boolean {
  if (!isObject(json)) return false;
  if (typeof json.mediaType === 'string' && json.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) return true;
  return isObject(json.dsseEnvelope) || isObject(json.messageSignature);
}

export function parseSigstoreBundle(name: string, bundle: JsonObject): ExpectationSet {
  const collector = createSetCollector(name, 'model-signing-bundle');
  const mediaType = typeof bundle.mediaType === 'string' ? bundle.mediaType : null;
  if (mediaType === null) collector.note('the bundle has no mediaType; read as a Sigstore bundle because of its shape');
  else if (!mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) collector.problem(`mediaType ${JSON.stringify(mediaType.slice(0, 100))} is not a Sigstore bundle's`);

  let statement: StatementSummary = { predicateType: null, modelName: null, serialization: null };
  let signature: string | null = null;
  if (isObject(bundle.dsseEnvelope)) {
    statement = readEnvelope(bundle.dsseEnvelope, collector);
    signature = readSignature(bundle.dsseEnvelope, collector);
  } else if (isObject(bundle.messageSignature)) {
    collector.problem('the bundle signs a message digest, not an in-toto statement, so it lists no files');
  } else {
    collector.problem('the bundle has no dsseEnvelope');
  }

  const material = isObject(bundle.verificationMaterial) ? bundle.verificationMaterial : null;
  if (material === null) collector.problem('the bundle has no verificationMaterial');
  const signer = readSigner(material, collector);
  collector.signature = {
    verified: false,
    unverifiedReason: UNVERIFIED_REASON,
    signer,
    signature,
    bundleMediaType: mediaType,
    predicateType: statement.predicateType,
    modelName: statement.modelName,
    serialization: statement.serialization,
    transparencyLog: readTransparencyLog(material, collector),
    verifyCommand: modelSigningVerifyCommand(name, signer),
  };
  return collector.finish();
}

function readEnvelope(envelope: JsonObject, collector: SetCollector): StatementSummary {
  const empty: StatementSummary = { predicateType: null, modelName: null, serialization: null };
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    const found = typeof envelope.payloadType === 'string' ? JSON.stringify(envelope.payloadType.slice(0, 100)) : 'missing';
    collector.problem(`dsseEnvelope.payloadType is ${found}, expected ${IN_TOTO_PAYLOAD_TYPE}; read anyway`);
  }
  if (typeof envelope.payload !== 'string') {
    collector.problem('dsseEnvelope.payload is missing or not a string');
    return empty;
  }
  const decoded = decodeBase64(envelope.payload, MAX_EXPECTATION_CHARS);
  if (!decoded.ok) {
    collector.problem(`dsseEnvelope.payload is not base64: ${decoded.message}`);
    return empty;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(decoded.bytes);
  } catch {
    collector.problem('dsseEnvelope.payload is not UTF-8 text');
    return empty;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) {
    collector.problem(`dsseEnvelope.payload is not JSON: ${parsed.message}`);
    return empty;
  }
  return readInTotoStatement(parsed.value, collector, 'payload');
}

function readSignature(envelope: JsonObject, collector: SetCollector): string | null {
  const first = Array.isArray(envelope.signatures) ? envelope.signatures[0] : undefined;
  if (!isObject(first) || typeof first.sig !== 'string' || first.sig === '') {
    collector.problem('dsseEnvelope.signatures has no signature');
    return null;
  }
  if (first.sig.length > MAX_SIGNATURE_CHARS) {
    collector.problem(`the signature has ${first.sig.length} characters, over the ${MAX_SIGNATURE_CHARS} limit`);
    return null;
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(first.sig)) {
    collector.problem('dsseEnvelope.signatures[0].sig is not base64');
    return null;
  }
  return first.sig;
}

function readSigner(material: JsonObject | null, collector: SetCollector): SignerIdentity {
  const signer: SignerIdentity = { source: 'none', names: [], oidcIssuer: null, certificateIssuer: null, publicKeyHint: null };
  if (material === null) return signer;
  const certificate = leafCertificate(material);
  if (certificate !== null) {
    const decoded = decodeBase64(certificate.rawBytes, MAX_CERTIFICATE_BYTES);
    const read = decoded.ok ? readCertificateIdentity(decoded.bytes) : decoded;
    if (!read.ok) {
      collector.problem(`${certificate.where} is not a readable certificate: ${read.message}`);
      return signer;
    }
    return { ...signer, source: 'certificate', ...read.identity };
  }
  if (isObject(material.publicKey)) {
    const hint = typeof material.publicKey.hint === 'string' ? material.publicKey.hint.slice(0, MAX_HINT_CHARS) : null;
    return { ...signer, source: 'public-key', publicKeyHint: hint };
  }
  collector.problem('verificationMaterial has no certificate and no public key');
  return signer;
}

/** The signing certificate: `certificate` (bundle v0.3) or the first of `x509CertificateChain` (v0.1, v0.2). */
function leafCertificate(material: JsonObject): { rawBytes: string; where: string } | null {
  if (isObject(material.certificate) && typeof material.certificate.rawBytes === 'string') {
    return { rawBytes: material.certificate.rawBytes, where: 'verificationMaterial.certificate' };
  }
  const chain = isObject(material.x509CertificateChain) ? material.x509CertificateChain.certificates : undefined;
  const first = Array.isArray(chain) ? chain[0] : undefined;
  if (isObject(first) && typeof first.rawBytes === 'string') {
    return { rawBytes: first.rawBytes, where: 'verificationMaterial.x509CertificateChain.certificates[0]' };
  }
  return null;
}

function readTransparencyLog(material: JsonObject | null, collector: SetCollector): TransparencyLogClaim[] {
  const entries = material && Array.isArray(material.tlogEntries) ? material.tlogEntries : [];
  if (entries.length > MAX_TLOG_ENTRIES) collector.note(`${entries.length} transparency log entries; the first ${MAX_TLOG_ENTRIES} are shown`);
  const claims: TransparencyLogClaim[] = [];
  for (const entry of entries.slice(0, MAX_TLOG_ENTRIES)) {
    if (!isObject(entry)) continue;
    const logIndex = typeof entry.logIndex === 'string' || typeof entry.logIndex === 'number' ? String(entry.logIndex).slice(0, 32) : null;
    if (logIndex === null) continue;
    claims.push({ logIndex, integratedTime: isoTime(entry.integratedTime) });
  }
  return claims;
}

/** `integratedTime` is Unix seconds (a string in the JSON mapping of int64); null when absent or absurd. */
function isoTime(value: unknown): string | null {
  const seconds = typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > 253402300799) return null;
  return new Date(seconds * 1000).toISOString();
}
