import { commandLine } from '../command-line.js';
import type { IngestProgress } from './progress.js';

/**
 * Where a stopped ingest got to, as lines for the person running it: rows read, rows the
 * cluster answered, the first row that may not be stored, and the command that goes on
 * from there (`--from-row`, replacing one given before).
 */
export function stoppedReport(how: 'interrupted' | 'stopped', file: string, progress: IngestProgress, argv: readonly string[]): string[] {
  const { fromRow, lastRowRead, acknowledgedThrough, accepted } = progress;
  const read = lastRowRead > fromRow ? `read rows ${fromRow + 1}-${lastRowRead} of ${file}` : `read no rows of ${file}`;
  const answered =
    acknowledgedThrough > fromRow
      ? `the cluster acknowledged every row through ${acknowledgedThrough} (${accepted} faces stored)`
      : 'the cluster acknowledged none';
  return [
    `${how}: ${read}; ${answered}; the first row not acknowledged is ${acknowledgedThrough + 1}`,
    `resume with: ${commandLine(withFromRow(argv, acknowledgedThrough))}`,
  ];
}

/** `argv` with --from-row set to `row` (any earlier --from-row N or --from-row=N dropped). */
export function withFromRow(argv: readonly string[], row: number): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--from-row') i++;
    else if (!argv[i].startsWith('--from-row=')) kept.push(argv[i]);
  }
  return [...kept, '--from-row', String(row)];
}
