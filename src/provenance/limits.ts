/**
 * Limits shared by every expectation parser. Expectation files come from the
 * same untrusted place as the model (a download page, a repository), so they
 * are bounded like any other input.
 */

/** Longest expectation text read, in characters: a listing of 100 000 files fits; more is a denial of service (CWE-400). */
export const MAX_EXPECTATION_CHARS = 16 * 1024 * 1024;

/** Lines read from a line-based listing (CWE-400). */
export const MAX_LINES = 200_000;

/** Longest line: a 4096-character path plus a hash and separators (CWE-400). */
export const MAX_LINE_CHARS = 8192;

/** Longest listed path, as PATH_MAX on Linux (CWE-400). */
export const MAX_PATH_CHARS = 4096;

/** Entries kept per source: the CLI walks at most as many files (CWE-770). */
export const MAX_ENTRIES = 100_000;

/** Problems kept per source: a binary file would otherwise give one per line (CWE-400). */
export const MAX_PROBLEMS = 50;

/** Lower-case SHA-256 in hex. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
