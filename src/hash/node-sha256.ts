import { createHash } from 'node:crypto';
import { type Sha256Factory, guardOrder } from './sha256.ts';

/** SHA-256 through Node's native crypto: several times faster than Wasm, for the CLI. */
export const createNodeSha256: Sha256Factory = async () => {
  const hash = createHash('sha256');
  return guardOrder({
    update: (chunk) => void hash.update(chunk),
    digestHex: () => hash.digest('hex'),
  });
};
