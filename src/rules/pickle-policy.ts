/**
 * The pickle policy: judges what a pickle imports and calls, allowlist first.
 *
 * Input is plain data from the pickle machine (wasm/): every import with its
 * opcode and offset, the calls with their literal arguments, EXT codes and
 * imports it could not resolve. Output is findings, the answer to "would
 * `torch.load(weights_only=True)` accept this file?", and the nested loader
 * calls whose bytes argument the caller scans as a pickle of its own.
 *
 * Threat surface: the names come from the file and are hostile. They are
 * compared, never evaluated; they are escaped before they reach a detail or
 * evidence string (no control or bidi characters reach a report), and truncated.
 * Work is one Map/Set lookup per dotted hop, cached per distinct global, and the
 * number of findings per rule is capped (CWE-400).
 */
import type { Finding } from '../report/types.ts';
import { createFinding, type RuleId } from './index.ts';
import {
  CYTHON_UNPICKLE_PREFIX,
  DANGEROUS_GLOBALS,
  PY2_MODULE_RENAMES,
  PY2_NAME_RENAMES,
  SAFE_CLASS_MODULES,
  SAFE_GLOBALS,
  TEST_MODULE_SEGMENTS,
  WEIGHTS_ONLY_GLOBALS,
  WEIGHTS_ONLY_MODULE_RENAMES,
  WEIGHTS_ONLY_NAME_RENAMES,
  WEIGHTS_ONLY_OPCODES,
  type DangerCategory,
  type DangerousGlobalRow,
  type NestedPayloadFormat,
  type SafeClassModuleRow,
  type SafeGlobalRow,
  type TargetResolution,
} from './pickle-globals.ts';

/** Findings of one rule beyond this are summarised in one more finding (CWE-400: a report must stay readable). */
export const MAX_FINDINGS_PER_RULE = 200;
/** Distinct globals listed in {@link PickleJudgement.globals} (CWE-400). */
export const MAX_LISTED_GLOBALS = 10_000;
/** Characters of one untrusted name or string shown in a detail or evidence (CWE-400, CWE-117). */
export const MAX_SHOWN_TEXT_CHARS = 200;
/** Characters of one call's evidence (CWE-400). */
export const MAX_EVIDENCE_CHARS = 1_000;

// ---------------------------------------------------------------------------
// Input: what the pickle machine saw
// ---------------------------------------------------------------------------

/** A global as the pickle names it: `module` and `name` (name may be dotted for protocol 4+). */
export interface PickleGlobalRef {
  module: string;
  name: string;
}

/**
 * One import. `opcode` is GLOBAL, STACK_GLOBAL, INST, EXT1/EXT2/EXT4. Module and
 * name both '' means unresolved (prefer {@link PolicyInput.unresolvedImports});
 * EXT imports are judged as extension-registry uses.
 */
export interface PolicyImport extends PickleGlobalRef {
  offset: number;
  opcode: string;
}

/** A call argument as far as the machine could tell. Offsets are absolute in the file (or entry). */
export type PolicyArg =
  | { kind: 'string'; value: string; offset: number }
  | { kind: 'int'; value: number | string; offset: number }
  | { kind: 'bytes'; offset: number; length: number }
  /** An imported global; `name` '' for a module object. */
  | { kind: 'global'; ref: PickleGlobalRef }
  | { kind: 'other' };

/**
 * A call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) or a state change (BUILD,
 * SETITEM(S), APPEND(S), ADDITEMS).
 * - `callable`: the imported global being called, or null when the callable is
 *   not an imported global (the result of an earlier call). For state changes,
 *   the global whose object is changed.
 * - `targetIsGlobal`: the state change applies to the imported global itself
 *   (a class, module or module-level dict), not to an object built during loading.
 */
export interface PolicyCall {
  callable: PickleGlobalRef | null;
  opcode: string;
  offset: number;
  args: PolicyArg[];
  targetIsGlobal?: boolean;
}

export interface PolicyInput {
  imports: PolicyImport[];
  unresolvedImports: { offset: number; opcode: string; reason: string }[];
  extensionCodes: { code: number; offset: number }[];
  calls: PolicyCall[];
  /** Member path inside a container, copied into every finding's location. */
  entry?: string;
  /** First offset of each distinct opcode seen; lets the weights-only answer check opcodes too. */
  opcodeFirstSeen?: { opcode: string; offset: number }[];
}

