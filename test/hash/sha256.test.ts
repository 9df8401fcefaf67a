import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNodeSha256 } from '../../src/hash/node-sha256.ts';
import { type Sha256Factory, createWasmSha256 } from '../../src/hash/sha256.ts';

const text = (value: string) => new TextEncoder().encode(value);

/** NIST FIPS 180-4 example vectors (csrc.nist.gov, SHA256.pdf and SHA2_Additional). */
const KNOWN_ANSWERS: [name: string, input: () => Uint8Array, digest: string][] = [
  ['empty', () => new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"abc"', () => text('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    '448-bit message',
    () => text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  ],
  [
    '896-bit message',
    () =>
      text(
        'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      ),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  ],
  ['one million "a"', () => new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

const IMPLEMENTATIONS: [string, Sha256Factory][] = [
  ['hash-wasm (browser)', createWasmSha256],
  ['node:crypto (CLI)', createNodeSha256],
];

function randomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

describe.each(IMPLEMENTATIONS)('SHA-256 through %s', (_name, createSha256) => {
  it.each(KNOWN_ANSWERS)('gives the NIST answer for %s', async (_label, input, digest) => {
    const hasher = await createSha256();
    hasher.update(input());
    expect(hasher.digestHex()).toBe(digest);
  });

  it('gives the same digest for any chunking', async () => {
    const data = randomBytes(300_001, 7);
    const expected = createHash('sha256').update(data).digest('hex');
    for (let trial = 0; trial < 20; trial++) {
      const hasher = await createSha256();
      let position = 0;
      let seed = trial + 1;
      while (position < data.length) {
        seed = (seed * 48271) % 2147483647;
        const size = trial === 0 ? 1 : 1 + (seed % 70_000);
        hasher.update(data.subarray(position, position + size));
        position += size;
      }
      expect(hasher.digestHex()).toBe(expected);
    }
  });

  it('fails fast when used after the digest', async () => {
    const hasher = await createSha256();
    hasher.update(text('x'));
    hasher.digestHex();
    expect(() => hasher.update(text('y'))).toThrow(/after digestHex/);
    expect(() => hasher.digestHex()).toThrow(/twice/);
  });
});
