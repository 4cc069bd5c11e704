import { readFaceFile, type RowError } from '../../libs/face-files/index.js';
import { natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

const SHOWN_ERRORS = 20;

export async function ingestCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ingest', argv, { ...natsOption, ids: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('faceshard ingest FILE [--ids IDS]: give exactly one .npy or .jsonl file');
  const file = positionals[0];
  const client = await connectClient(values, 'writer');
  const started = performance.now();
  let accepted = 0;
  let duplicates = 0;
  const errors: RowError[] = [];
  try {
    for await (const batch of readFaceFile(file, { idsPath: values.ids })) {
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
  console.log(`ingested ${accepted} faces from ${file} in ${seconds.toFixed(2)} s (${Math.round(accepted / seconds)} faces/s), every one acknowledged by JetStream`);
  // JetStream dropped these as repeats of a request it already stored (same batch id).
  if (duplicates) console.log(`${duplicates} face(s) not stored again: JetStream had them from an earlier identical request`);
  if (errors.length === 0) return 0;
  errors.sort((a, b) => a.row - b.row);
  console.error(`${errors.length} row(s) rejected:`);
  for (const e of errors.slice(0, SHOWN_ERRORS)) console.error(`  row ${e.row}: ${e.reason}`);
  if (errors.length > SHOWN_ERRORS) console.error(`  ... and ${errors.length - SHOWN_ERRORS} more`);
  return 1;
}
