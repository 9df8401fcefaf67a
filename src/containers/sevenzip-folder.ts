/**
 * Decoding one 7z folder: its coder graph, when it is a chain Preflight can
 * decode (Copy, LZMA, LZMA2, then BCJ x86 and delta filters), composed into
 * one push/finish stream decoder from packed bytes to the folder's output.
 * Spec: 7zFormat.txt (folders, bind pairs), Methods.txt (ids and properties).
 *
 * Threat surface: the graph is attacker-chosen (loops, dangling streams,
 * several packed streams); anything but a linear chain of one-in/one-out
 * coders fed by one packed stream is reported as not decodable, naming the
 * methods, rather than guessed at. Coder properties are checked here (LZMA
 * needs 5 bytes, LZMA2 1, delta 1); the decoders bound memory and output.
 */
import { createBcjX86Decoder, type ByteFilter } from '../compression/bcj.ts';
import { createDeltaDecoder, decodeDeltaDistance } from '../compression/delta.ts';
import { type StreamDecoder, type StreamStatus, createLzmaDecoder } from '../compression/lzma.ts';
import { createLzma2Decoder, decodeLzma2DictionarySize } from '../compression/lzma2.ts';
import { ParseError } from '../io/parse-error.ts';
import { type SevenZipCoder, type SevenZipFolderInfo, folderUnpackSize } from './sevenzip-header.ts';

/** The methods this reader decodes, by id. */
const DECODABLE_METHODS: Record<string, 'copy' | 'lzma' | 'lzma2' | 'bcj-x86' | 'delta'> = {
  '00': 'copy',
  '030101': 'lzma',
  '21': 'lzma2',
  '03030103': 'bcj-x86',
  '04': 'bcj-x86',
  '03': 'delta',
};

/** One coder of a decodable chain, packed side first. */
export interface FolderStep {
  coder: SevenZipCoder;
  kind: (typeof DECODABLE_METHODS)[string];
  /** Decoded size this coder's output stream declares. */
  outputSize: number;
}

export type FolderPlan = { decodable: true; steps: FolderStep[] } | { decodable: false; reason: string; methods: string[] };

/**
 * Walk the folder from its main output back to its packed stream: each coder
 * must have one input and one output, and the input must be either bound to
 * the next coder's output or the folder's single packed stream.
 */
export function planFolder(folder: SevenZipFolderInfo): FolderPlan {
  const methods = folder.coders.map((coder) => coder.method);
  const unsupported = folder.coders.filter((coder) => !DECODABLE_METHODS[coder.methodId]);
  if (unsupported.length > 0) {
    return { decodable: false, reason: `uses ${unsupported.map((coder) => coder.method).join(', ')}`, methods };
  }
  if (folder.coders.some((coder) => coder.inStreams !== 1 || coder.outStreams !== 1) || folder.packedInStreams.length !== 1) {
    return { decodable: false, reason: 'has a coder graph with several streams per coder', methods };
  }
  // With one stream per coder, coder i has input i and output i.
  const steps: FolderStep[] = [];
  const visited = new Set<number>();
  let coderIndex = folder.mainOutStream;
  for (;;) {
    if (visited.has(coderIndex) || coderIndex >= folder.coders.length) {
      return { decodable: false, reason: 'has a coder graph that loops or points outside the folder', methods };
    }
    visited.add(coderIndex);
    const coder = folder.coders[coderIndex];
    steps.unshift({ coder, kind: DECODABLE_METHODS[coder.methodId], outputSize: folder.unpackSizes[coderIndex] ?? 0 });
    const bound = folder.bindPairs.find((pair) => pair.inIndex === coderIndex);
    if (!bound) break;
    coderIndex = bound.outIndex;
  }
  // The chain ends at the coder whose input is not bound: it must be the folder's packed stream, and every coder must be on the chain.
  if (visited.size !== folder.coders.length || folder.packedInStreams[0] !== coderIndex) {
    return { decodable: false, reason: 'has coders that are not on the chain to its packed stream', methods };
  }
  if (steps.slice(1).some((step) => step.kind === 'copy' || step.kind === 'lzma' || step.kind === 'lzma2')) {
    return { decodable: false, reason: 'chains a compressor after another coder', methods };
  }
  return { decodable: true, steps };
}

export interface FolderDecoderOptions {
  /** Hard cap on decoded bytes of the folder. */
  maxOutputBytes: number;
  /** Largest LZMA dictionary allocated (default from lzma.ts). */
  maxDictionaryBytes?: number;
  /** Absolute offset of the packed stream, for error offsets. */
  packOffset: number;
}

