import { createSetCollector, quoteExcerpt } from './collector.ts';
import { looksLikeLfsPointer, parseLfsPointer } from './git-lfs-pointer.ts';
import { looksLikeHuggingFaceListing, parseHuggingFaceListing } from './huggingface-listing.ts';
import { looksLikeInTotoStatement, readInTotoStatement } from './in-toto-statement.ts';
import { parseJson } from './json.ts';
import { MAX_EXPECTATION_CHARS } from './limits.ts';
import { parseBareSha256, parseSha256Sums } from './sha256-sums.ts';
import { looksLikeSigstoreBundle, parseSigstoreBundle } from './sigstore-bundle.ts';
import type { ExpectationSet } from './types.ts';

const RECOGNISED =
  'not recognised as a SHA-256, a SHA256SUMS listing, a Git LFS pointer, a Hugging Face file listing or a model-signing bundle';
/** Line problems repeated under the "not recognised" headline, to show what the text looked like. */
const UNRECOGNISED_DETAIL_LINES = 3;

/**
 * Reads an expectation file, recognising its kind from the content (never the
 * name alone): a pasted SHA-256, a `sha256sum` listing, a Git LFS pointer, a
 * Hugging Face file listing (JSON), an OpenSSF model-signing bundle (Sigstore
 * JSON) or a bare in-toto statement. Never throws: anything it cannot use is a
 * problem in the returned set, with a line number where the source has lines.
 *
 * @param name the file's name or path as the user gave it; a Git LFS pointer
 *   stands for the file of this name, and messages use it.
 */
export function parseExpectations(name: string, text: string): ExpectationSet {
  if (text.length > MAX_EXPECTATION_CHARS) {
    return unrecognised(name, `${text.length} characters exceeds the ${MAX_EXPECTATION_CHARS}-character limit for an expectation file`);
  }
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const nul = body.indexOf('\u0000');
  if (nul >= 0) return unrecognised(name, `binary content (a NUL character at position ${nul}): ${RECOGNISED}`);

  const bare = parseBareSha256(name, body);
  if (bare) return bare;
  if (looksLikeLfsPointer(body)) return parseLfsPointer(name, body);
  const start = body.trimStart().charAt(0);
  if (start === '{' || start === '[' || /\.sig(store)?$/i.test(name)) return parseJsonExpectations(name, body);

  const sums = parseSha256Sums(name, body);
  // Only text whose lines all fail is unrecognised; an empty or comment-only listing stays a listing.
  if (sums.entries.length > 0 || !sums.problems.some((problem) => problem.line !== undefined)) return sums;
  const detail = sums.problems.slice(0, UNRECOGNISED_DETAIL_LINES);
  return { ...sums, kind: 'unrecognised', problems: [{ message: RECOGNISED }, ...detail] };
}

function parseJsonExpectations(name: string, body: string): ExpectationSet {
  const parsed = parseJson(body);
  if (!parsed.ok) {
    const bundleLike = /\.sig(store)?$/i.test(name) || body.includes('"dsseEnvelope"') || body.includes('sigstore.bundle');
    const set = unrecognised(name, `${bundleLike ? 'bundle' : 'file'} is not JSON: ${parsed.message}`);
    return bundleLike ? { ...set, kind: 'model-signing-bundle' } : set;
  }
  const json = parsed.value;
  if (looksLikeSigstoreBundle(json)) return parseSigstoreBundle(name, json as Record<string, unknown>);
  if (looksLikeInTotoStatement(json)) {
    const collector = createSetCollector(name, 'in-toto-statement');
    readInTotoStatement(json, collector, 'statement');
    collector.note(`${name} is an in-toto statement without a signature: its hashes are only as trustworthy as where it came from`);
    return collector.finish();
  }
  if (looksLikeHuggingFaceListing(json)) return parseHuggingFaceListing(name, json);
  const shape = Array.isArray(json) ? 'a JSON list' : typeof json === 'object' && json !== null ? 'a JSON object' : `JSON ${quoteExcerpt(body.trim(), 20)}`;
  return unrecognised(name, `${shape}, but not a Sigstore bundle, an in-toto statement or a Hugging Face file listing`);
}

function unrecognised(name: string, message: string): ExpectationSet {
  const collector = createSetCollector(name, 'unrecognised');
  collector.problem(message);
  return collector.finish();
}
