import { ZIP_FLAG } from './zip-records.ts';

/**
 * Zip entry names: decoding and the checks that matter to a scanner. Names
 * are bytes: UTF-8 when flag bit 11 is set, IBM code page 437 otherwise (as
 * Python's zipfile decodes them; PyTorch compares raw bytes, which gives the
 * same answer for the ASCII names it writes).
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Code page 437, bytes 0x80–0xFF; 0x00–0x7F are ASCII. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

export function decodeCp437(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return text;
}

/** Decode a name or comment field the way Python's zipfile does. */
export function decodeZipText(bytes: Uint8Array, flags: number): string {
  return flags & ZIP_FLAG.utf8 ? utf8.decode(bytes) : decodeCp437(bytes);
}

/** True when both byte strings are equal. */
export function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** Why a name would escape an extraction folder, or null. */
export function traversalReason(name: string): string | null {
  if (name.startsWith('/') || name.startsWith('\\')) return 'it is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'it starts with a drive letter';
  if (name.split(/[\\/]/).includes('..')) return 'it climbs out with ".."';
  return null;
}

/** Characters that make readers disagree on a name, or null. */
export function unusualNameReason(name: string): string | null {
  const reasons: string[] = [];
  if (name.includes('\0')) reasons.push('a NUL byte (Python cuts the name there)');
  if (/[\u0001-\u001f\u007f]/.test(name)) reasons.push('control characters');
  if (name.includes('\\')) reasons.push('backslashes (folder separators on Windows)');
  return reasons.length > 0 ? reasons.join(', ') : null;
}

/** A name safe to show on one line of a report: quoted, control characters escaped. */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}
