import { z } from 'zod';
import { FACE_DIMENSIONS, vectorProblem } from '../vector/index.js';

/**
 * One record of a shard's durable log (`faces.data.<i>`): a batch of upserts or of
 * tombstones for that shard. Vectors travel as base64 little-endian float32, about a
 * third of the bytes of JSON numbers and exact.
 */
export const UpsertRecord = z.strictObject({
  op: z.literal('upsert'),
  ids: z.array(z.string().min(1)),
  metas: z.array(z.record(z.string(), z.unknown()).nullable()),
  vectors: z.string(),
});
export const DeleteRecord = z.strictObject({
  op: z.literal('delete'),
  ids: z.array(z.string().min(1)),
});
export const LogRecord = z.discriminatedUnion('op', [UpsertRecord, DeleteRecord]);

export type DecodedRecord =
  | { op: 'upsert'; ids: string[]; metas: (Record<string, unknown> | null)[]; vectors: Float32Array }
  | { op: 'delete'; ids: string[] };

export function encodeUpsertRecord(ids: string[], metas: (Record<string, unknown> | undefined)[], vectors: Float32Array): Uint8Array {
  const bytes = Buffer.from(vectors.buffer, vectors.byteOffset, ids.length * FACE_DIMENSIONS * 4);
  const record = { op: 'upsert', ids, metas: metas.map((m) => m ?? null), vectors: bytes.toString('base64') };
  return Buffer.from(JSON.stringify(record));
}

export function encodeDeleteRecord(ids: string[]): Uint8Array {
  return Buffer.from(JSON.stringify({ op: 'delete', ids }));
}

/** Decodes and checks a log record; a record that fails is reported, never half-applied. */
export function decodeLogRecord(data: Uint8Array): DecodedRecord {
  const parsed = LogRecord.parse(JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8')));
  if (parsed.op === 'delete') return parsed;
  const raw = Buffer.from(parsed.vectors, 'base64');
  const expected = parsed.ids.length * FACE_DIMENSIONS * 4;
  if (raw.length !== expected) throw new Error(`upsert record has ${raw.length} vector bytes for ${parsed.ids.length} ids (expected ${expected})`);
  if (parsed.metas.length !== parsed.ids.length) throw new Error(`upsert record has ${parsed.metas.length} metas for ${parsed.ids.length} ids`);
  const vectors = new Float32Array(parsed.ids.length * FACE_DIMENSIONS);
  new Uint8Array(vectors.buffer).set(raw);
  for (let i = 0; i < parsed.ids.length; i++) {
    const problem = vectorProblem(vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS));
    if (problem) throw new Error(`upsert record face ${parsed.ids[i]}: ${problem}`);
  }
  return { op: 'upsert', ids: parsed.ids, metas: parsed.metas, vectors };
}
