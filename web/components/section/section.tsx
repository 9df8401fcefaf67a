import type { ComponentChildren } from 'preact';

interface SectionProps {
  title: string;
  /** Short text after the title, e.g. a count. */
  aside?: ComponentChildren;
  open?: boolean;
  testId?: string;
  children: ComponentChildren;
}

/** A collapsible part of a file card; native <details>, so it needs no script to be accessible. */
export function Section({ title, aside, open = true, testId, children }: SectionProps) {
  return (
    <details class="section" open={open} data-testid={testId}>
      <summary class="section__summary">
        <span class="section__title">{title}</span>
        {aside !== undefined ? <span class="section__aside">{aside}</span> : null}
      </summary>
      <div class="section__body">{children}</div>
    </details>
  );
}
