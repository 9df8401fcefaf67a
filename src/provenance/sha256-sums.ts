/**
 * Checksum listings as `sha256sum` writes them, and a hash pasted on its own.
 *
 * Spec: GNU coreutils `sha256sum` (https://www.gnu.org/software/coreutils/manual/html_node/md5sum-invocation.html):
 * `<64 hex><space><space or *><path>`, `*` meaning binary mode; a line that
 * starts with `\` has an escaped path (`\\`, `\n`, `\r`). `sha256sum --tag`
 * and OpenSSL write the BSD form `SHA256 (path) = <hex>` (`SHA2-256(path)= <hex>`).
 * Release pages often clearsign the file with PGP; the armour is skipped and the
 * signature is not checked.
 *
 * Threat surface: the listing is as untrusted as the download it describes. A
 * hostile one can be huge, have endless lines, or carry paths with control
 * characters; lines, line length, paths and entries are bounded (see limits.ts),
 * paths are kept as plain strings, and a bad line is a problem with its number,
 * never an exception.
 */
import { createSetCollector, quoteExcerpt, type SetCollector } from './collector.ts';
import { MAX_LINE_CHARS, MAX_LINES, MAX_PATH_CHARS } from './limits.ts';
import { normaliseListedPath } from './paths.ts';
import type { ExpectationSet } from './types.ts';

const BARE_SHA256 = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
const GNU_LINE = /^(\\?)([0-9a-fA-F]{64}) ([ *])(.*)$/;
const BSD_LINE = /^([A-Za-z0-9-]+) ?\((.*)\) ?= ?([0-9a-fA-F]+)$/;
const BSD_SHA256_NAMES = new Set(['SHA256', 'SHA2-256']);
const LEADING_HEX = /^\\?([0-9a-fA-F]+)/;

const PGP_SIGNED_MESSAGE = '-----BEGIN PGP SIGNED MESSAGE-----';
const PGP_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';

/** The usual digest for a hex length, to say what a wrong-length hash probably is. */
const DIGEST_BY_HEX_LENGTH: Record<number, string> = {
  32: 'MD5',
  40: 'SHA-1',
  56: 'SHA-224',
  96: 'SHA-384',
  128: 'SHA-512',
};

const MIN_HASH_LIKE_HEX = 16;
const GNU_SHAPE = 'expected 64 hex digits then two spaces and a path';

/** A SHA-256 pasted on its own (optionally `sha256:`-prefixed): it names no file. */
export function parseBareSha256(name: string, text: string): ExpectationSet | null {
  const match = BARE_SHA256.exec(text.trim());
  if (!match) return null;
  const collector = createSetCollector(name, 'sha256');
  collector.addEntry({ path: null, sha256: match[1].toLowerCase() });
  return collector.finish();
}

/** A `sha256sum` listing (GNU or BSD lines, comments, CRLF, PGP clearsigned or not). */
export function parseSha256Sums(name: string, text: string): ExpectationSet {
  const collector = createSetCollector(name, 'sha256sums');
  // Two pieces past the limit tell a trailing newline apart from more lines.
  const lines = text.split('\n', MAX_LINES + 2);
  if (lines.length > MAX_LINES) {
    if (lines.slice(MAX_LINES).some((line) => line.trim() !== '') || lines.length > MAX_LINES + 1) {
      collector.problem(`more than ${MAX_LINES} lines: the rest was not read`, MAX_LINES + 1);
    }
    lines.length = MAX_LINES;
  }
  const armour = pgpArmourRange(lines);
  if (armour) {
    collector.note(`${name} is clearsigned with PGP; the PGP signature was not checked (gpg --verify does that)`);
  }
  const first = armour ? armour.first : 0;
  const end = armour ? armour.end : lines.length;
  let headerDone = !armour;
  for (let index = first; index < end; index++) {
    const lineNumber = index + 1;
    let line = lines[index].endsWith('\r') ? lines[index].slice(0, -1) : lines[index];
    if (!headerDone) {
      // Clearsigned text starts after the armour headers (`Hash: SHA256`) and a blank line.
      if (line.trim() === '') headerDone = true;
      continue;
    }
    if (armour && line.startsWith('- ')) line = line.slice(2);
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (line.length > MAX_LINE_CHARS) {
      collector.problem(`line is ${line.length} characters long, over the ${MAX_LINE_CHARS} limit`, lineNumber);
      continue;
    }
    if (!readLine(line, lineNumber, collector)) break;
  }
  if (collector.entryCount === 0 && collector.problemCount === 0) {
    collector.problem('no SHA-256 found: the file is empty or has only comments');
  }
  return collector.finish();
}

