/**
 * The `model_signing verify …` command that checks what Preflight only reads.
 * Syntax from sigstore/model-transparency's CLI (`model_signing verify --help`):
 *   model_signing verify sigstore MODEL_PATH --signature SIG --identity ID --identity_provider URL
 *   model_signing verify certificate MODEL_PATH --signature SIG --certificate_chain CHAIN
 *   model_signing verify key MODEL_PATH --signature SIG --public_key KEY
 *
 * The identity and issuer come from an unverified certificate and end up in a
 * command a person may paste into a shell: every value is single-quoted, and a
 * value with control characters is replaced by a placeholder rather than printed.
 */
import type { SignerIdentity } from './types.ts';

const SHELL_SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A shell word for `value`, or `placeholder` when the value could mislead a terminal. */
export function shellWord(value: string, placeholder: string): string {
  if (value === '' || CONTROL.test(value)) return placeholder;
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The verify command for a bundle called `signatureName` signed by `signer`; MODEL_PATH stays a placeholder. */
export function modelSigningVerifyCommand(signatureName: string, signer: SignerIdentity): string {
  const head = ['model_signing', 'verify'];
  const signature = ['--signature', shellWord(signatureName, 'SIGNATURE_PATH')];
  if (signer.source === 'public-key') {
    return [...head, 'key', 'MODEL_PATH', ...signature, '--public_key', 'PUBLIC_KEY'].join(' ');
  }
  if (signer.source === 'certificate' && signer.oidcIssuer === null) {
    return [...head, 'certificate', 'MODEL_PATH', ...signature, '--certificate_chain', 'CERTIFICATE_CHAIN'].join(' ');
  }
  const identity = signer.names.find((name) => name.kind === 'email' || name.kind === 'uri') ?? signer.names[0];
  return [
    ...head,
    'sigstore',
    'MODEL_PATH',
    ...signature,
    '--identity',
    identity ? shellWord(identity.value, 'IDENTITY') : 'IDENTITY',
    '--identity_provider',
    signer.oidcIssuer !== null ? shellWord(signer.oidcIssuer, 'IDENTITY_PROVIDER') : 'IDENTITY_PROVIDER',
  ].join(' ');
}
