/**
 * Share links: a whole Report in the URL fragment, so it travels as a link and
 * is never sent to a server (browsers keep the part after `#` to themselves).
 *
 * Format: `report=` + base64url(raw DEFLATE(UTF-8 JSON of a {@link ShareEnvelope})),
 * where the envelope is `{"share":1,"omitted":[…],"report":{…}}`: the report,
 * shortened to fit the budget, and the list of what was left out, so the
 * page that opens the link can say it.
 *
 * Budget: {@link MAX_SHARE_FRAGMENT_CHARS}. Reports that do not fit are
 * shortened in the documented order of SHARE_LEVELS (shrink-report.ts), then
 * by leaving out files from the end, then the provenance comparison.
 *
 * Threat surface: a link is hostile input, made by anyone, maybe by hand. The
 * decoder bounds every stage before it works (fragment length, decoded bytes,
 * inflated bytes, so a deflate bomb stops at the cap), turns every failure
 * into an `{error}` with a sentence for the page, and rebuilds the report
 * field by field (read-report.ts): wrong types are an error, unknown fields
 * are dropped. Strings stay strings; the page renders them as text.
 */
import { deflateSync } from 'fflate';
import type { Report } from '../report/types.ts';
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import { inflateBounded } from './bounded-inflate.ts';
import { ShapeError, isJsonObject, optional, readArray, readCount, readLiteral, readObject, readOneOf, readString } from './json-shape.ts';
import { readReport } from './read-report.ts';
import { SHARE_LEVELS, SHARE_OMITTED_PARTS, shrinkReport, type ShareOmission, type ShareShape } from './shrink-report.ts';

export { SHARE_LEVELS, type ShareOmission } from './shrink-report.ts';

/** The fragment's key: the fragment is `report=<data>`. */
export const SHARE_FRAGMENT_PREFIX = 'report=';

/** Version of the envelope; a change of layout gets a new number. */
export const SHARE_ENVELOPE_VERSION = 1;

/**
 * Longest fragment a link is made with, in characters (`report=` included).
 * 32,000 characters, with the page address, stay under the 40,000 characters
 * at which Slack cuts a message and the 65,536 of a GitHub comment, so a link
 * pasted there arrives whole; browsers take far longer URLs (Chromium 2 MB).
 * About 24 KB of deflated JSON: a full report of dozens of files fits; a
 * 50,000-tensor table or a 150,000-token vocabulary does not, and is shortened.
 */
export const MAX_SHARE_FRAGMENT_CHARS = 32_000;

/**
 * Longest fragment the decoder reads: links made with a larger budget by a
 * later version still open, and anything longer is refused before decoding
 * (CWE-400).
 */
export const MAX_DECODED_FRAGMENT_CHARS = 256 * 1024;

/**
 * Most bytes the JSON inside a link may inflate to (CWE-409: a bomb stops
 * here). The encoder keeps to it too, so every link it makes opens.
 */
export const MAX_SHARE_JSON_BYTES = 4 * 1024 * 1024;

/** What a link carries. */
export interface ShareEnvelope {
  share: typeof SHARE_ENVELOPE_VERSION;
  omitted: ShareOmission[];
  report: Report;
}

export interface EncodedShare {
  /** The fragment, without `#`: `report=…`. */
  fragment: string;
  /** What was left out, one sentence each, with the file path in front when it is about one file; empty when nothing was. */
  omitted: string[];
  /** The same, as data (part, file index in the shared report). */
  omissions: ShareOmission[];
}

export interface DecodedShare {
  report: Report;
  /** What the link says it left out, one sentence each (see {@link EncodedShare.omitted}). */
  omitted: string[];
  omissions: ShareOmission[];
}

const encoder = new TextEncoder();

/**
 * The report as a link fragment of at most {@link MAX_SHARE_FRAGMENT_CHARS}
 * characters, and what had to be left out to get there.
 */
export function encodeShareFragment(report: Report): EncodedShare {
  let previousOmissions: string | null = null;
  for (const shape of SHARE_LEVELS) {
    // A level that leaves out nothing more than the one before gives the same too-long link: skip the work.
    const shrunk = shrinkReport(report, shape);
    const omissions = JSON.stringify(shrunk.omissions);
    if (omissions === previousOmissions) continue;
    previousOmissions = omissions;
    const encoded = encodeIfFits(shrunk);
    if (encoded) return encoded;
  }
  const lastShape = SHARE_LEVELS[SHARE_LEVELS.length - 1];
  for (const provenance of [true, false]) {
    const encoded = mostFilesThatFit(report, { ...lastShape, provenance });
    if (encoded) return encoded;
  }
  // Not reached with a report made by Preflight: without files and provenance it is a few hundred bytes.
  throw new Error(`the report does not fit a ${MAX_SHARE_FRAGMENT_CHARS}-character link even without its files`);
}