export interface JudgeOptions {
  /** Emit `pickle.weights-only.refused` (info) when weights_only would refuse; default true. */
  weightsOnlyFinding?: boolean;
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/** Where and why `torch.load(weights_only=True)` would stop. */
export interface WeightsOnlyRefusal {
  module: string;
  name: string;
  offset: number;
  opcode: string;
  reason: string;
}

export interface WeightsOnlyAnswer {
  accepted: boolean;
  /** The first refusal in stream order: the unpickler stops there. */
  firstRefused?: WeightsOnlyRefusal;
  /** Whether opcodes were checked too (the input carried `opcodeFirstSeen`). */
  opcodesChecked: boolean;
}

/** A call to a loader whose argument the caller should scan as a payload of its own. */
export interface NestedLoaderCall {
  callable: PickleGlobalRef;
  offset: number;
  /** What the loader parses its argument as. */
  format: NestedPayloadFormat;
  /** The literal bytes argument, when there is one. */
  bytes?: { offset: number; length: number };
}

/** One distinct imported global and its class, for the report's import table. */
export interface JudgedGlobal extends PickleGlobalRef {
  firstOffset: number;
  count: number;
  verdict: GlobalVerdict;
  category?: DangerCategory | 'dunder';
  weightsOnly: boolean;
}

export interface PickleJudgement {
  findings: Finding[];
  weightsOnly: WeightsOnlyAnswer;
  nestedLoaders: NestedLoaderCall[];
  globals: JudgedGlobal[];
  /** True when more distinct globals were seen than {@link MAX_LISTED_GLOBALS}. */
  globalsTruncated: boolean;
}

// ---------------------------------------------------------------------------
// Classifying one global
// ---------------------------------------------------------------------------

export type GlobalVerdict = 'safe' | 'dangerous' | 'unknown';

export type GlobalClassification =
  | { verdict: 'safe'; path: string; reason: string; row?: SafeGlobalRow; classModule?: SafeClassModuleRow }
  | {
      verdict: 'dangerous';
      category: DangerCategory | 'dunder';
      /** The table path (or dunder segment) that matched. */
      matched: string;
      reason: string;
      row?: DangerousGlobalRow;
      /** Set when the match came from the Python 2 spelling's rename. */
      renamedFrom?: string;
    }
  | { verdict: 'unknown'; oddName: boolean; mainScript: boolean };

type Candidate = readonly [module: string, name: string];

/** The spellings Python may resolve: as written, and renamed from Python 2 (protocol < 3). */
function candidatesOf(module: string, name: string): Candidate[] {
  const candidates: Candidate[] = [[module, name]];
  const pair = PY2_NAME_RENAMES.get(`${module}.${name}`);
  if (pair) {
    candidates.push(pair);
  } else {
    const renamed = PY2_MODULE_RENAMES.get(module);
    if (renamed !== undefined) candidates.push([renamed, name]);
  }
  return candidates;
}

/** The most segments of any dangerous row: no longer hop can match (bounds the work per global). */
const MAX_DANGEROUS_ROW_SEGMENTS = Math.max(...[...DANGEROUS_GLOBALS.keys()].map((path) => path.split('.').length));

/**
 * The longest dangerous row on any hop of the dotted path `module.name`, read
 * from its start (module hops, then name hops through the module), and, for a
 * dotted name, read from every name segment but the last: an attribute walk
 * resolves through whatever each step imported, so `pathlib` + `os.system` and
 * `pathlib` + `x.os.system` are `os.system`. A single-segment name is not read
 * alone: at most it yields a re-exported module object (`pathlib` + `os`), inert
 * without a trampoline, and reading it alone would make `numpy.trace` the
 * `trace` module; such a name stays unknown unless allowlisted.
 */
function longestDangerousMatch(module: string, name: string): DangerousGlobalRow | undefined {
  const moduleSegments = module.length > 0 ? module.split('.') : [];
  const segments = moduleSegments.concat(name.split('.'));
  let best = longestRowFrom(segments, 0, undefined);
  if (name.includes('.')) {
    for (let start = moduleSegments.length; start < segments.length - 1; start += 1) {
      best = longestRowFrom(segments, start, best);
    }
  }
  return best;
}

/** The longest dangerous row among the paths `segments[start..start+k]`, or `best` if longer. */
function longestRowFrom(
  segments: readonly string[],
  start: number,
  best: DangerousGlobalRow | undefined,
): DangerousGlobalRow | undefined {
  const end = Math.min(segments.length, start + MAX_DANGEROUS_ROW_SEGMENTS);
  let path = segments[start];
  for (let index = start; index < end; index += 1) {
    if (index > start) path = `${path}.${segments[index]}`;
    const row = DANGEROUS_GLOBALS.get(path);
    if (row && (!best || row.path.length > best.path.length)) best = row;
  }
  return best;
}

/** The first dunder segment of module or name, with the two exemptions documented below. */
function findDunderSegment(module: string, name: string): string | undefined {
  // `__main__` names the script that saved the file (unknown, not an attribute walk);
  // `__builtin__` is Python 2's `builtins`, judged under its new name.
  const firstModuleSegment = module.split('.', 1)[0];
  const skipFirst = firstModuleSegment === '__main__' || module === '__builtin__';
  return firstDunderSegment(module, skipFirst ? firstModuleSegment.length + 1 : 0) ?? firstDunderSegment(name, 0);
}

/** The first dunder segment of a dotted path from `from`, scanning without splitting. */
function firstDunderSegment(path: string, from: number): string | undefined {
  if (!path.includes('__', from)) return undefined;
  let start = from;
  while (start <= path.length) {
    let end = path.indexOf('.', start);
    if (end === -1) end = path.length;
    if (end - start > 4 && path.startsWith('__', start) && path.startsWith('__', end - 2)) return path.slice(start, end);
    start = end + 1;
  }
  return undefined;
}

function isAsciiLetterOrUnderscore(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function isAsciiDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** A plain dotted Python name: ASCII identifier segments, none empty. */
export function isPlainDottedName(text: string): boolean {
  if (text.length === 0) return false;
  let atSegmentStart = true;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 46) {
      if (atSegmentStart) return false;
      atSegmentStart = true;
      continue;
    }
    if (isAsciiLetterOrUnderscore(code) || (!atSegmentStart && isAsciiDigit(code))) {
      atSegmentStart = false;
      continue;
    }
    return false;
  }
  return !atSegmentStart;
}