/** A push/finish decoder from the folder's packed bytes to its decoded bytes (see StreamDecoder). */
export function createFolderDecoder(folder: SevenZipFolderInfo, steps: FolderStep[], options: FolderDecoderOptions): StreamDecoder {
  const cap = Math.min(options.maxOutputBytes, folderUnpackSize(folder));
  const decoders = steps.map((step, index) => createStepDecoder(step, index === 0 ? options.packOffset : 0, options, cap));
  const first = decoders[0];

  function* through(index: number, input: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (index === decoders.length) {
      if (input.length > 0) yield input;
      return;
    }
    for (const piece of decoders[index].push(input)) yield* through(index + 1, piece);
  }

  return {
    get inputBytes() {
      return first.inputBytes;
    },
    get outputBytes() {
      return decoders[decoders.length - 1].outputBytes;
    },
    get status(): StreamStatus {
      return first.status;
    },
    get trailingBytes() {
      return first.trailingBytes;
    },
    get unusedInput() {
      return first.unusedInput;
    },
    get memoryBytes() {
      return decoders.reduce((sum, decoder) => sum + (decoder.memoryBytes ?? 0), 0);
    },
    *push(input) {
      yield* through(0, input);
    },
    *finish() {
      for (let index = 0; index < decoders.length; index++) {
        for (const piece of decoders[index].finish()) yield* through(index + 1, piece);
      }
    },
  };
}

function createStepDecoder(step: FolderStep, inputOffset: number, options: FolderDecoderOptions, cap: number): StreamDecoder {
  const properties = Uint8Array.from(step.coder.properties);
  const maxOutputBytes = Math.min(cap, step.outputSize);
  switch (step.kind) {
    case 'lzma': {
      if (properties.length < 5) {
        throw new ParseError('compression.properties-invalid', inputOffset, `LZMA coder properties are ${properties.length} bytes; 5 are needed`);
      }
      const dictionarySize = (properties[1] | (properties[2] << 8) | (properties[3] << 16) | (properties[4] << 24)) >>> 0;
      return createLzmaDecoder({
        properties: properties[0],
        dictionarySize,
        uncompressedSize: step.outputSize,
        maxOutputBytes,
        maxDictionaryBytes: options.maxDictionaryBytes,
        inputOffset,
      });
    }
    case 'lzma2': {
      if (properties.length < 1) {
        throw new ParseError('compression.properties-invalid', inputOffset, 'LZMA2 coder has no dictionary-size property');
      }
      return createLzma2Decoder({
        dictionarySize: decodeLzma2DictionarySize(properties[0], inputOffset),
        uncompressedSize: step.outputSize,
        maxOutputBytes,
        maxDictionaryBytes: options.maxDictionaryBytes,
        inputOffset,
      });
    }
    case 'bcj-x86':
      if (properties.length !== 0 && properties.length !== 4) {
        throw new ParseError('compression.properties-invalid', inputOffset, `BCJ coder properties are ${properties.length} bytes; 0 or 4 are allowed`);
      }
      return filterAsDecoder(createBcjX86Decoder(properties.length === 4 ? new DataView(properties.buffer).getUint32(0, true) : 0), maxOutputBytes);
    case 'delta':
      return filterAsDecoder(createDeltaDecoder(decodeDeltaDistance(properties, inputOffset)), maxOutputBytes);
    default:
      return filterAsDecoder({ push: (input) => input, finish: () => new Uint8Array(0) }, maxOutputBytes, step.outputSize);
  }
}

/**
 * A byte filter (or the Copy method) as a StreamDecoder: output is cut at
 * `limit`; with `declaredSize` (Copy), reaching it ends the stream.
 */
function filterAsDecoder(filter: ByteFilter, limit: number, declaredSize?: number): StreamDecoder {
  let inputBytes = 0;
  let outputBytes = 0;
  let status: StreamStatus = 'running';
  let trailingBytes = 0;
  let unusedInput: Uint8Array = new Uint8Array(0);

  function* emit(bytes: Uint8Array, consumed: number): Generator<Uint8Array, void, undefined> {
    const room = limit - outputBytes;
    if (bytes.length >= room) {
      const piece = bytes.subarray(0, room);
      outputBytes += piece.length;
      status = declaredSize !== undefined && outputBytes >= declaredSize ? 'ended' : 'limit';
      // For Copy, input and output are the same bytes: what was not output is unused.
      if (declaredSize !== undefined) {
        unusedInput = bytes.subarray(room);
        trailingBytes += Math.max(0, consumed - room);
      }
      if (piece.length > 0) yield piece;
      return;
    }
    outputBytes += bytes.length;
    if (bytes.length > 0) yield bytes;
  }

  return {
    get inputBytes() {
      return inputBytes;
    },
    get outputBytes() {
      return outputBytes;
    },
    get status() {
      return status;
    },
    get trailingBytes() {
      return trailingBytes;
    },
    get unusedInput() {
      return unusedInput;
    },
    /** Filters keep at most one output piece; their buffers are not worth charging. */
    memoryBytes: 0,
    *push(input) {
      inputBytes += input.length;
      if (status !== 'running') {
        trailingBytes += input.length;
        return;
      }
      yield* emit(filter.push(input), input.length);
    },
    *finish() {
      if (status !== 'running') return;
      yield* emit(filter.finish(), 0);
      if (status === 'running') status = 'ended';
    },
  };
}
