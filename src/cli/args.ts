import { parseArgs } from 'node:util';
import { REPORT_FORMATS, type ReportFormat } from '../report/render.ts';
import { SEVERITIES, type Severity } from '../report/types.ts';

export const OUTPUT_FORMATS = REPORT_FORMATS;
export type OutputFormat = ReportFormat;

export interface ScanCommand {
  command: 'scan';
  paths: string[];
  format: OutputFormat;
  /** Exit 1 when a finding is at least this severe; null never fails. */
  failOn: Severity | null;
  output: string | null;
  /** Expectation files (`--expect`, repeatable): hashes to compare the scanned files with. */
  expect: string[];
}

export type CliCommand = ScanCommand | { command: 'help' } | { command: 'version' };

export const USAGE = `Usage: preflight scan PATH... [options]

Inspect model files (and folders, recursively) without loading them.

Options:
  --format FORMAT        text (default), json (the Report), sarif (code scanning),
                         cyclonedx (ML-BOM), markdown (for a pull request) or
                         html (a self-contained page)
  --fail-on SEVERITY     exit 1 when a finding is at least this severe:
                         critical, high, medium, low, info or none (default: high)
  --output FILE          write the report to FILE instead of standard output
  --expect FILE          compare the files' SHA-256 with FILE: a pasted hash, a
                         SHA256SUMS listing, a Git LFS pointer, a Hugging Face
                         file listing (JSON) or a model-signing bundle
                         (model.sig, read but not verified); repeatable
  -h, --help             show this help
  -v, --version          show the version

Exit codes: 0 nothing reached --fail-on, 1 something did or a SHA-256 differs
from an --expect file (whatever --fail-on says), 2 usage or I/O error or an
--expect file that cannot be read.
`;

export class UsageError extends Error {}

/** Parse argv (without `node` and the script); throws UsageError with a message for the user. */
export function parseCommandLine(argv: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', default: 'text' },
        'fail-on': { type: 'string', default: 'high' },
        output: { type: 'string' },
        expect: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  const [command, ...paths] = positionals;
  if (command !== 'scan') {
    throw new UsageError(command ? `unknown command "${command}"` : 'missing command');
  }
  if (paths.length === 0) throw new UsageError('scan needs at least one PATH');
  const format = values.format as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, not "${values.format}"`);
  }
  const failOn = values['fail-on'];
  if (failOn !== 'none' && !SEVERITIES.includes(failOn as Severity)) {
    throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')} or none, not "${failOn}"`);
  }
  return {
    command: 'scan',
    paths,
    format,
    failOn: failOn === 'none' ? null : (failOn as Severity),
    output: values.output ?? null,
    expect: values.expect ?? [],
  };
}