/** `LogisticRegression`, `_BinMapper`: upper-case ASCII letter after any leading underscores. */
function isClassStyleName(name: string): boolean {
  let index = 0;
  while (name.charCodeAt(index) === 95) index += 1;
  const code = name.charCodeAt(index);
  return code >= 65 && code <= 90;
}

/** A class-module row admitting `module.name`: see SAFE_CLASS_MODULE_ROWS for the rule. */
function admittingClassModule(module: string, name: string): SafeClassModuleRow | undefined {
  if (name.includes('.')) return undefined;
  // Longest prefix first, so a specific row (with its helper functions) wins.
  let row = SAFE_CLASS_MODULES.get(module);
  for (let dot = module.lastIndexOf('.'); dot > 0 && !row; dot = module.lastIndexOf('.', dot - 1)) {
    row = SAFE_CLASS_MODULES.get(module.slice(0, dot));
  }
  if (!row) return undefined;
  for (const segment of module.split('.')) {
    if (TEST_MODULE_SEGMENTS.has(segment) || segment.startsWith('test_')) return undefined;
  }
  const admitted =
    isClassStyleName(name) || name.startsWith(CYTHON_UNPICKLE_PREFIX) || (row.helperFunctions?.includes(name) ?? false);
  return admitted ? row : undefined;
}

/**
 * Classifies one imported global. Order: a dangerous row on any hop of any
 * spelling; a dunder segment; a malformed name (unknown); a safe exact row; a
 * class admitted by a safe class module; otherwise unknown.
 */
export function classifyGlobal(module: string, name: string): GlobalClassification {
  const candidates = candidatesOf(module, name);

  let best: DangerousGlobalRow | undefined;
  let renamedFrom: string | undefined;
  for (let index = 0; index < candidates.length; index += 1) {
    const [candidateModule, candidateName] = candidates[index];
    const row = longestDangerousMatch(candidateModule, candidateName);
    if (row && (!best || row.path.length > best.path.length)) {
      best = row;
      renamedFrom = index === 0 ? undefined : `${module}.${name}`;
    }
  }
  if (best) {
    const row = best;
    return {
      verdict: 'dangerous',
      category: row.category,
      matched: row.path,
      reason: row.reason,
      row,
      ...(renamedFrom !== undefined ? { renamedFrom } : {}),
    };
  }

  const safeExact = candidates
    .map(([candidateModule, candidateName]) => SAFE_GLOBALS.get(`${candidateModule}.${candidateName}`))
    .find((row) => row !== undefined);

  if (!safeExact) {
    const dunder = findDunderSegment(module, name);
    if (dunder !== undefined) {
      return {
        verdict: 'dangerous',
        category: 'dunder',
        matched: dunder,
        reason: 'dunder attribute walks lead from any object to builtins, eval and __import__',
      };
    }
  }

  const mainScript = module === '__main__' || module.startsWith('__main__.');
  if (!isPlainDottedName(module) || !isPlainDottedName(name)) {
    return { verdict: 'unknown', oddName: true, mainScript };
  }
  if (safeExact) return { verdict: 'safe', path: safeExact.path, reason: safeExact.reason, row: safeExact };

  for (const [candidateModule, candidateName] of candidates) {
    const classModule = admittingClassModule(candidateModule, candidateName);
    if (classModule) {
      return { verdict: 'safe', path: `${candidateModule}.${candidateName}`, reason: classModule.reason, classModule };
    }
  }
  return { verdict: 'unknown', oddName: false, mainScript };
}

