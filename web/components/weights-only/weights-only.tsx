import type { WeightsOnlyVerdict } from '../../../src/report/types.ts';
import { formatOffset } from '../../lib/format.ts';
import { VisibleText } from '../visible-text/visible-text.tsx';

/** The question users of pickle checkpoints actually have: would `torch.load(weights_only=True)` take this file? */
export function WeightsOnly({ answer }: { answer: WeightsOnlyVerdict }) {
  const refused = answer.firstRefused;
  return (
    <p class={`weights-only weights-only--${answer.accepted ? 'accepted' : 'refused'}`} data-testid="weights-only" data-accepted={String(answer.accepted)}>
      <code>torch.load(weights_only=True)</code>{' '}
      {answer.accepted ? (
        <span>would accept this file: it only rebuilds allowlisted tensor types.</span>
      ) : refused ? (
        <span>
          would refuse it at <code><VisibleText text={`${refused.module}.${refused.name}`} /></code>
          {refused.entry ? (
            <>
              {' '}in <VisibleText text={refused.entry} />
            </>
          ) : null}
          , {formatOffset(refused.offset)}: <VisibleText text={refused.reason} />
        </span>
      ) : (
        <span>would refuse it.</span>
      )}
    </p>
  );
}
