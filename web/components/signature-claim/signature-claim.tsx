import { useRef, useState } from 'preact/hooks';
import { UNVERIFIED_REASON, type SignatureClaim as Claim } from '../../../src/provenance/index.ts';
import { modelSigningVerifyCommand } from '../../../src/provenance/verify-command.ts';
import { copyText, type CopyOutcome } from '../../lib/clipboard.ts';
import { VisibleText } from '../visible-text/visible-text.tsx';

interface SignatureClaimProps {
  claim: Claim;
  /** The bundle's name as given: the command refers to it. */
  bundleName: string;
}

/**
 * What a model-signing bundle claims, marked as a claim: nothing here was
 * verified. The verify command and the reason it is unverified come from
 * this page's code (the command rebuilt from the signer and the bundle name,
 * each shell-quoted), never from the data: a report from a shared link could
 * carry any command, or a reassuring sentence.
 */
export function SignatureClaim({ claim, bundleName }: SignatureClaimProps) {
  const command = modelSigningVerifyCommand(bundleName, claim.signer);
  const commandRef = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<CopyOutcome | null>(null);
  const { signer } = claim;
  return (
    <div class="signature-claim" data-testid="signature-claim">
      <p class="signature-claim__head">
        <span class="signature-claim__badge">Unverified claim</span> The bundle says it was signed by:
      </p>
      <dl class="signature-claim__facts">
        <dt>Signer identity</dt>
        <dd data-testid="signer-identity">
          {signer.names.length > 0
            ? signer.names.map((name, index) => (
                <span key={index}>
                  {index > 0 ? ', ' : ''}
                  <VisibleText text={name.value} /> <span class="muted">({name.kind})</span>
                </span>
              ))
            : signer.source === 'public-key'
              ? `a public key${signer.publicKeyHint ? '' : ' (no hint)'}`
              : 'no identity given'}
          {signer.publicKeyHint ? (
            <>
              {' '}
              hint <VisibleText text={signer.publicKeyHint} />
            </>
          ) : null}
        </dd>
        <dt>OIDC issuer</dt>
        <dd data-testid="signer-issuer">{signer.oidcIssuer !== null ? <VisibleText text={signer.oidcIssuer} /> : <span class="muted">none given</span>}</dd>
        {signer.certificateIssuer !== null ? (
          <>
            <dt>Certificate issuer</dt>
            <dd>
              <VisibleText text={signer.certificateIssuer} />
            </dd>
          </>
        ) : null}
        {claim.transparencyLog.length > 0 ? (
          <>
            <dt>Transparency log</dt>
            <dd>
              {claim.transparencyLog.map((entry, index) => (
                <span key={index}>
                  {index > 0 ? '; ' : ''}
                  entry <VisibleText text={entry.logIndex} />
                  {entry.integratedTime ? (
                    <>
                      {' '}
                      at <VisibleText text={entry.integratedTime} />
                    </>
                  ) : null}
                </span>
              ))}
            </dd>
          </>
        ) : null}
      </dl>
      <p class="signature-claim__why">{UNVERIFIED_REASON}</p>
      <p>To check the signature for real, run this in the model's folder (replace MODEL_PATH):</p>
      <div class="signature-claim__command">
        <pre>
          <code ref={commandRef} data-testid="verify-command">
            {command}
          </code>
        </pre>
        <button
          type="button"
          class="button button--small"
          data-testid="copy-verify-command"
          onClick={async () => setCopied(await copyText(command, commandRef.current))}
        >
          Copy command
        </button>
        <span role="status" class="muted">
          {copied === 'copied' ? 'Copied' : copied === 'selected' ? 'Selected: press Ctrl+C (⌘C) to copy' : ''}
        </span>
      </div>
    </div>
  );
}