/**
 * Whether PyTorch's weights-only unpickler accepts this global by default, as it
 * does it: rename Python 2 names, join `module.name`, look it up.
 */
export function weightsOnlyAcceptsGlobal(module: string, name: string): boolean {
  const pair = WEIGHTS_ONLY_NAME_RENAMES.get(`${module}.${name}`);
  const [renamedModule, renamedName] = pair ?? [WEIGHTS_ONLY_MODULE_RENAMES.get(module) ?? module, name];
  return WEIGHTS_ONLY_GLOBALS.has(`${renamedModule}.${renamedName}`);
}

// ---------------------------------------------------------------------------
// Showing untrusted text
// ---------------------------------------------------------------------------

function hex4(code: number): string {
  return code.toString(16).padStart(4, '0');
}

/**
 * Untrusted text as a double-quoted literal: printable ASCII kept, everything
 * else escaped (`\n`, `\u202e`), truncated to {@link MAX_SHOWN_TEXT_CHARS}.
 */
export function quoteUntrusted(text: string, limit = MAX_SHOWN_TEXT_CHARS): string {
  let out = '"';
  const shown = Math.min(text.length, limit);
  for (let index = 0; index < shown; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 34) out += '\\"';
    else if (code === 92) out += '\\\\';
    else if (code === 10) out += '\\n';
    else if (code === 13) out += '\\r';
    else if (code === 9) out += '\\t';
    else if (code >= 32 && code <= 126) out += text[index];
    else out += `\\u${hex4(code)}`;
  }
  out += '"';
  if (text.length > limit) out += `…(+${text.length - limit} chars)`;
  return out;
}

/** `os.system` when both parts are plain names; otherwise both parts quoted and escaped. */
export function displayGlobal(ref: PickleGlobalRef): string {
  if (ref.name === '' && isPlainDottedName(ref.module)) return ref.module;
  const joined = `${ref.module}.${ref.name}`;
  if (isPlainDottedName(ref.module) && isPlainDottedName(ref.name) && joined.length <= MAX_SHOWN_TEXT_CHARS) return joined;
  return `module ${quoteUntrusted(ref.module)} name ${quoteUntrusted(ref.name)}`;
}

function displayArg(arg: PolicyArg): string {
  switch (arg.kind) {
    case 'string':
      return quoteUntrusted(arg.value);
    case 'int':
      return quoteIfNotDigits(String(arg.value));
    case 'bytes':
      return `<${arg.length} bytes at offset ${arg.offset}>`;
    case 'global':
      return displayGlobal(arg.ref);
    case 'other':
      return '…';
  }
}

function quoteIfNotDigits(text: string): string {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (!isAsciiDigit(code) && !(index === 0 && code === 45)) return quoteUntrusted(text);
  }
  return text.length > MAX_SHOWN_TEXT_CHARS ? `${text.slice(0, MAX_SHOWN_TEXT_CHARS)}…` : text;
}

/** `os.system("curl … | sh")`: the call as the file spells it, capped at {@link MAX_EVIDENCE_CHARS}. */
export function formatCallEvidence(callable: PickleGlobalRef, args: readonly PolicyArg[]): string {
  const text = `${displayGlobal(callable)}(${args.map(displayArg).join(', ')})`;
  return text.length > MAX_EVIDENCE_CHARS ? `${text.slice(0, MAX_EVIDENCE_CHARS)}…` : text;
}

// ---------------------------------------------------------------------------
// Judging a whole pickle
// ---------------------------------------------------------------------------

