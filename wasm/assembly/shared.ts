/**
 * Numbers shared by the AssemblyScript pickle machine and its TypeScript
 * decoder (STYLE.md §6). Both compilers read this file, so it holds nothing
 * but integer constants: opcode bytes, record layout, record kinds, value
 * kinds, flags, error and limit codes. Changing a number here changes both
 * sides at once.
 */

// Opcode bytes of pickle protocols 0 to 5 (CPython Lib/pickletools.py).
export const OP_MARK = 0x28;
export const OP_STOP = 0x2e;
export const OP_POP = 0x30;
export const OP_POP_MARK = 0x31;
export const OP_DUP = 0x32;
export const OP_FLOAT = 0x46;
export const OP_INT = 0x49;
export const OP_BININT = 0x4a;
export const OP_BININT1 = 0x4b;
export const OP_LONG = 0x4c;
export const OP_BININT2 = 0x4d;
export const OP_NONE = 0x4e;
export const OP_PERSID = 0x50;
export const OP_BINPERSID = 0x51;
export const OP_REDUCE = 0x52;
export const OP_STRING = 0x53;
export const OP_BINSTRING = 0x54;
export const OP_SHORT_BINSTRING = 0x55;
export const OP_UNICODE = 0x56;
export const OP_BINUNICODE = 0x58;
export const OP_APPEND = 0x61;
export const OP_BUILD = 0x62;
export const OP_GLOBAL = 0x63;
export const OP_DICT = 0x64;
export const OP_EMPTY_DICT = 0x7d;
export const OP_APPENDS = 0x65;
export const OP_GET = 0x67;
export const OP_BINGET = 0x68;
export const OP_INST = 0x69;
export const OP_LONG_BINGET = 0x6a;
export const OP_LIST = 0x6c;
export const OP_EMPTY_LIST = 0x5d;
export const OP_OBJ = 0x6f;
export const OP_PUT = 0x70;
export const OP_BINPUT = 0x71;
export const OP_LONG_BINPUT = 0x72;
export const OP_SETITEM = 0x73;
export const OP_TUPLE = 0x74;
export const OP_EMPTY_TUPLE = 0x29;
export const OP_SETITEMS = 0x75;
export const OP_BINFLOAT = 0x47;
export const OP_PROTO = 0x80;
export const OP_NEWOBJ = 0x81;
export const OP_EXT1 = 0x82;
export const OP_EXT2 = 0x83;
export const OP_EXT4 = 0x84;
export const OP_TUPLE1 = 0x85;
export const OP_TUPLE2 = 0x86;
export const OP_TUPLE3 = 0x87;
export const OP_NEWTRUE = 0x88;
export const OP_NEWFALSE = 0x89;
export const OP_LONG1 = 0x8a;
export const OP_LONG4 = 0x8b;
export const OP_BINBYTES = 0x42;
export const OP_SHORT_BINBYTES = 0x43;
export const OP_SHORT_BINUNICODE = 0x8c;
export const OP_BINUNICODE8 = 0x8d;
export const OP_BINBYTES8 = 0x8e;
export const OP_EMPTY_SET = 0x8f;
export const OP_ADDITEMS = 0x90;
export const OP_FROZENSET = 0x91;
export const OP_NEWOBJ_EX = 0x92;
export const OP_STACK_GLOBAL = 0x93;
export const OP_MEMOIZE = 0x94;
export const OP_FRAME = 0x95;
export const OP_BYTEARRAY8 = 0x96;
export const OP_NEXT_BUFFER = 0x97;
export const OP_READONLY_BUFFER = 0x98;

/** Highest protocol CPython understands; PROTO above it fails to load. */
export const HIGHEST_PROTOCOL = 5;

// Record layout: every record is RECORD_FIELDS float64 values.
export const RECORD_FIELDS = 16;
export const RECORD_BYTES = 128;
/** Field indexes common to every record. */
export const F_KIND = 0;
export const F_OPCODE = 1;
/** Stream offset (relative to the first pushed byte) of the opcode or value. */
export const F_OFFSET = 2;
export const F_PICKLE = 3;
/** Bit set of RF_* flags. */
export const F_FLAGS = 4;
/** First kind-specific field; see each RK_* for the meaning of F_A … F_K. */
export const F_A = 5;
export const F_B = 6;
export const F_C = 7;
export const F_D = 8;
export const F_E = 9;
export const F_F = 10;
export const F_G = 11;
export const F_H = 12;
export const F_I = 13;
export const F_J = 14;
export const F_K = 15;

/** Common record flag: an earlier error means CPython would have stopped before this. */
export const RF_AFTER_ERROR = 1;
/** Common record flag: a limit made the symbolic state approximate before this. */
export const RF_DEGRADED = 2;

// Record kinds.
/** First opcode of a pickle. */
export const RK_PICKLE_START = 1;
/** PROTO. A = version. */
export const RK_PROTO = 2;
/** FRAME, emitted when the frame closes. A = declared length, B = FRAME_* flags, C = offset of the first framed byte. */
export const RK_FRAME = 3;
/**
 * An import. A = module string ref, B = name string ref (-1 when unknown),
 * C = import ordinal, D = protocol in effect, E = value kind of the module
 * operand, F = value kind of the name operand, G = extension code (EXT*, else -1),
 * H = IMPORT_* flags, I = ordinal of the module operand (call/persistent/…, else -1),
 * J = ordinal of the name operand.
 */
