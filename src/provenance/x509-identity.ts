/**
 * Who a signing certificate names, read from its DER without checking it.
 *
 * Spec: RFC 5280 §4.1 (Certificate, TBSCertificate, Extensions) and §4.2.1.6
 * (subjectAltName); Sigstore Fulcio's extensions
 * (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md):
 * 1.3.6.1.4.1.57264.1.8 holds the OIDC issuer as a DER UTF8String, the older
 * 1.3.6.1.4.1.57264.1.1 holds it as raw bytes.
 *
 * Threat surface: the certificate is attacker-controlled bytes inside an
 * attacker-controlled bundle. Its size, names and string lengths are bounded;
 * the DER walker checks every length; a bad certificate is an error message.
 * Nothing read here is trusted: it is what the certificate *claims*.
 */
import {
  DER_TAG,
  DerError,
  type DerElement,
  decodeDerOid,
  decodeDerText,
  derChildren,
  expectDerElement,
  readDerElement,
} from './der.ts';
import type { SignerNameKind } from './types.ts';

/** Largest certificate read: Fulcio leaves are about 1 KiB (CWE-400). */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** Subject alternative names kept: Fulcio puts one (CWE-770). */
export const MAX_SIGNER_NAMES = 16;
/** Longest name or issuer kept, in characters; longer ones are cut with an ellipsis (CWE-400). */
export const MAX_NAME_CHARS = 2048;

const OID = {
  subjectAltName: '2.5.29.17',
  organisation: '2.5.4.10',
  commonName: '2.5.4.3',
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
} as const;

/** GeneralName tags (context-specific, RFC 5280 §4.2.1.6) and what they are. */
const GENERAL_NAME_KINDS: Record<number, SignerNameKind> = {
  0xa0: 'other',
  0x81: 'email',
  0x82: 'dns',
  0x86: 'uri',
};

const EXTENSIONS_TAG = 0xa3;
const VERSION_TAG = 0xa0;

export interface CertificateIdentity {
  names: { kind: SignerNameKind; value: string }[];
  oidcIssuer: string | null;
  certificateIssuer: string | null;
}

/** The identity a DER certificate claims, or why it could not be read. */
export function readCertificateIdentity(der: Uint8Array): { ok: true; identity: CertificateIdentity } | { ok: false; message: string } {
  if (der.length > MAX_CERTIFICATE_BYTES) {
    return { ok: false, message: `certificate of ${der.length} bytes exceeds the ${MAX_CERTIFICATE_BYTES}-byte limit` };
  }
  try {
    return { ok: true, identity: readIdentity(der) };
  } catch (error) {
    if (error instanceof DerError) return { ok: false, message: error.message };
    throw error;
  }
}

function readIdentity(der: Uint8Array): CertificateIdentity {
  const certificate = expectDerElement(der, 0, der.length, DER_TAG.sequence, 'certificate');
  const tbs = expectDerElement(der, certificate.contentStart, certificate.contentEnd, DER_TAG.sequence, 'tbsCertificate');
  const fields = derChildren(der, tbs);
  // version [0] is optional; then serial, signature algorithm, issuer, validity, subject, key, optional [1] [2] [3].
  const first = fields[0]?.tag === VERSION_TAG ? 1 : 0;
  const issuer = fields[first + 2];
  if (!issuer || issuer.tag !== DER_TAG.sequence) throw new DerError(tbs.offset, 'tbsCertificate has no issuer name');
  const identity: CertificateIdentity = { names: [], oidcIssuer: null, certificateIssuer: readIssuerName(der, issuer) };
  const extensions = fields.slice(first + 6).find((field) => field.tag === EXTENSIONS_TAG);
  if (!extensions) return identity;
  const list = expectDerElement(der, extensions.contentStart, extensions.contentEnd, DER_TAG.sequence, 'extensions');
  let issuerV1: string | null = null;
  for (const extension of derChildren(der, list)) {
    const [id, ...rest] = derChildren(der, extension);
    if (!id || id.tag !== DER_TAG.objectIdentifier) throw new DerError(extension.offset, `extension at offset ${extension.offset} has no identifier`);
    const value = rest[rest.length - 1];
    if (!value || value.tag !== DER_TAG.octetString) throw new DerError(extension.offset, `extension at offset ${extension.offset} has no value`);
    const oid = decodeDerOid(der, id);
    if (oid === OID.subjectAltName) identity.names = readGeneralNames(der, value);
    else if (oid === OID.fulcioIssuerV2) identity.oidcIssuer = readIssuerV2(der, value);
    else if (oid === OID.fulcioIssuerV1) issuerV1 = bounded(decodeDerText(der, value));
  }
  identity.oidcIssuer ??= issuerV1;
  return identity;
}

/** `O, CN` of the issuer name, the parts a person recognises (`sigstore.dev, sigstore-intermediate`). */
function readIssuerName(der: Uint8Array, name: DerElement): string | null {
  const parts: Record<string, string> = {};
  for (const relativeName of derChildren(der, name)) {
    for (const attribute of derChildren(der, relativeName)) {
      const [type, value] = derChildren(der, attribute);
      if (!type || !value || type.tag !== DER_TAG.objectIdentifier) continue;
      const oid = decodeDerOid(der, type);
      if (oid === OID.organisation || oid === OID.commonName) parts[oid] ??= bounded(decodeDerText(der, value));
    }
  }
  const found = [parts[OID.organisation], parts[OID.commonName]].filter((part): part is string => part !== undefined);
  return found.length > 0 ? found.join(', ') : null;
}

function readGeneralNames(der: Uint8Array, value: DerElement): CertificateIdentity['names'] {
  const sequence = expectDerElement(der, value.contentStart, value.contentEnd, DER_TAG.sequence, 'subjectAltName');
  const names: CertificateIdentity['names'] = [];
  for (const name of derChildren(der, sequence)) {
    const kind = GENERAL_NAME_KINDS[name.tag];
    if (!kind || names.length >= MAX_SIGNER_NAMES) continue;
    const text = kind === 'other' ? readOtherName(der, name) : decodeDerText(der, name);
    if (text !== null) names.push({ kind, value: bounded(text) });
  }
  return names;
}

/** otherName: `type-id OID, [0] EXPLICIT value`; Fulcio puts a UTF8String there for user names. */
function readOtherName(der: Uint8Array, name: DerElement): string | null {
  const [, wrapped] = derChildren(der, name);
  if (!wrapped || wrapped.tag !== 0xa0) return null;
  const inner = readDerElement(der, wrapped.contentStart, wrapped.contentEnd);
  return inner.tag === DER_TAG.utf8String || inner.tag === DER_TAG.ia5String ? decodeDerText(der, inner) : null;
}

function readIssuerV2(der: Uint8Array, value: DerElement): string {
  const text = expectDerElement(der, value.contentStart, value.contentEnd, DER_TAG.utf8String, 'Fulcio issuer (v2)');
  return bounded(decodeDerText(der, text));
}

function bounded(text: string): string {
  return text.length > MAX_NAME_CHARS ? `${text.slice(0, MAX_NAME_CHARS)}…` : text;
}