const IMPORT_RULE_BY_CATEGORY: Record<DangerCategory | 'dunder', RuleId> = {
  'code-execution': 'pickle.import.code-execution',
  process: 'pickle.import.process',
  filesystem: 'pickle.import.filesystem',
  network: 'pickle.import.network',
  'import-machinery': 'pickle.import.import-machinery',
  'nested-loader': 'pickle.import.nested-loader',
  trampoline: 'pickle.import.trampoline',
  debugger: 'pickle.import.debugger',
  evasion: 'pickle.evasion.scanner-import',
  dunder: 'pickle.import.dunder',
};

/** The rule an import of this dangerous category is reported under. */
export function importRuleFor(category: DangerCategory | 'dunder'): RuleId {
  return IMPORT_RULE_BY_CATEGORY[category];
}

/** Opcodes that call their callable. */
const INVOKING_OPCODES: ReadonlySet<string> = new Set(['REDUCE', 'NEWOBJ', 'NEWOBJ_EX', 'OBJ', 'INST']);
/** Opcodes that change the state of their target. */
const MUTATING_OPCODES: ReadonlySet<string> = new Set(['BUILD', 'SETITEM', 'SETITEMS', 'APPEND', 'APPENDS', 'ADDITEMS']);

interface ImportAggregate {
  ref: PickleGlobalRef;
  firstOffset: number;
  firstOpcode: string;
  count: number;
  classification: GlobalClassification;
}

/** Collects findings with a per-rule cap and a closing summary per capped rule. */
function createFindingCollector(entry: string | undefined) {
  const findings: Finding[] = [];
  const counts = new Map<RuleId, number>();
  const overflow = new Map<RuleId, number>();
  return {
    /** `describe` runs only when the rule is under its cap, so hostile floods cost no text. */
    add(rule: RuleId, offset: number | undefined, describe: () => { detail: string; evidence?: string }): void {
      const count = counts.get(rule) ?? 0;
      if (count >= MAX_FINDINGS_PER_RULE) {
        overflow.set(rule, (overflow.get(rule) ?? 0) + 1);
        return;
      }
      counts.set(rule, count + 1);
      const { detail, evidence } = describe();
      const location = {
        ...(entry !== undefined ? { entry } : {}),
        ...(offset !== undefined ? { offset } : {}),
      };
      findings.push(createFinding(rule, { detail, location, ...(evidence !== undefined ? { evidence } : {}) }));
    },
    finish(): Finding[] {
      for (const [rule, more] of overflow) {
        findings.push(
          createFinding(rule, {
            detail: `${more} more findings of this rule were not listed (limit ${MAX_FINDINGS_PER_RULE} per rule).`,
            location: entry !== undefined ? { entry } : {},
          }),
        );
      }
      return findings;
    },
  };
}

function occurrenceText(aggregate: ImportAggregate): string {
  const times = aggregate.count > 1 ? `, imported ${aggregate.count} times` : '';
  return `${aggregate.firstOpcode} at offset ${aggregate.firstOffset}${times}`;
}

function dangerousImportDetail(aggregate: ImportAggregate, classification: GlobalClassification & { verdict: 'dangerous' }): string {
  const shown = displayGlobal(aggregate.ref);
  const renamed = classification.renamedFrom !== undefined ? ' (a Python 2 name, renamed on load)' : '';
  if (classification.category === 'dunder') {
    return `Imports ${shown} (${occurrenceText(aggregate)}): it walks through the dunder attribute ${classification.matched}; ${classification.reason}.`;
  }
  const via = classification.matched === `${aggregate.ref.module}.${aggregate.ref.name}` ? '' : ` It falls under ${classification.matched}.`;
  return `Imports ${shown} (${occurrenceText(aggregate)})${renamed}: ${classification.category}, ${classification.reason}.${via}`;
}

function unknownImportDetail(aggregate: ImportAggregate, classification: GlobalClassification & { verdict: 'unknown' }): string {
  const { module, name } = aggregate.ref;
  const where = `${occurrenceText(aggregate)}; module ${quoteUntrusted(module)}, name ${quoteUntrusted(name)}`;
  if (classification.oddName) {
    return `Imports a global whose module or name is not a plain dotted Python name (${where}).`;
  }
  const script = classification.mainScript
    ? ' __main__ is the script that saved the file: loading needs the same code and runs it.'
    : '';
  return `Imports ${displayGlobal(aggregate.ref)} (${where}), which is not on the reviewed allowlist; not vetted, executes arbitrary constructors on load.${script}`;
}