export const RK_IMPORT = 4;
/**
 * A call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD). A = call ordinal,
 * B = number of top-level RK_VALUE records that follow (callee, args[, kwargs]),
 * C = module string ref of the resolved callable (-1), D = its name ref (-1).
 */
export const RK_CALL = 5;
/**
 * A value that belongs to the preceding RK_CALL, RK_PERSID, RK_STOP. Values come
 * in pre-order: a tuple is followed by its H children. A = depth, B = value kind,
 * C = x, D = y, E = string ref 1, F = string ref 2, G = VF_* flags, H = children
 * emitted, I = auxiliary ordinal. See VK_* for x/y per kind.
 */
export const RK_VALUE = 6;
/** PERSID/BINPERSID. A = persistent ordinal, B = number of top-level values (1: the id). */
export const RK_PERSID = 7;
/** STOP. A = number of top-level values (1: the result, 0 on underflow). */
export const RK_STOP = 8;
/** A malformation where CPython fails. A = ERR_* code, B and C = observed values (see the code). */
export const RK_ERROR = 9;
/** A limit of this machine was reached. A = LIMIT_* code, B = observed, C = limit. */
export const RK_LIMIT = 10;
/** Bytes after a STOP that do not start a pickle. A = first byte. */
export const RK_TRAILING = 11;
/**
 * SETITEM/SETITEMS with a string key and a traceable value, for naming tensors.
 * A = container kind, B = container ordinal, C = key string ref, D = key
 * payload offset, E = value kind, F = value ordinal, G = key byte length.
 */
export const RK_DICT_ENTRY = 12;
/** The machine stopped reading: A = HALT_* reason. */
export const RK_HALT = 13;

// Value kinds (symbolic stack items).
export const VK_EMPTY = 0;
/** x = UNKNOWN_* reason. */
export const VK_UNKNOWN = 1;
export const VK_NONE = 2;
/** x = 0 or 1. */
export const VK_BOOL = 3;
/** x = value (exact unless VF_INEXACT). */
export const VK_INT = 4;
/** x = value (NaN when the text form was not decoded). */
export const VK_FLOAT = 5;
/** x = payload offset, y = byte length, string ref 1 = kept text. */
export const VK_STRING = 6;
/** x = payload offset, y = byte length. */
export const VK_BYTES = 7;
export const VK_BYTEARRAY = 8;
/** y = length; children follow. */
export const VK_TUPLE = 9;
/** x = container ordinal. */
export const VK_LIST = 10;
/** x = container ordinal, y = pairs set so far; its kept pairs follow as 2·H children (key, value, …). */
export const VK_DICT = 11;
export const VK_SET = 12;
export const VK_FROZENSET = 13;
/** x = import ordinal, string refs = module, name (VF_UNRESOLVED when not literal). */
export const VK_GLOBAL = 14;
/** x = call ordinal, string refs = callable module, name when it was a resolved import. */
export const VK_CALL = 15;
/** x = persistent ordinal. */
export const VK_PERSISTENT = 16;
/** x = extension code, y = import ordinal. */
export const VK_EXTENSION = 17;
/** x = buffer ordinal (NEXT_BUFFER). */
export const VK_BUFFER = 18;

// Value flags.
export const VF_NOT_KEPT = 1;
export const VF_TRUNCATED = 2;
export const VF_INEXACT = 4;
export const VF_UNRESOLVED = 8;
/** Further children of this tuple were not emitted (depth or count limit). */
export const VF_CHILDREN_CUT = 16;

// Reasons for VK_UNKNOWN (in x).
export const UNKNOWN_STACK_LIMIT = 1;
export const UNKNOWN_MEMO_LIMIT = 2;
export const UNKNOWN_MEMO_KEY_TEXT = 3;
export const UNKNOWN_MEMO_MISSING = 4;
export const UNKNOWN_UNDERFLOW = 5;

// String encodings (how TypeScript turns kept bytes into text).
export const ENC_UTF8 = 1;
/** ASCII/Latin-1 (INST lines, PERSID). */
export const ENC_LATIN1 = 2;
/** BINSTRING/SHORT_BINSTRING: bytes that the Unpickler decodes with its `encoding`. */
export const ENC_PY2_BYTES = 3;
/** STRING: a quoted Python 2 literal with backslash escapes, kept with its quotes. */
export const ENC_STRING_ESCAPE = 4;
/** UNICODE: raw-unicode-escape. */
export const ENC_RAW_UNICODE_ESCAPE = 5;

// Record string flags.
export const SF_TRUNCATED = 1;

// Import flags.
export const IMPORT_MODULE_TRUNCATED = 1;
export const IMPORT_NAME_TRUNCATED = 2;
export const IMPORT_MODULE_NOT_KEPT = 4;
export const IMPORT_NAME_NOT_KEPT = 8;