/** The shape with as many files as fit, found by bisection; null when not even zero files fit. */
function mostFilesThatFit(report: Report, shape: ShareShape): EncodedShare | null {
  let best: EncodedShare | null = null;
  let low = 0;
  let high = report.files.length;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const encoded = encodeIfFits(shrinkReport(report, { ...shape, files: middle }));
    if (encoded) {
      best = encoded;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return best;
}

/** A shortened report as a fragment, or null when it is over the budget (or would inflate past the decoder's cap). */
function encodeIfFits(shrunk: ReturnType<typeof shrinkReport>): EncodedShare | null {
  const envelope: ShareEnvelope = { share: SHARE_ENVELOPE_VERSION, omitted: shrunk.omissions, report: shrunk.report };
  const json = encoder.encode(JSON.stringify(envelope));
  if (json.length > MAX_SHARE_JSON_BYTES) return null;
  const fragment = SHARE_FRAGMENT_PREFIX + encodeBase64Url(deflateSync(json, { level: 9 }));
  if (fragment.length > MAX_SHARE_FRAGMENT_CHARS) return null;
  return { fragment, omitted: describeOmissions(shrunk.omissions, shrunk.report), omissions: shrunk.omissions };
}

/** Omissions as sentences: `path: what` for one file, `what` for the report as a whole. */
export function describeOmissions(omissions: readonly ShareOmission[], report: Report): string[] {
  return omissions.map((omission) => {
    const file = omission.file !== undefined ? report.files[omission.file] : undefined;
    return file ? `${file.path}: ${omission.what}` : omission.what;
  });
}

const readOmission = readObject<ShareOmission>({ part: readOneOf(SHARE_OMITTED_PARTS), file: optional(readCount), what: readString });

/**
 * Reads a fragment made by {@link encodeShareFragment} (with or without the
 * leading `#`). Never throws: anything wrong is `{ error }`, one sentence
 * saying what and where.
 */
export function decodeShareFragment(fragment: string): DecodedShare | { error: string } {
  const body = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  if (!body.startsWith(SHARE_FRAGMENT_PREFIX)) return { error: `the link does not hold a report (its fragment does not start with "${SHARE_FRAGMENT_PREFIX}")` };
  const data = body.slice(SHARE_FRAGMENT_PREFIX.length);
  if (data.length > MAX_DECODED_FRAGMENT_CHARS) {
    return { error: `the link's report is ${data.length} characters long, over the ${MAX_DECODED_FRAGMENT_CHARS}-character limit` };
  }
  const compressed = decodeBase64Url(data, MAX_DECODED_FRAGMENT_CHARS);
  if (!compressed.ok) return { error: `the link is damaged: ${compressed.message} (was it cut short when it was copied?)` };
  const inflated = inflateBounded(compressed.bytes, MAX_SHARE_JSON_BYTES);
  if (!inflated.ok) return { error: `the link is damaged: ${inflated.message}` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(inflated.bytes);
  } catch {
    return { error: 'the link is damaged: its report is not UTF-8 text' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { error: `the link's report is not JSON (${error instanceof Error ? error.message.slice(0, 200) : 'parse error'})` };
  }
  return readEnvelope(json);
}

function readEnvelope(json: unknown): DecodedShare | { error: string } {
  try {
    if (!isJsonObject(json)) throw new ShapeError('', 'an object', json);
    readLiteral(SHARE_ENVELOPE_VERSION)(json.share, 'share');
    const report = readReport(json.report, 'report');
    const omissions = readArray(readOmission)(json.omitted, 'omitted');
    omissions.forEach((omission, index) => {
      if (omission.file !== undefined && omission.file >= report.files.length) {
        throw new ShapeError(`omitted[${index}].file`, `the index of one of the report's ${report.files.length} files`, omission.file);
      }
    });
    return { report, omitted: describeOmissions(omissions, report), omissions };
  } catch (error) {
    if (error instanceof ShapeError) return { error: `the link's report is not a Preflight report: ${error.message}` };
    if (error instanceof RangeError) return { error: "the link's report is nested too deeply to read" };
    return { error: `the link's report could not be read (${error instanceof Error ? error.message.slice(0, 200) : String(error)})` };
  }
}