/** The target a trampoline call names through its literal arguments, as a dotted path. */
function resolveTrampolineTarget(resolution: TargetResolution, args: readonly PolicyArg[]): string | undefined {
  const stringArg = (index: number): string | undefined => {
    const arg = args[index];
    return arg?.kind === 'string' ? arg.value : undefined;
  };
  const globalArg = (index: number): PickleGlobalRef | undefined => {
    const arg = args[index];
    return arg?.kind === 'global' ? arg.ref : undefined;
  };
  const pathOf = (ref: PickleGlobalRef): string => (ref.name === '' ? ref.module : `${ref.module}.${ref.name}`);
  switch (resolution.kind) {
    case 'attribute-of-arg': {
      const target = globalArg(resolution.objectArg);
      const attribute = stringArg(resolution.nameArg);
      return target && attribute !== undefined ? `${pathOf(target)}.${attribute}` : undefined;
    }
    case 'dotted-string':
      return stringArg(resolution.arg)?.replace(':', '.');
    case 'module-and-name': {
      const module = stringArg(resolution.moduleArg);
      const name = stringArg(resolution.nameArg);
      return module !== undefined && name !== undefined ? `${module}.${name}` : undefined;
    }
    case 'attribute-name':
      return undefined;
    case 'callable-arg': {
      const target = globalArg(resolution.arg);
      return target ? pathOf(target) : undefined;
    }
  }
}

/**
 * Classifies a path a trampoline resolves to: read both as `module.attribute`
 * (last dot) and as a walk of attributes from its first module (first dot), so
 * `pathlib.os.system` is `os.system`; the worse reading wins.
 */
function classifyResolvedPath(path: string): GlobalClassification {
  const lastDot = path.lastIndexOf('.');
  if (lastDot <= 0) return classifyGlobal(path, '');
  const asAttribute = classifyGlobal(path.slice(0, lastDot), path.slice(lastDot + 1));
  if (asAttribute.verdict === 'dangerous') return asAttribute;
  const firstDot = path.indexOf('.');
  const asWalk = classifyGlobal(path.slice(0, firstDot), path.slice(firstDot + 1));
  return asWalk.verdict === 'dangerous' ? asWalk : asAttribute;
}

function describeResolvedPath(path: string): string {
  const classification = classifyResolvedPath(path);
  const shown = isPlainDottedName(path) ? path : quoteUntrusted(path);
  switch (classification.verdict) {
    case 'dangerous':
      return `It resolves to ${shown} (${classification.category}: ${classification.reason}).`;
    case 'safe':
      return `It resolves to ${shown} (on the allowlist).`;
    case 'unknown':
      return `It resolves to ${shown} (not on the allowlist).`;
  }
}

function attributeNameSentence(resolution: TargetResolution, args: readonly PolicyArg[]): string {
  if (resolution.kind !== 'attribute-name') return '';
  const arg = args[resolution.arg];
  return arg?.kind === 'string'
    ? ` It fetches or calls the attribute ${quoteUntrusted(arg.value)} of whatever object it is applied to.`
    : '';
}

/**
 * Judges one pickle stream (or a machine's whole output for one file): a
 * finding per distinct non-safe global, per dangerous call, per unresolved
 * import and per EXT code; the weights-only answer; nested loader calls.
 */