// Frame flags (disagreements with CPython's framing, Lib/pickle.py _Unframer).
/** A read (opcode, argument, payload or line) starts inside the frame and ends after it. */
export const FRAME_STRADDLED = 1;
/** A FRAME opcode appeared before the current frame was exhausted. */
export const FRAME_NESTED = 2;
/** The stream ended before the declared frame length. */
export const FRAME_TRUNCATED = 4;
/** STOP came before the end of the frame; CPython skips the rest of the frame. */
export const FRAME_STOP_INSIDE = 8;

// Error codes (RK_ERROR A). B/C hold observed values as noted.
/** B = the byte. Halts. */
export const ERR_UNKNOWN_OPCODE = 1;
/** The stream ended inside an opcode or before STOP. B = bytes missing when known (-1). Halts. */
export const ERR_TRUNCATED = 2;
/** B = protocol. */
export const ERR_UNSUPPORTED_PROTOCOL = 3;
/** B = items needed, C = items available above the mark. */
export const ERR_STACK_UNDERFLOW = 4;
export const ERR_MARK_MISSING = 5;
/** B = memo key. */
export const ERR_MEMO_MISSING = 6;
/** B = declared length. Halts. */
export const ERR_NEGATIVE_LENGTH = 7;
/** Halts. */
export const ERR_LENGTH_OVERFLOW = 8;
/** GLOBAL/INST line empty. */
export const ERR_EMPTY_LINE = 9;
/** GLOBAL line not UTF-8 / INST line not ASCII. */
export const ERR_BAD_TEXT = 10;
export const ERR_STRING_NOT_QUOTED = 11;
/** STACK_GLOBAL operand of a kind that is certainly not str. B = module kind, C = name kind. */
export const ERR_STACK_GLOBAL_TYPE = 12;
/** B = code. */
export const ERR_EXTENSION_CODE = 13;
export const ERR_EMPTY_STREAM = 14;
/** B = declared length, C = bytes available. */
export const ERR_FRAME_TRUNCATED = 15;

// Limit codes (RK_LIMIT A).
export const LIMIT_STACK = 1;
export const LIMIT_MARKS = 2;
export const LIMIT_MEMO = 3;
export const LIMIT_HEAP = 4;
export const LIMIT_DICT_ENTRIES = 5;
export const LIMIT_RECORD_STRINGS = 6;
export const LIMIT_MEMORY = 7;
export const LIMIT_DICT_HEAP = 8;

// Halt reasons (RK_HALT A).
export const HALT_ERROR = 1;
export const HALT_MAX_PICKLES = 2;
export const HALT_TRAILING = 3;

// Machine limits (also read by TypeScript to document them).
/** Stack items whose contents are kept; deeper items are counted only (CWE-770). */
export const MAX_STACK_ITEMS = 65536;
/** Nested MARKs tracked exactly (CWE-770); Python's pickler nests ~1000 deep at most. */
export const MAX_MARKS = 65536;
/** Memo keys tracked (keys ≥ this are counted, values unknown) (CWE-770). */
export const MAX_MEMO_KEY = 1048576;
/** Bytes of strings and tuples kept per pickle for resolving imports and evidence (CWE-770). */
export const MAX_HEAP_BYTES = 67108864;
/** Bytes of one string kept (module names, call arguments); the rest is skipped and flagged. */
export const MAX_KEPT_STRING_BYTES = 1024;
/** Elements of one tuple kept. */
export const MAX_KEPT_TUPLE_ITEMS = 32;
/** Key/value pairs of one literal dict kept (BUILD states, NEWOBJ_EX kwargs). */
export const MAX_KEPT_DICT_PAIRS = 16;
/** Bytes of dict contents kept per pickle, apart from MAX_HEAP_BYTES so dicts never starve strings (CWE-770). */
export const MAX_DICT_HEAP_BYTES = 8388608;
/** Values emitted per call/persistent id/stop (tuple elements included). */
export const MAX_VALUES_PER_RECORD = 64;
/** Tuple nesting emitted per value. */
export const MAX_VALUE_DEPTH = 3;
/** Dict entries recorded for one SETITEMS. */
export const MAX_DICT_ENTRIES_PER_OPCODE = 1024;
/** Bytes of a dict key recorded with a dict entry. */
export const MAX_DICT_KEY_BYTES = 256;
/** Bytes of the "pause after BUILD of" name list TypeScript may write (see `setBuildPauses`). */
export const PAUSE_NAMES_BYTES = 4096;
/** `feed`/`resume` result: the window is consumed. */
export const RUN_DONE = 0;
/** `feed`/`resume` result: drain the records, then `resume`. */
export const RUN_DRAIN = 1;
/** `feed`/`resume` result: a BUILD listed with `setBuildPauses` just ran; drain, call `skipRaw`, then `resume`. */
export const RUN_PAUSED_AFTER_BUILD = 2;
/** Bytes copied into the machine per call (TypeScript fills the window). */
export const INPUT_WINDOW_BYTES = 524288;
/** Records buffered before TypeScript must drain them. */
export const RECORD_CAPACITY = 4096;
export const RECORD_STRINGS_BYTES = 1048576;
