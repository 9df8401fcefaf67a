/**
 * From what the pickle machine saw to findings: adapts a PickleScanResult to
 * the policy's input (src/rules/pickle-policy.ts judges imports and calls)
 * and adds the findings about the stream itself (src/rules/catalog/pickle-stream.ts):
 * errors, framing, limits, trailing data, stacked pickles.
 *
 * The rule that matters most here: a pickle runs while it is read. Everything
 * before a broken opcode has already been imported and called when Python
 * raises, so imports and calls before an error are reported as live, and the
 * error itself says so ("nullifAI", THREATS.md).
 *
 * Threat surface: all text here comes from the file (error messages quote
 * nothing raw: the machine builds them from numbers); counts of findings are
 * capped per rule so a stream of a million broken frames stays a short report.
 */
import type { Finding, WeightsOnlyVerdict } from '../report/types.ts';
import { createFinding, type RuleId } from '../rules/index.ts';
import {
  judgePickle,
  type PickleJudgement,
  type PolicyArg,
  type PolicyCall,
  type PolicyImport,
  type PolicyInput,
  quoteUntrusted,
} from '../rules/pickle-policy.ts';
import type { PickleCall, PickleError, PickleErrorCode, PickleName, PickleScanResult, PickleValue } from './types.ts';

/** Stream findings of one rule listed per scan; the rest are counted in one summary finding (CWE-400). */
export const MAX_STREAM_FINDINGS_PER_RULE = 50;
/** Pickle start offsets named in the "several pickles" finding (CWE-400). */
export const MAX_LISTED_PICKLE_OFFSETS = 10;

/** Opcodes that change their target's state (the policy's targetIsGlobal applies to them). */
const MUTATING_OPCODES: ReadonlySet<string> = new Set(['BUILD', 'SETITEM', 'SETITEMS', 'APPEND', 'APPENDS', 'ADDITEMS']);

export interface JudgeScanOptions {
  /** Container member path, copied into every finding's location. */
  entry?: string;
  /**
   * How many pickles the format expects back to back (a legacy torch file
   * has five); more than this is `pickle.stream.multiple-pickles`. Default 1.
   */
  expectedPickles?: number;
}

export interface PickleScanJudgement {
  /** Policy findings (imports, calls, weights-only) then stream findings. */
  findings: Finding[];
  /** The policy's judgement as it came (globals table, nested loaders …). */
  judgement: PickleJudgement;
  /** The report's weights_only answer: the policy's, or the first error if it comes earlier. */
  weightsOnly: WeightsOnlyVerdict;
}

/** Judges one machine result: policy findings, stream findings and the weights-only answer. */
export function judgePickleScan(scan: PickleScanResult, options: JudgeScanOptions = {}): PickleScanJudgement {
  const input = toPolicyInput(scan, options.entry);
  const judgement = judgePickle(input);
  const findings = [...judgement.findings, ...streamFindings(scan, judgement, options)];
  return { findings, judgement, weightsOnly: weightsOnlyVerdict(scan, judgement, options.entry) };
}

// ---------------------------------------------------------------------------
// Adapter: PickleScanResult → PolicyInput
// ---------------------------------------------------------------------------

