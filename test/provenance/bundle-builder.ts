/**
 * Builds OpenSSF model-signing bundles for tests: an in-toto statement in a
 * DSSE envelope (base64 payload) in a Sigstore bundle, with a certificate, a
 * certificate chain or a public key hint as verification material. Nothing is
 * signed; the signature is any base64 text, as the parser never checks it.
 *
 *   sigstoreBundle({ statement: modelSigningStatement([{ name: 'model.safetensors', digest }]), certificateDer })
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file in test/fixtures/provenance. */
export const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/provenance/${name}`, import.meta.url));

/** DER bytes of a fixture certificate made by test/fixtures/provenance/make-test-certificates.sh. */
export function fixtureCertificate(name: 'fulcio-like.der' | 'legacy-issuer.der'): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export function base64(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? new TextEncoder().encode(data) : data).toString('base64');
}

export interface ResourceSpec {
  name: string;
  digest: string;
  algorithm?: string;
}

/** A model_signing v1.0 statement: the model's name as subject, the files as predicate resources. */
export function modelSigningStatement(
  resources: ResourceSpec[],
  options: { method?: string; modelName?: string; shardSize?: number } = {},
): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: options.modelName ?? 'my-model', digest: { sha256: 'ab'.repeat(32) } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: {
      serialization: {
        method: options.method ?? 'files',
        hash_type: 'sha256',
        allow_symlinks: false,
        ...(options.shardSize !== undefined ? { shard_size: options.shardSize } : {}),
      },
      resources: resources.map((resource) => ({ name: resource.name, algorithm: resource.algorithm ?? 'sha256', digest: resource.digest })),
    },
  };
}

export interface BundleSpec {
  /** Default: the v0.3 media type; null leaves the field out. */
  mediaType?: string | null;
  statement?: unknown;
  /** Replaces the base64 of the statement (for malformed payloads). */
  payload?: string;
  payloadType?: string;
  /** v0.3 `certificate.rawBytes`. */
  certificateDer?: Uint8Array;
  /** v0.1/v0.2 `x509CertificateChain`, leaf first. */
  chainDer?: Uint8Array[];
  publicKeyHint?: string;
  signature?: string;
  tlogEntries?: unknown[];
}

export function sigstoreBundle(spec: BundleSpec): Record<string, unknown> {
  const material: Record<string, unknown> = {};
  if (spec.certificateDer) material.certificate = { rawBytes: base64(spec.certificateDer) };
  if (spec.chainDer) material.x509CertificateChain = { certificates: spec.chainDer.map((der) => ({ rawBytes: base64(der) })) };
  if (spec.publicKeyHint !== undefined) material.publicKey = { hint: spec.publicKeyHint };
  material.tlogEntries = spec.tlogEntries ?? [
    { logIndex: '123456789', logId: { keyId: base64('log') }, kindVersion: { kind: 'dsse', version: '0.0.1' }, integratedTime: '1735689600' },
  ];
  const bundle: Record<string, unknown> = {};
  if (spec.mediaType !== null) bundle.mediaType = spec.mediaType ?? 'application/vnd.dev.sigstore.bundle.v0.3+json';
  bundle.verificationMaterial = material;
  bundle.dsseEnvelope = {
    payload: spec.payload ?? base64(JSON.stringify(spec.statement ?? modelSigningStatement([]))),
    payloadType: spec.payloadType ?? 'application/vnd.in-toto+json',
    signatures: [{ sig: spec.signature ?? base64('not really a signature'), keyid: '' }],
  };
  return bundle;
}
