/**
 * Git LFS pointer files: https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md
 *
 * A pointer is a few lines of `key value` text, `version` first, then keys in
 * order, among them `oid sha256:<64 hex>` and `size <bytes>`. Git LFS leaves
 * it in the working tree in place of the real file when the content was not
 * fetched (cloned without git-lfs, GIT_LFS_SKIP_SMUDGE=1), and only files
 * under 1024 bytes are ever read as pointers.
 *
 * Threat surface: small. The pointer carries no code, but what it stands
 * for was not inspected, and a folder of pointers looks complete by name: a
 * scan that reports them as "unknown" would let a reviewer believe the
 * weights were checked. The oid is kept in the metadata so the real file,
 * once fetched, can be matched against it (its SHA-256 must equal the oid).
 * Detected by content only: a pointer keeps the name of the file it replaces.
 */
import type { ByteSource } from '../io/byte-source.ts';
import type { MetadataValue } from '../report/types.ts';
import { createFinding } from '../rules/index.ts';
import { basenameOf } from '../folder/text-file.ts';
import type { FormatModule, InspectContext, Inspection } from './types.ts';

/** Git LFS reads only blobs smaller than this as pointers (its blobSizeCutoff); larger files are content. */
export const MAX_POINTER_BYTES = 1024;

const VERSION_PREFIXES = ['version https://git-lfs.github.com/spec/', 'version https://hawser.github.com/spec/'];
const OID = /^sha256:([0-9a-f]{64})$/;
const SIZE = /^(0|[1-9]\d{0,18})$/;

const encoder = new TextEncoder();
const PREFIX_BYTES = VERSION_PREFIXES.map((prefix) => encoder.encode(prefix));

export const lfsPointerFormat: FormatModule = {
  id: 'git-lfs-pointer',
  label: 'Git LFS pointer',
  extensions: [],
  detect(head: Uint8Array): boolean {
    if (head.length >= MAX_POINTER_BYTES) return false;
    return PREFIX_BYTES.some((prefix) => head.length >= prefix.length && prefix.every((byte, index) => head[index] === byte));
  },
  inspect: inspectLfsPointer,
};

/** The fields of a pointer and what is wrong with it, if anything. */
export interface LfsPointer {
  version: string;
  oid: string | null;
  size: number | null;
  problems: string[];
}

/** Reads pointer text: `key value` lines; an oid or size that does not follow the spec is a problem, not an error. */
export function parseLfsPointer(text: string): LfsPointer {
  const pointer: LfsPointer = { version: '', oid: null, size: null, problems: [] };
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else pointer.problems.push('the last line has no newline');
  for (const line of lines) {
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (key === 'version') pointer.version = value;
    else if (key === 'oid') {
      const match = OID.exec(value);
      if (match) pointer.oid = match[1];
      else pointer.problems.push(`oid ${JSON.stringify(value.slice(0, 80))} is not sha256:<64 lower-case hex digits>`);
    } else if (key === 'size') {
      if (SIZE.test(value) && Number.isSafeInteger(Number(value))) pointer.size = Number(value);
      else pointer.problems.push(`size ${JSON.stringify(value.slice(0, 40))} is not a byte count`);
    } else if (!/^[a-z0-9.-]+$/.test(key)) {
      pointer.problems.push(`line ${JSON.stringify(line.slice(0, 80))} is not a key and value`);
    }
  }
  if (pointer.oid === null && !pointer.problems.some((problem) => problem.startsWith('oid'))) pointer.problems.push('no oid line');
  if (pointer.size === null && !pointer.problems.some((problem) => problem.startsWith('size'))) pointer.problems.push('no size line');
  return pointer;
}

async function inspectLfsPointer(source: ByteSource, context: InspectContext): Promise<Inspection> {
  const bytes = context.head.length >= source.size ? context.head.subarray(0, source.size) : await source.read(0, MAX_POINTER_BYTES);
  const pointer = parseLfsPointer(new TextDecoder('utf-8').decode(bytes));
  const metadata: Record<string, MetadataValue> = { lfsVersion: pointer.version, lfsOid: pointer.oid, lfsSize: pointer.size };
  const what = pointer.oid === null ? 'an unknown object' : `the object sha256:${pointer.oid}`;
  const size = pointer.size === null ? '' : ` of ${pointer.size} bytes`;
  const problems = pointer.problems.length > 0 ? `; the pointer itself is malformed: ${pointer.problems.join('; ')}` : '';
  const finding = createFinding('hf.lfs-pointer', {
    detail: `${basenameOf(source.name)} is a ${source.size}-byte Git LFS pointer to ${what}${size}, not the file itself${problems}`,
    location: { offset: 0, length: source.size },
    evidence: new TextDecoder('utf-8').decode(bytes).slice(0, 300),
  });
  return { tensors: [], metadata, findings: [finding] };
}
