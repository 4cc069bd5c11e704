import path from 'node:path';
import { checkFaceFile, readFaceFile, type RowError } from '../../libs/face-files/index.js';
import { idPrefixProblem } from '../../libs/protocol/id-prefix.js';
import { natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

const SHOWN_ERRORS = 20;

export async function ingestCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ingest', argv, { ...natsOption, ids: { type: 'string' }, 'id-prefix': { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('faceshard ingest FILE [--ids IDS] [--id-prefix P]: give exactly one .npy or .jsonl file');
  const file = positionals[0];
  await checkFaceFile(file);
  const idPrefix = idPrefixOf(file, values['id-prefix'], values.ids !== undefined);
  const client = await connectClient(values, 'writer');
  const started = performance.now();
  let accepted = 0;
  let duplicates = 0;
  const errors: RowError[] = [];
  try {
    for await (const batch of readFaceFile(file, { idsPath: values.ids, idPrefix })) {
      errors.push(...batch.errors);
      if (batch.faces.length === 0) continue;
      const reply = await client.ingestMany(batch.faces);
      accepted += reply.accepted;
      duplicates += reply.duplicates ?? 0;
      for (const r of reply.rejected) errors.push({ row: batch.faces[r.index].row, reason: r.reason });
      if (process.stderr.isTTY) process.stderr.write(`\ringested ${accepted} faces`);
    }
  } finally {
    if (process.stderr.isTTY) process.stderr.write('\n');
    await client.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const named = idPrefix ? ` as ${idPrefix}/...` : '';
  console.log(
    `ingested ${accepted} faces from ${file}${named} in ${seconds.toFixed(2)} s (${Math.round(accepted / seconds)} faces/s), every one acknowledged by JetStream`,
  );
  // JetStream dropped these as repeats of a request it already stored (same batch id).
  if (duplicates) console.log(`${duplicates} face(s) not stored again: JetStream had them from an earlier identical request`);
  if (errors.length === 0) return 0;
  errors.sort((a, b) => a.row - b.row);
  console.error(`${errors.length} row(s) rejected:`);
  for (const e of errors.slice(0, SHOWN_ERRORS)) console.error(`  row ${e.row}: ${e.reason}`);
  if (errors.length > SHOWN_ERRORS) console.error(`  ... and ${errors.length - SHOWN_ERRORS} more`);
  return 1;
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
