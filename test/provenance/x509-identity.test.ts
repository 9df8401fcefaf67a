import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeDerOid, readDerElement } from '../../src/provenance/der.ts';
import { MAX_CERTIFICATE_BYTES, readCertificateIdentity } from '../../src/provenance/x509-identity.ts';
import { fixtureCertificate, fixturePath } from './bundle-builder.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';

/** Finds `needle` in `bytes` (for corrupting one field of a real certificate). */
function indexOf(bytes: Uint8Array, needle: number[]): number {
  outer: for (let index = 0; index + needle.length <= bytes.length; index++) {
    for (let offset = 0; offset < needle.length; offset++) if (bytes[index + offset] !== needle[offset]) continue outer;
    return index;
  }
  throw new Error('needle not found');
}

describe('readCertificateIdentity on certificates made by openssl', () => {
  it('reads the SAN e-mail and URI, the v2 issuer extension and the issuing CA', () => {
    const result = readCertificateIdentity(fixtureCertificate('fulcio-like.der'));
    expect(result).toEqual({
      ok: true,
      identity: {
        names: [
          { kind: 'email', value: 'signer@example.com' },
          { kind: 'uri', value: 'https://github.com/example/model/.github/workflows/sign.yml@refs/heads/main' },
        ],
        oidcIssuer: ISSUER,
        certificateIssuer: 'sigstore.dev, sigstore-intermediate',
      },
    });
  });

  it('falls back to the v1 issuer extension (raw bytes) when v2 is absent', () => {
    const result = readCertificateIdentity(fixtureCertificate('legacy-issuer.der'));
    expect(result).toMatchObject({ ok: true, identity: { names: [{ kind: 'uri', value: 'https://example.com/signer' }], oidcIssuer: ISSUER } });
  });

  it('the PEM fixture holds the same certificate as the DER one', () => {
    const pem = readFileSync(fixturePath('fulcio-like.pem'), 'utf8');
    const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    expect(Buffer.from(body, 'base64')).toEqual(Buffer.from(fixtureCertificate('fulcio-like.der')));
  });
});

describe('readCertificateIdentity on broken certificates', () => {
  const der = fixtureCertificate('fulcio-like.der');
  const corrupt = (edit: (bytes: Uint8Array) => void) => {
    const copy = der.slice();
    edit(copy);
    return copy;
  };

  it.each<[string, Uint8Array, RegExp]>([
    ['empty input', new Uint8Array(0), /needs 2 bytes but only 0 remain/],
    ['truncated in the middle', der.subarray(0, 300), /declares \d+ bytes but only \d+ remain/],
    ['not a SEQUENCE', corrupt((bytes) => void (bytes[0] = 0x31)), /certificate at offset 0 has tag 0x31, expected 0x30/],
    ['indefinite length', Uint8Array.of(0x30, 0x80, 0x00, 0x00), /indefinite length at offset 0 is not DER/],
    ['a 5-byte length field', Uint8Array.of(0x30, 0x85, 1, 0, 0, 0, 0), /length field of 5 bytes at offset 0 exceeds 4/],
    ['a multi-byte tag', Uint8Array.of(0x1f, 0x81, 0x00), /multi-byte tag/],
    // The SAN extension is OID (5 bytes), critical TRUE (3), OCTET STRING header (2), then the GeneralNames SEQUENCE.
    ['a SAN that is not a SEQUENCE', corrupt((bytes) => void (bytes[indexOf(bytes, [0x06, 0x03, 0x55, 0x1d, 0x11]) + 10] = 0x31)), /subjectAltName at offset \d+ has tag 0x31/],
  ])('%s is an error message, not an exception', (_, bytes, message) => {
    const result = readCertificateIdentity(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('refuses a certificate over the size limit before parsing it', () => {
    const result = readCertificateIdentity(new Uint8Array(MAX_CERTIFICATE_BYTES + 1));
    expect(result).toEqual({ ok: false, message: `certificate of ${MAX_CERTIFICATE_BYTES + 1} bytes exceeds the ${MAX_CERTIFICATE_BYTES}-byte limit` });
  });

  it('never throws on any truncation of a real certificate', () => {
    for (let length = 0; length < der.length; length++) {
      expect(() => readCertificateIdentity(der.subarray(0, length))).not.toThrow();
    }
  });

  it('never throws on any single flipped byte of a real certificate', () => {
    for (let index = 0; index < der.length; index++) {
      const bytes = corrupt((copy) => void (copy[index] ^= 0xff));
      expect(() => readCertificateIdentity(bytes)).not.toThrow();
    }
  });
});

describe('DER details', () => {
  it.each<[number[], string]>([
    [[0x55, 0x1d, 0x11], '2.5.29.17'],
    [[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x08], '1.3.6.1.4.1.57264.1.8'],
    [[0x88, 0x37], '2.999'],
  ])('decodes OID %j as %s', (content, dotted) => {
    const bytes = Uint8Array.of(0x06, content.length, ...content);
    expect(decodeDerOid(bytes, readDerElement(bytes, 0, bytes.length))).toBe(dotted);
  });

  it('an OID that ends mid-arc is an error', () => {
    const bytes = Uint8Array.of(0x06, 0x02, 0x2b, 0x83);
    expect(() => decodeDerOid(bytes, readDerElement(bytes, 0, bytes.length))).toThrow(/ends mid-arc/);
  });
});
