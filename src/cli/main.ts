import { writeFile } from 'node:fs/promises';
import { createNodeSha256 } from '../hash/node-sha256.ts';
import { analyzeModelFolders } from '../folder/analyze.ts';
import { createNodeFileSource } from '../io/node-source.ts';
import { compareProvenance, provenanceFails } from '../provenance/index.ts';
import { loadExpectationFiles } from '../provenance/node-expectation-files.ts';
import { TOOL, createReport } from '../report/report.ts';
import { renderReport } from '../report/render.ts';
import { printable } from '../report/text.ts';
import { SEVERITIES, type FileReport, type Report, type Severity } from '../report/types.ts';
import { scanSource } from '../scan.ts';
import { type ScanCommand, USAGE, UsageError, parseCommandLine } from './args.ts';
import { walkPaths } from './walk.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stderrIsTty?: boolean;
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE_OR_IO = 2;

/** `preflight …`: returns the exit code instead of exiting, so tests can call it. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`preflight: ${error.message}\n\n${USAGE}`);
    return EXIT_USAGE_OR_IO;
  }
  if (command.command === 'help') {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (command.command === 'version') {
    io.stdout(`${TOOL.name} ${TOOL.version}\n`);
    return EXIT_OK;
  }
  return runScan(command, io);
}

async function runScan(command: ScanCommand, io: CliIo): Promise<number> {
  const expectations = await loadExpectationFiles(command.expect);
  for (const error of expectations.errors) io.stderr(`preflight: --expect ${printable(error)}\n`);
  if (expectations.errors.length > 0) return EXIT_USAGE_OR_IO;

  let walked;
  try {
    walked = await walkPaths(command.paths);
  } catch (error) {
    io.stderr(`preflight: ${(error as Error).message}\n`);
    return EXIT_USAGE_OR_IO;
  }
  for (const note of walked.notes) io.stderr(`preflight: ${note}\n`);

  const files: FileReport[] = [];
  let ioFailed = false;
  for (const file of walked.files) {
    try {
      const source = await createNodeFileSource(file.path, file.displayPath);
      files.push(await scanSource(source, { createSha256: createNodeSha256, onProgress: progressPrinter(io, file.displayPath) }));
    } catch (error) {
      ioFailed = true;
      io.stderr(`preflight: ${file.displayPath}: ${(error as Error).message}\n`);
    }
  }
  if (io.stderrIsTty) io.stderr('\r\u001b[K');

  const report: Report = createReport(files);
  report.models = analyzeModelFolders(files, { symlinks: walked.symlinks });
  if (command.expect.length > 0) report.provenance = compareProvenance(files, expectations.sets);
  const rendered = renderReport(report, command.format);
  if (command.output) {
    try {
      await writeFile(command.output, rendered);
    } catch (error) {
      io.stderr(`preflight: cannot write ${command.output}: ${(error as Error).message}\n`);
      return EXIT_USAGE_OR_IO;
    }
  } else {
    io.stdout(rendered);
  }
  if (ioFailed) return EXIT_USAGE_OR_IO;
  if (report.provenance && provenanceFails(report.provenance)) return EXIT_FINDINGS;
  return reachesThreshold(report, command.failOn) ? EXIT_FINDINGS : EXIT_OK;
}

/** True when some finding is at least as severe as `failOn`. */
export function reachesThreshold(report: Report, failOn: Severity | null): boolean {
  if (failOn === null) return false;
  const limit = SEVERITIES.indexOf(failOn);
  const severeEnough = (findings: readonly { severity: Severity }[]) => findings.some((finding) => SEVERITIES.indexOf(finding.severity) <= limit);
  return report.files.some((file) => severeEnough(file.findings)) || (report.models ?? []).some((model) => severeEnough(model.findings));
}

function progressPrinter(io: CliIo, path: string) {
  if (!io.stderrIsTty) return undefined;
  return ({ bytesDone, bytesTotal }: { bytesDone: number; bytesTotal: number }) => {
    const percent = bytesTotal > 0 ? Math.floor((bytesDone / bytesTotal) * 100) : 100;
    io.stderr(`\r\u001b[K${percent}% ${path}`);
  };
}
