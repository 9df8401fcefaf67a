/**
 * Number and size formatting for the UI. One fixed locale, so what a person
 * reads, pastes into a ticket and sees in a screenshot is the same everywhere.
 */

const LOCALE = 'en-US';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(LOCALE, { maximumSignificantDigits: 3 });

/** `1234567` → `1,234,567`. */
export function formatInteger(value: number): string {
  return integer.format(value);
}

/** `1 tensor`, `20,000 tensors` (regular plurals only). */
export function formatCount(count: number, noun: string): string {
  return `${integer.format(count)} ${noun}${count === 1 ? '' : 's'}`;
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Decimal units, as model hubs show them: `1234567` → `1.23 MB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return String(bytes);
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${compact.format(value)} ${BYTE_UNITS[unit]}`;
}

const PARAMETER_UNITS: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'K'],
];

/** Model-card style parameter counts: `7241732096` → `7.24 B`. */
export function formatParameters(count: number): string {
  for (const [scale, suffix] of PARAMETER_UNITS) {
    if (count >= scale) return `${compact.format(count / scale)} ${suffix}`;
  }
  return integer.format(count);
}

/** `419` → `0x1A3`. */
export function formatHex(value: number): string {
  return `0x${value.toString(16).toUpperCase()}`;
}

/** How a byte offset is shown everywhere: `offset 0x1A3 (419)`. */
export function formatOffset(offset: number): string {
  return `offset ${formatHex(offset)} (${integer.format(offset)})`;
}

/** `[4096, 11008]`; a scalar is `[]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** `850 MB/s`. */
export function formatThroughput(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Rough remaining time: `4 s`, `2 min 05 s`, `1 h 02 min`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** An ISO 8601 UTC time as `2025-03-04 05:06:07 UTC`; anything else is returned as it is (it may come from a shared link). */
export function formatUtcTimestamp(value: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(value);
  return match ? `${match[1]} ${match[2]} UTC` : value;
}