/** Reads one listing line into the collector; false when the entry limit stops the parse. */
function readLine(line: string, lineNumber: number, collector: SetCollector): boolean {
  const gnu = GNU_LINE.exec(line);
  if (gnu) {
    const [, escaped, hex, , rawPath] = gnu;
    const path = escaped ? unescapeGnuPath(rawPath) : rawPath;
    return addListed(collector, path, hex, lineNumber);
  }
  const bsd = BSD_LINE.exec(line);
  if (bsd) {
    const [, algorithm, path, hex] = bsd;
    if (!BSD_SHA256_NAMES.has(algorithm.toUpperCase())) {
      collector.problem(`${quoteExcerpt(algorithm, 16)} digest, not SHA-256; skipped`, lineNumber);
      return true;
    }
    if (hex.length !== 64) {
      collector.problem(`SHA256 line has ${hex.length} hex digits; a SHA-256 has 64`, lineNumber);
      return true;
    }
    return addListed(collector, path, hex, lineNumber);
  }
  collector.problem(describeBadLine(line), lineNumber);
  return true;
}

function addListed(collector: SetCollector, rawPath: string, hex: string, line: number): boolean {
  if (rawPath.length > MAX_PATH_CHARS) {
    collector.problem(`path is ${rawPath.length} characters long, over the ${MAX_PATH_CHARS} limit`, line);
    return true;
  }
  const path = normaliseListedPath(rawPath);
  if (path === '') {
    collector.problem(`${GNU_SHAPE}; the path ${quoteExcerpt(rawPath)} is empty`, line);
    return true;
  }
  return collector.addEntry({ path, sha256: hex.toLowerCase(), line });
}

/** Says what is wrong with a line that fits neither form, as precisely as the line allows. */
function describeBadLine(line: string): string {
  const leading = LEADING_HEX.exec(line);
  const hexLength = leading ? leading[1].length : 0;
  // A run of 16 or more hex digits is a hash of the wrong kind; a short one is probably a word ("bad", "cafe").
  if (hexLength >= MIN_HASH_LIKE_HEX && hexLength !== 64 && /^\\?[0-9a-fA-F]+(\s|$)/.test(line)) {
    const guess = DIGEST_BY_HEX_LENGTH[hexLength];
    return `${GNU_SHAPE}; found ${hexLength} hex digits${guess ? ` (a ${guess} listing?)` : ''}`;
  }
  if (hexLength === 64) {
    const rest = line.slice(line.startsWith('\\') ? 65 : 64);
    if (rest.trim() === '') return `${GNU_SHAPE}; the path is missing`;
    if (rest.startsWith('\t')) return `${GNU_SHAPE}; found a tab after the hash`;
    if (rest.startsWith(' ')) return `${GNU_SHAPE}; found one space after the hash`;
  }
  return `${GNU_SHAPE}; found ${quoteExcerpt(line)}`;
}

/** GNU escapes a path holding `\` or a newline by starting the line with `\`. */
function unescapeGnuPath(path: string): string {
  return path.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char === 'r' ? '\r' : char));
}

/** Where the signed text of a PGP clearsigned message is: from after BEGIN to before the signature. */
function pgpArmourRange(lines: string[]): { first: number; end: number } | null {
  const begin = lines.findIndex((line) => line.trim() !== '');
  if (begin < 0 || lines[begin].trim() !== PGP_SIGNED_MESSAGE) return null;
  const signature = lines.findIndex((line, index) => index > begin && line.trim() === PGP_SIGNATURE);
  return { first: begin + 1, end: signature < 0 ? lines.length : signature };
}
