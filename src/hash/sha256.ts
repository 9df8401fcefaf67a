import { createSHA256 } from 'hash-wasm';

/** Streaming SHA-256: `update` any number of times, then `digestHex` once. */
export interface Sha256 {
  update(chunk: Uint8Array): void;
  /** Lower-case hex digest; the hasher cannot be updated afterwards. */
  digestHex(): string;
}

export type Sha256Factory = () => Promise<Sha256>;

/** SHA-256 in Wasm through hash-wasm: the browser's hasher (WebCrypto cannot stream). */
export const createWasmSha256: Sha256Factory = async () => {
  const hasher = await createSHA256();
  hasher.init();
  return guardOrder({
    update: (chunk) => void hasher.update(chunk),
    digestHex: () => hasher.digest('hex'),
  });
};

/** Fail fast on `update` after `digestHex`, instead of a silently wrong hash. */
export function guardOrder(inner: Sha256): Sha256 {
  let finished = false;
  return {
    update(chunk) {
      if (finished) throw new Error('Sha256.update called after digestHex');
      inner.update(chunk);
    },
    digestHex() {
      if (finished) throw new Error('Sha256.digestHex called twice');
      finished = true;
      return inner.digestHex();
    },
  };
}
