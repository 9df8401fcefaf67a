import type { RuleId } from '../rules/index.ts';

/**
 * A parser's way to stop: the rule the input broke, where, and a message with
 * the observed value and the limit. The scan turns it into a `malformed`
 * finding; it never reaches the UI as a crash.
 */
export class ParseError extends Error {
  constructor(
    readonly rule: RuleId,
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}