export function judgePickle(input: PolicyInput, options: JudgeOptions = {}): PickleJudgement {
  const collector = createFindingCollector(input.entry);
  const cache = new Map<string, GlobalClassification>();
  const classify = (ref: PickleGlobalRef): GlobalClassification => {
    const key = `${ref.module}\u0000${ref.name}`;
    let classification = cache.get(key);
    if (!classification) {
      classification = classifyGlobal(ref.module, ref.name);
      cache.set(key, classification);
    }
    return classification;
  };

  const aggregates = new Map<string, ImportAggregate>();
  const extensionOffsets = new Map<number, { code?: number; opcode: string }>();
  const unresolved: { offset: number; opcode: string; reason: string }[] = [...input.unresolvedImports];

  for (const imported of input.imports) {
    if (imported.opcode.startsWith('EXT')) {
      if (!extensionOffsets.has(imported.offset)) extensionOffsets.set(imported.offset, { opcode: imported.opcode });
      continue;
    }
    if (imported.module === '' && imported.name === '') {
      unresolved.push({ offset: imported.offset, opcode: imported.opcode, reason: 'module and name unresolved' });
      continue;
    }
    const key = `${imported.module}\u0000${imported.name}`;
    const aggregate = aggregates.get(key);
    if (aggregate) {
      aggregate.count += 1;
      if (imported.offset < aggregate.firstOffset) {
        aggregate.firstOffset = imported.offset;
        aggregate.firstOpcode = imported.opcode;
      }
    } else {
      const ref = { module: imported.module, name: imported.name };
      aggregates.set(key, {
        ref,
        firstOffset: imported.offset,
        firstOpcode: imported.opcode,
        count: 1,
        classification: classify(ref),
      });
    }
  }
  for (const extension of input.extensionCodes) {
    const opcode = extensionOffsets.get(extension.offset)?.opcode ?? 'EXT';
    extensionOffsets.set(extension.offset, { code: extension.code, opcode });
  }

  for (const aggregate of aggregates.values()) {
    const { classification } = aggregate;
    if (classification.verdict === 'dangerous') {
      collector.add(
        importRuleFor(classification.category),
        aggregate.firstOffset,
        () => ({
          detail: dangerousImportDetail(aggregate, classification),
          evidence: displayGlobal(aggregate.ref),
        }),
      );
    } else if (classification.verdict === 'unknown') {
      collector.add(
        classification.oddName ? 'pickle.import.odd-name' : 'pickle.import.unknown',
        aggregate.firstOffset,
        () => ({
          detail: unknownImportDetail(aggregate, classification),
          evidence: displayGlobal(aggregate.ref),
        }),
      );
    } else if (classification.row?.followUp === 'joblib-sibling-file') {
      collector.add(
        'pickle.joblib.sibling-file',
        aggregate.firstOffset,
        () => ({
          detail: `Imports ${displayGlobal(aggregate.ref)} (${occurrenceText(aggregate)}): joblib.load reads each array from a separate file named in the pickle.`,
        }),
      );
    }
  }

  for (const item of unresolved) {
    collector.add(
      'pickle.import.unresolved',
      item.offset,
      () => ({
        detail: `${item.opcode} at offset ${item.offset} imports a global that cannot be named statically: ${quoteUntrusted(item.reason)}.`,
      }),
    );
  }
  for (const [offset, extension] of extensionOffsets) {
    const code = extension.code !== undefined ? ` code ${extension.code}` : '';
    collector.add(
      'pickle.extension-registry',
      offset,
      () => ({
        detail: `${extension.opcode}${code} at offset ${offset} imports whatever the copyreg extension registry maps it to.`,
      }),
    );
  }

  const nestedLoaders: NestedLoaderCall[] = [];
  for (const call of input.calls) {
    judgeCall(call, classify, collector, nestedLoaders);
  }

  const weightsOnly = answerWeightsOnly(input, unresolved, extensionOffsets);
  if (!weightsOnly.accepted && weightsOnly.firstRefused && options.weightsOnlyFinding !== false) {
    const refused = weightsOnly.firstRefused;
    const hasGlobal = refused.module !== '' || refused.name !== '';
    collector.add(
      'pickle.weights-only.refused',
      refused.offset,
      () => ({
        detail: `torch.load(weights_only=True) would stop at offset ${refused.offset}: ${refused.reason}.`,
        evidence: hasGlobal ? displayGlobal(refused) : undefined,
      }),
    );
  }

  const globals: JudgedGlobal[] = [];
  for (const aggregate of aggregates.values()) {
    if (globals.length >= MAX_LISTED_GLOBALS) break;
    const { classification } = aggregate;
    globals.push({
      module: aggregate.ref.module,
      name: aggregate.ref.name,
      firstOffset: aggregate.firstOffset,
      count: aggregate.count,
      verdict: classification.verdict,
      ...(classification.verdict === 'dangerous' ? { category: classification.category } : {}),
      weightsOnly: weightsOnlyAcceptsGlobal(aggregate.ref.module, aggregate.ref.name),
    });
  }

  return {
    findings: collector.finish(),
    weightsOnly,
    nestedLoaders,
    globals,
    globalsTruncated: aggregates.size > MAX_LISTED_GLOBALS,
  };
}

type FindingCollector = ReturnType<typeof createFindingCollector>;