/** The policy's view of a machine result: imports, unresolved imports, EXT codes, calls with literal arguments. */
export function toPolicyInput(scan: PickleScanResult, entry?: string): PolicyInput {
  const imports: PolicyImport[] = [];
  const unresolvedImports: PolicyInput['unresolvedImports'] = [];
  const extensionCodes: PolicyInput['extensionCodes'] = [];
  for (const imported of scan.imports) {
    const opcode = imported.opcodeName;
    if (imported.extensionCode !== undefined || opcode.startsWith('EXT')) {
      imports.push({ module: '', name: '', offset: imported.offset, opcode });
      if (imported.extensionCode !== undefined) extensionCodes.push({ code: imported.extensionCode, offset: imported.offset });
    } else if (!imported.resolved) {
      unresolvedImports.push({ offset: imported.offset, opcode, reason: unresolvedReason(imported) });
    } else if (imported.truncated) {
      // The kept text is a prefix: what Python imports is longer and unknown.
      unresolvedImports.push({
        offset: imported.offset,
        opcode,
        reason: `module or name longer than the scanner keeps; it starts with module ${imported.module.slice(0, 120)} name ${imported.name.slice(0, 120)}`,
      });
    } else {
      imports.push({ module: imported.module, name: imported.name, offset: imported.offset, opcode });
    }
  }
  const classes = persistentClasses(scan);
  return {
    imports,
    unresolvedImports,
    extensionCodes,
    calls: scan.calls.map((call) => toPolicyCall(call, classes)),
    ...(entry !== undefined ? { entry } : {}),
    opcodeFirstSeen: scan.opcodeFirstSeen.map((seen) => ({ opcode: seen.opcodeName, offset: seen.offset })),
  };
}

function unresolvedReason(imported: PickleScanResult['imports'][number]): string {
  const known = [imported.module !== '' ? `module ${imported.module}` : '', imported.name !== '' ? `name ${imported.name}` : '']
    .filter((part) => part !== '')
    .join(', ');
  const reason = imported.unresolvedReason ?? 'operands are not literal strings';
  return known === '' ? reason : `${reason} (known: ${known})`;
}

/**
 * Persistent ids that stand for a class: legacy `torch.save` of a whole model
 * writes each nn.Module class as `('module', Class, source_file, source)`, and
 * torch's `persistent_load` returns `Class`, which NEWOBJ then instantiates.
 */
function persistentClasses(scan: PickleScanResult): Map<number, PickleName> {
  const classes = new Map<number, PickleName>();
  for (const persistent of scan.persistentIds) {
    const id = persistent.id;
    if (id.kind !== 'tuple') continue;
    const [tag, type] = id.items;
    if (tag?.kind === 'string' && tag.value === 'module' && type?.kind === 'global' && type.resolved) {
      classes.set(persistent.index, { module: type.module, name: type.name });
    }
  }
  return classes;
}

function toPolicyCall(call: PickleCall, classes: ReadonlyMap<number, PickleName>): PolicyCall {
  const targetIsGlobal = MUTATING_OPCODES.has(call.opcodeName) && call.callee.kind === 'global';
  const callable = call.callable ?? (call.callee.kind === 'persistent' ? classes.get(call.callee.persistentIndex) ?? null : null);
  return {
    callable: callable ? { module: callable.module, name: callable.name } : null,
    opcode: call.opcodeName,
    offset: call.offset,
    args: (call.args ?? []).map((arg) => toPolicyArg(arg, call.offset)),
    ...(targetIsGlobal ? { targetIsGlobal } : {}),
  };
}

/** A machine value as a policy argument; ints carry the call's offset (the machine keeps none for them). */
export function toPolicyArg(value: PickleValue, callOffset: number): PolicyArg {
  switch (value.kind) {
    case 'string':
      return value.kept ? { kind: 'string', value: value.value, offset: value.offset } : { kind: 'other' };
    case 'int':
      return value.exact && value.value !== null ? { kind: 'int', value: value.value, offset: callOffset } : { kind: 'other' };
    case 'bytes':
    case 'bytearray':
      return { kind: 'bytes', offset: value.offset, length: value.length };
    case 'global':
      return value.resolved ? { kind: 'global', ref: { module: value.module, name: value.name } } : { kind: 'other' };
    default:
      return { kind: 'other' };
  }
}

// ---------------------------------------------------------------------------
// The machine's own observations
// ---------------------------------------------------------------------------

