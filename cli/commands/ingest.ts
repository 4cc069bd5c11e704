import path from 'node:path';
import { checkFaceFile, readFaceFile } from '../../libs/face-files/index.js';
import { idPrefixProblem } from '../../libs/protocol/id-prefix.js';
import { intOption, natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';
import { INTERRUPTED_EXIT_CODE } from '../encode/encode-interrupt.js';
import { IngestInterrupt } from '../ingest/interrupt.js';
import { IngestProgress } from '../ingest/progress.js';
import { stoppedReport } from '../ingest/report.js';
import { INGEST_BATCHES_IN_FLIGHT, runIngest, type IngestRunOutcome } from '../ingest/run.js';

const SHOWN_ERRORS = 20;

export const INGEST_USAGE = `faceshard ingest FILE [--ids IDS] [--persons FILE] [--id-prefix P] [--from-row N]

  Stores the face encodings of FILE in the cluster, 1000 rows per request, each answered
  before the next is read: FILE is a .npy (float32 or float64, shape (n, 128), what
  numpy.save writes; read as a stream, whatever its size) or a .jsonl / .ndjson file of
  {"id", "vector", "person"?, "meta"?} lines ("person" is stored as the face's meta.person).

  --ids IDS        .npy only: a text file with one id per line, in row order (default: the
                   file's name and the 0-based row number, faces.npy row 7 -> faces/7)
  --persons FILE   .npy only: a text file with one person's name per line, in row order
                   (a blank line: that face has no person); stored as meta.person
  --id-prefix P    put P/ before every id
  --from-row N     skip the first N rows (lines of a JSON lines file) and start at row N + 1:
                   how a stopped run goes on. Ids and row numbers stay those of the whole file.
                   A run that is interrupted (Ctrl-C) or refused part-way prints the
                   command with the --from-row to go on from.
  --nats URL, --prefix P, --creds FILE, --tls-ca/--tls-cert/--tls-key FILE, --data-dir D
                   where the cluster is (see faceshard --help)`;

export async function ingestCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ingest', argv, {
    ...natsOption,
    ids: { type: 'string' },
    persons: { type: 'string' },
    'id-prefix': { type: 'string' },
    'from-row': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(INGEST_USAGE);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('faceshard ingest FILE [--ids IDS] [--persons FILE] [--id-prefix P] [--from-row N]: give exactly one .npy or .jsonl file');
  const file = positionals[0];
  const fromRow = intOption('from-row', values['from-row'], 0, 0, Number.MAX_SAFE_INTEGER);
  await checkFaceFile(file);
  const idPrefix = idPrefixOf(file, values['id-prefix'], values.ids !== undefined);
  const client = await connectClient(values, 'writer');
  const started = performance.now();
  const progress = new IngestProgress(fromRow);
  const report = (how: 'interrupted' | 'stopped') => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    for (const line of stoppedReport(how, file, progress, ['ingest', ...argv])) console.log(line);
  };
  // A second Ctrl-C: what is acknowledged so far, then out.
  const interrupt = new IngestInterrupt(() => {
    report('interrupted');
    process.exit(INTERRUPTED_EXIT_CODE);
  });
  let outcome: IngestRunOutcome;
  try {
    outcome = await runIngest(
      readFaceFile(file, { idsPath: values.ids, personsPath: values.persons, idPrefix, fromRow }),
      (faces) => client.ingestMany(faces),
      progress,
      {
        stop: interrupt.signal,
        inFlight: INGEST_BATCHES_IN_FLIGHT,
        onBatch: () => {
          if (process.stderr.isTTY) process.stderr.write(`\ringested ${progress.accepted} faces`);
        },
      },
    );
  } finally {
    interrupt.dispose();
    await client.close();
  }
  if (outcome.failure) console.error(`faceshard: ${outcome.failure.message}`);
  if (outcome.interrupted || outcome.failure) {
    report(outcome.interrupted ? 'interrupted' : 'stopped');
  } else {
    if (process.stderr.isTTY) process.stderr.write('\n');
    const seconds = (performance.now() - started) / 1000;
    const named = idPrefix ? ` as ${idPrefix}/...` : '';
    const accepted = progress.accepted;
    console.log(
      `ingested ${accepted} faces from ${file}${named} in ${seconds.toFixed(2)} s (${Math.round(accepted / seconds)} faces/s), every one acknowledged by JetStream`,
    );
  }
  // JetStream dropped these as repeats of a request it already stored (same batch id).
  if (progress.duplicates) console.log(`${progress.duplicates} face(s) not stored again: JetStream had them from an earlier identical request`);
  const errors = progress.errors;
  if (errors.length > 0) {
    console.error(`${errors.length} row(s) rejected:`);
    for (const e of errors.slice(0, SHOWN_ERRORS)) console.error(`  row ${e.row}: ${e.reason}`);
    if (errors.length > SHOWN_ERRORS) console.error(`  ... and ${errors.length - SHOWN_ERRORS} more`);
  }
  if (outcome.interrupted) return INTERRUPTED_EXIT_CODE;
  return outcome.failure || errors.length > 0 ? 1 : 0;
}

/**
 * A .npy without an ids file gets row numbers for ids, the same in every such file: the
 * file's own name goes before them (`faces.npy` -> `faces/0`), unless --id-prefix says
 * otherwise. Ids from an ids file or from JSONL lines are kept as given unless asked.
 */
function idPrefixOf(file: string, given: string | undefined, hasIdsFile: boolean): string | undefined {
  const rowNumbers = !hasIdsFile && path.extname(file).toLowerCase() === '.npy';
  const prefix = given ?? (rowNumbers ? path.basename(file, path.extname(file)) : undefined);
  if (prefix === undefined) return undefined;
  const problem = idPrefixProblem(prefix, given !== undefined ? { flag: true } : { nameOf: 'file' });
  if (problem) throw new UsageError(problem);
  return prefix;
}
