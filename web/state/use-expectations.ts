import { useCallback, useState } from 'preact/hooks';
import { parseExpectations, type ExpectationSet } from '../../src/provenance/index.ts';

export interface ExpectationsController {
  /** Every source of expected hashes, in the order given. */
  sets: ExpectationSet[];
  add(sets: readonly ExpectationSet[]): void;
  /** Reads pasted text (a SHA-256, a SHA256SUMS listing, a bundle …) as a new source. */
  addPasted(text: string): ExpectationSet;
  remove(index: number): void;
  clear(): void;
}

/** The expected hashes the person gave: pasted text and expectation files. */
export function useExpectations(): ExpectationsController {
  const [sets, setSets] = useState<ExpectationSet[]>([]);
  const [pastedCount, setPastedCount] = useState(0);

  const add = useCallback((added: readonly ExpectationSet[]) => {
    if (added.length > 0) setSets((current) => [...current, ...added]);
  }, []);

  const addPasted = useCallback(
    (text: string) => {
      const set = parseExpectations(`pasted text ${pastedCount + 1}`, text);
      setPastedCount(pastedCount + 1);
      setSets((current) => [...current, set]);
      return set;
    },
    [pastedCount],
  );

  const remove = useCallback((index: number) => setSets((current) => current.filter((_, position) => position !== index)), []);
  const clear = useCallback(() => setSets([]), []);

  return { sets, add, addPasted, remove, clear };
}