const ERROR_RULES: Partial<Record<PickleErrorCode, RuleId>> = {
  'unknown-opcode': 'pickle.stream.unknown-opcode',
  truncated: 'pickle.stream.truncated',
  'frame-truncated': 'pickle.stream.truncated',
  'unsupported-protocol': 'pickle.stream.protocol-unsupported',
};

/** Collects findings with a per-rule cap and one summary per capped rule. */
function createCappedFindings(entry: string | undefined) {
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  const location = (offset?: number, length?: number) => ({
    ...(entry !== undefined ? { entry } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(length !== undefined ? { length } : {}),
  });
  return {
    add(rule: RuleId, detail: string, offset?: number, length?: number, evidence?: string): void {
      const count = (counts.get(rule) ?? 0) + 1;
      counts.set(rule, count);
      if (count > MAX_STREAM_FINDINGS_PER_RULE) return;
      findings.push(createFinding(rule, { detail, location: location(offset, length), ...(evidence ? { evidence } : {}) }));
    },
    finish(): Finding[] {
      for (const [rule, count] of counts) {
        if (count <= MAX_STREAM_FINDINGS_PER_RULE) continue;
        findings.push(
          createFinding(rule, {
            detail: `${count - MAX_STREAM_FINDINGS_PER_RULE} more findings of this rule were not listed (limit ${MAX_STREAM_FINDINGS_PER_RULE} per rule).`,
            location: location(),
          }),
        );
      }
      return findings;
    },
  };
}

/** Findings for the machine's errors, frames, limits, trailing data and stacked pickles. */
export function streamFindings(scan: PickleScanResult, judgement: PickleJudgement, options: JudgeScanOptions = {}): Finding[] {
  const out = createCappedFindings(options.entry);
  const errors = [...scan.errors].sort((a, b) => a.offset - b.offset);

  for (const error of errors) {
    out.add(ERROR_RULES[error.code] ?? 'pickle.stream.malformed', errorDetail(scan, error), error.offset);
  }
  const firstError = errors[0];
  if (firstError) {
    const live = liveBefore(scan, judgement, firstError.offset);
    if (live.length > 0) {
      out.add(
        'pickle.stream.broken-after-code',
        `The stream breaks at offset ${firstError.offset} (${firstError.message}) after ${live.length} import${live.length === 1 ? '' : 's'} or call${live.length === 1 ? '' : 's'} that are not on the allowlist; Python runs them before it raises.`,
        firstError.offset,
        undefined,
        live.slice(0, 5).join(', ') + (live.length > 5 ? ', …' : ''),
      );
    }
  }

  for (const frame of scan.frames) {
    if (frame.problems.length === 0) continue;
    out.add(
      'pickle.stream.frame-mismatch',
      `FRAME at offset ${frame.offset} declares ${frame.length} bytes from offset ${frame.contentOffset}; its contents disagree: ${frame.problems.map(describeFrameProblem).join('; ')}.`,
      frame.offset,
    );
  }

  const limitCodes = new Set<string>();
  for (const limit of scan.limits) {
    if (limitCodes.has(limit.code)) continue;
    limitCodes.add(limit.code);
    out.add('pickle.stream.limit', `${limit.message} (observed ${limit.observed}, limit ${limit.limit}, at offset ${limit.offset}).`, limit.offset);
  }

  const unscanned = scan.unscanned;
  if (unscanned?.reason === 'trailing-data') {
    out.add(
      'pickle.stream.trailing-data',
      `${unscanned.length} bytes from offset ${unscanned.offset} follow the last pickle; ${unscanned.detail ?? 'they do not form a pickle'}.`,
      unscanned.offset,
      unscanned.length,
    );
  }

  const expected = Math.max(1, options.expectedPickles ?? 1);
  if (scan.pickles.length > expected) {
    const starts = scan.pickles.slice(1, 1 + MAX_LISTED_PICKLE_OFFSETS).map((pickle) => pickle.offset);
    const more = scan.pickles.length - 1 - starts.length;
    const firstStop = scan.pickles[0].stopOffset;
    out.add(
      'pickle.stream.multiple-pickles',
      `${scan.pickles.length} pickles follow each other (${expected === 1 ? 'one expected' : `${expected} expected`}); pickle.load reads the first${firstStop !== null ? `, up to its STOP at offset ${firstStop}` : ''}. The others start at offset${starts.length === 1 ? '' : 's'} ${starts.join(', ')}${more > 0 ? ` and ${more} more` : ''}.`,
      scan.pickles[expected]?.offset ?? scan.pickles[1].offset,
    );
  }
  return out.finish();
}

function errorDetail(scan: PickleScanResult, error: PickleError): string {
  const imports = scan.imports.filter((imported) => imported.offset < error.offset).length;
  const calls = scan.calls.filter((call) => call.offset < error.offset).length;
  let detail = `${error.message} (pickle ${error.pickleIndex + 1}, offset ${error.offset}). Everything before this offset already ran in Python: ${imports} import${imports === 1 ? '' : 's'} and ${calls} call${calls === 1 ? '' : 's'} before it.`;
  const unscanned = scan.unscanned;
  if (error.halted && unscanned?.reason === 'error' && unscanned.length > 0) {
    detail += ` The ${unscanned.length} bytes from offset ${unscanned.offset} could not be read as opcodes.`;
  } else if (!error.halted) {
    detail += ' The scan went on past it.';
  }
  return detail;
}

/** Imports and calls before `offset` that are not plainly safe: what a loader has run when it meets the error. */
function liveBefore(scan: PickleScanResult, judgement: PickleJudgement, offset: number): string[] {
  const verdicts = new Map<string, string>();
  for (const global of judgement.globals) verdicts.set(`${global.module}\u0000${global.name}`, global.verdict);
  const live: string[] = [];
  for (const imported of scan.imports) {
    if (imported.offset >= offset) continue;
    const verdict = imported.resolved && !imported.truncated ? verdicts.get(`${imported.module}\u0000${imported.name}`) : undefined;
    if (verdict === 'safe') continue;
    live.push(imported.resolved ? `${imported.opcodeName} ${quoteUntrusted(`${imported.module}.${imported.name}`, 120)}` : `${imported.opcodeName} (unresolved)`);
  }
  return live;
}

function describeFrameProblem(problem: string): string {
  switch (problem) {
    case 'straddled':
      return 'an opcode runs past the frame end';
    case 'nested':
      return 'a new FRAME starts before this one ends';
    case 'truncated':
      return 'the stream ends inside the frame';
    case 'stop-inside':
      return 'STOP comes before the frame end';
    default:
      return problem;
  }
}

// ---------------------------------------------------------------------------
// weights_only
// ---------------------------------------------------------------------------

/**
 * The report's answer to "would torch.load(weights_only=True) accept this?":
 * the policy's first refusal, unless a malformation comes first (the
 * restricted unpickler raises on it just the same).
 */
export function weightsOnlyVerdict(scan: PickleScanResult, judgement: PickleJudgement, entry?: string): WeightsOnlyVerdict {
  const refused = judgement.weightsOnly.firstRefused;
  const firstError = scan.errors.reduce<PickleError | undefined>(
    (first, error) => (!first || error.offset < first.offset ? error : first),
    undefined,
  );
  const withEntry = entry !== undefined ? { entry } : {};
  // At the same offset the malformation is the better reason (an unknown byte is both).
  if (firstError && (!refused || firstError.offset <= refused.offset)) {
    return {
      accepted: false,
      firstRefused: { module: '', name: '', offset: firstError.offset, ...withEntry, reason: `the stream is malformed: ${firstError.message}` },
    };
  }
  if (!refused) return { accepted: true };
  return {
    accepted: false,
    firstRefused: { module: refused.module, name: refused.name, offset: refused.offset, ...withEntry, reason: refused.reason },
  };
}