function judgeCall(
  call: PolicyCall,
  classify: (ref: PickleGlobalRef) => GlobalClassification,
  collector: FindingCollector,
  nestedLoaders: NestedLoaderCall[],
): void {
  const where = `${call.opcode} at offset ${call.offset}`;
  const callable = call.callable;
  if (call.targetIsGlobal && MUTATING_OPCODES.has(call.opcode) && callable) {
    collector.add('pickle.call.global-mutation', call.offset, () => ({
      detail: `${where} changes the imported global ${displayGlobal(callable)} itself.`,
      evidence: formatCallEvidence(callable, call.args),
    }));
    return;
  }
  if (!INVOKING_OPCODES.has(call.opcode)) return;
  if (!callable) {
    collector.add('pickle.call.unresolved-callable', call.offset, () => ({
      detail: `${where} calls a value computed during loading, not an imported global.`,
    }));
    return;
  }

  const classification = classify(callable);
  if (classification.verdict === 'dangerous') {
    const row = classification.row;
    const bytesArg = call.args.find((arg): arg is PolicyArg & { kind: 'bytes' } => arg.kind === 'bytes');
    if (row?.loads) {
      nestedLoaders.push({
        callable,
        offset: call.offset,
        format: row.loads,
        ...(bytesArg ? { bytes: { offset: bytesArg.offset, length: bytesArg.length } } : {}),
      });
    }
    collector.add('pickle.call.dangerous', call.offset, () => {
      let detail = `Calls ${displayGlobal(callable)} (${where}): ${classification.category}, ${classification.reason}.`;
      if (row?.resolves) {
        const target = resolveTrampolineTarget(row.resolves, call.args);
        if (target !== undefined) detail += ` ${describeResolvedPath(target)}`;
        detail += attributeNameSentence(row.resolves, call.args);
      }
      if (row?.loads && bytesArg) {
        detail += ` Its ${bytesArg.length}-byte argument at offset ${bytesArg.offset} is a ${row.loads} payload, scanned as such.`;
      }
      return { detail, evidence: formatCallEvidence(callable, call.args) };
    });
    return;
  }

  if (classification.verdict === 'safe' && classification.row?.invokesArgs) {
    for (const index of classification.row.invokesArgs) {
      const arg = call.args[index];
      if (arg?.kind !== 'global') continue;
      const argument = classify(arg.ref);
      if (argument.verdict !== 'dangerous') continue;
      collector.add('pickle.call.dangerous', call.offset, () => ({
        detail: `${displayGlobal(callable)} (${where}) calls or constructs its argument ${index + 1}, ${displayGlobal(arg.ref)}: ${argument.category}, ${argument.reason}.`,
        evidence: formatCallEvidence(callable, call.args),
      }));
    }
  }
}

function answerWeightsOnly(
  input: PolicyInput,
  unresolved: readonly { offset: number; opcode: string; reason: string }[],
  extensionOffsets: ReadonlyMap<number, { code?: number; opcode: string }>,
): WeightsOnlyAnswer {
  let first: WeightsOnlyRefusal | undefined;
  const refuse = (refusal: WeightsOnlyRefusal): void => {
    if (!first || refusal.offset < first.offset) first = refusal;
  };
  const notImplemented = (opcode: string): string => `${opcode} is not an opcode the weights-only unpickler implements`;

  for (const imported of input.imports) {
    if (imported.opcode.startsWith('EXT') || (imported.module === '' && imported.name === '')) continue;
    const { module, name, offset, opcode } = imported;
    if (opcode !== 'GLOBAL') {
      refuse({ module, name, offset, opcode, reason: notImplemented(opcode) });
    } else if (!weightsOnlyAcceptsGlobal(module, name)) {
      refuse({
        module,
        name,
        offset,
        opcode,
        reason: `GLOBAL ${displayGlobal(imported)} is not in PyTorch's default allowlist`,
      });
    }
  }
  for (const item of unresolved) {
    refuse({ module: '', name: '', offset: item.offset, opcode: item.opcode, reason: `${item.opcode} imports an unresolvable global` });
  }
  for (const [offset, extension] of extensionOffsets) {
    refuse({ module: '', name: '', offset, opcode: extension.opcode, reason: notImplemented(extension.opcode) });
  }
  for (const call of input.calls) {
    const module = call.callable?.module ?? '';
    const name = call.callable?.name ?? '';
    if (call.targetIsGlobal && MUTATING_OPCODES.has(call.opcode)) {
      refuse({ module, name, offset: call.offset, opcode: call.opcode, reason: `${call.opcode} on a global itself is refused` });
    } else if (!WEIGHTS_ONLY_OPCODES.has(call.opcode)) {
      refuse({ module, name, offset: call.offset, opcode: call.opcode, reason: notImplemented(call.opcode) });
    }
  }
  for (const seen of input.opcodeFirstSeen ?? []) {
    if (!WEIGHTS_ONLY_OPCODES.has(seen.opcode)) {
      refuse({ module: '', name: '', offset: seen.offset, opcode: seen.opcode, reason: notImplemented(seen.opcode) });
    }
  }

  return {
    accepted: first === undefined,
    ...(first ? { firstRefused: first } : {}),
    opcodesChecked: input.opcodeFirstSeen !== undefined,
  };
}
