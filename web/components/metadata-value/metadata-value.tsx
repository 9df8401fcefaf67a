import type { MetadataArraySummary, MetadataValue as Value } from '../../../src/report/types.ts';
import { formatInteger } from '../../lib/format.ts';
import { VisibleText } from '../visible-text/visible-text.tsx';

/** Strings up to this length, on one line, are shown inline; longer ones collapse. */
const INLINE_STRING_CHARS = 160;
/** Characters shown when a long string is expanded; the JSON report has the rest. */
const MAX_EXPANDED_CHARS = 200_000;
/** Items shown for an array (a GGUF vocabulary has 150,000). */
const ARRAY_HEAD_ITEMS = 8;
/** Nested objects past this depth are shown as a count only. */
const MAX_NESTING = 4;

/** One metadata value as text: scalars inline, long strings collapsible, arrays as `type[length]` with their first items. */
export function MetadataValue({ value, depth = 0 }: { value: Value; depth?: number }) {
  if (typeof value === 'string') return <StringValue text={value} />;
  if (value === null || typeof value !== 'object') {
    return <code class={`meta-scalar meta-scalar--${value === null ? 'null' : typeof value}`}>{String(value)}</code>;
  }
  if (Array.isArray(value)) return <ArrayValue itemType={itemTypeOf(value)} length={value.length} head={value.slice(0, ARRAY_HEAD_ITEMS)} />;
  if (isArraySummary(value)) return <ArrayValue itemType={value.itemType} length={value.length} head={value.head.slice(0, ARRAY_HEAD_ITEMS)} />;
  return <ObjectValue value={value} depth={depth} />;
}

function StringValue({ text }: { text: string }) {
  if (text.length <= INLINE_STRING_CHARS && !text.includes('\n')) {
    return (
      <span class="meta-string">
        <VisibleText text={text} />
      </span>
    );
  }
  const lines = text.split('\n', 100_001).length;
  const firstLine = text.slice(0, INLINE_STRING_CHARS).split('\n')[0];
  const shown = text.length > MAX_EXPANDED_CHARS ? text.slice(0, MAX_EXPANDED_CHARS) : text;
  return (
    <details class="meta-long">
      <summary>
        <span class="meta-string">
          <VisibleText text={firstLine} />…
        </span>{' '}
        <span class="muted">
          ({formatInteger(text.length)} characters, {lines > 100_000 ? 'over 100,000' : formatInteger(lines)} lines)
        </span>
      </summary>
      <pre class="meta-long__text">
        <VisibleText text={shown} />
      </pre>
      {shown.length < text.length ? (
        <p class="muted">
          First {formatInteger(shown.length)} characters shown; the JSON report has all of it.
        </p>
      ) : null}
    </details>
  );
}

function ArrayValue({ itemType, length, head }: { itemType: string; length: number; head: Value[] }) {
  return (
    <span class="meta-array">
      <code class="meta-array__type">
        {itemType}[{length}]
      </code>
      {head.length > 0 ? (
        <span class="meta-array__head">
          {' '}
          {head.map((item, index) => (
            <span key={index}>
              {index > 0 ? ', ' : ''}
              <code>{typeof item === 'string' ? JSON.stringify(item) : previewScalar(item)}</code>
            </span>
          ))}
          {length > head.length ? ', …' : ''}
        </span>
      ) : null}
    </span>
  );
}

function ObjectValue({ value, depth }: { value: { [key: string]: Value }; depth: number }) {
  const keys = Object.keys(value);
  if (depth >= MAX_NESTING) return <span class="muted">object with {keys.length} keys</span>;
  return (
    <dl class="meta-object">
      {keys.slice(0, 100).map((key) => (
        <div key={key} class="meta-object__entry">
          <dt>
            <VisibleText text={key} />
          </dt>
          <dd>
            <MetadataValue value={value[key]} depth={depth + 1} />
          </dd>
        </div>
      ))}
      {keys.length > 100 ? <div class="muted">… and {keys.length - 100} more keys (in the JSON report)</div> : null}
    </dl>
  );
}

function isArraySummary(value: object): value is MetadataArraySummary {
  const candidate = value as Partial<MetadataArraySummary>;
  return candidate.summary === 'array' && typeof candidate.length === 'number' && Array.isArray(candidate.head);
}

function itemTypeOf(items: Value[]): string {
  const types = new Set(items.map((item) => (item === null ? 'null' : Array.isArray(item) ? 'array' : typeof item)));
  return types.size === 1 ? [...types][0] : types.size === 0 ? 'empty' : 'mixed';
}

/** Array items are shown on one line: JSON, cut short. */
function previewScalar(item: Value): string {
  const json = JSON.stringify(item) ?? String(item);
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}
