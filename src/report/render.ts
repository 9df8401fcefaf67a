import { formatProvenanceText } from '../provenance/text.ts';
import { toCycloneDx } from './cyclonedx.ts';
import { renderHtmlReport } from './html.ts';
import { renderMarkdownReport } from './markdown.ts';
import { toSarif } from './sarif.ts';
import { formatReportText } from './text.ts';
import type { Report } from './types.ts';

/** Every way a Report can be written out, by the name the CLI's --format and the page's downloads use. */
export const REPORT_RENDERERS = {
  text: (report: Report) => formatReportText(report) + (report.provenance ? `\n${formatProvenanceText(report.provenance)}` : ''),
  json: (report: Report) => `${JSON.stringify(report, null, 2)}\n`,
  sarif: (report: Report) => `${JSON.stringify(toSarif(report), null, 2)}\n`,
  cyclonedx: (report: Report) => `${JSON.stringify(toCycloneDx(report), null, 2)}\n`,
  markdown: renderMarkdownReport,
  html: renderHtmlReport,
} as const satisfies Record<string, (report: Report) => string>;

export type ReportFormat = keyof typeof REPORT_RENDERERS;

export const REPORT_FORMATS = Object.keys(REPORT_RENDERERS) as ReportFormat[];

/** File name extension and media type of each written form, for downloads and `--output`. */
export const REPORT_FILE_TYPES: Record<ReportFormat, { extension: string; mediaType: string }> = {
  text: { extension: '.txt', mediaType: 'text/plain' },
  json: { extension: '.json', mediaType: 'application/json' },
  sarif: { extension: '.sarif', mediaType: 'application/sarif+json' },
  cyclonedx: { extension: '.cdx.json', mediaType: 'application/vnd.cyclonedx+json' },
  markdown: { extension: '.md', mediaType: 'text/markdown' },
  html: { extension: '.html', mediaType: 'text/html' },
};

export function renderReport(report: Report, format: ReportFormat): string {
  return REPORT_RENDERERS[format](report);
}
