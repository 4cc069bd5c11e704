import { shardOf } from '../sharding/index.js';
import { FACE_DIMENSIONS, idProblem } from '../index/vector/index.js';
import { decodeFaceBatch, encodeFaceBatch, FaceBatchError, type FaceBatch } from './face-batch.js';
import { faceProblem, type FaceProblem, type FaceProblemKind } from './face-checks.js';

/**
 * One record of a shard's durable log (`faces.data.<i>`): a batch of upserts or of
 * tombstones for that shard, in the binary face-batch framing.
 */
export type DecodedRecord = FaceBatch;

export function encodeUpsertRecord(ids: string[], metas: (Record<string, unknown> | undefined)[], vectors: Float32Array): Uint8Array {
  return encodeFaceBatch({ op: 'upsert', ids, metas: metas.map((m) => m ?? null), vectors });
}

export function encodeDeleteRecord(ids: string[]): Uint8Array {
  return encodeFaceBatch({ op: 'delete', ids });
}

/** Why a shard refused a record of its log (a metric label): unreadable, a face ingest would refuse, or an id of another shard. */
export type LogRecordRefusalReason = 'malformed' | 'wrong_shard' | FaceProblemKind;

/** A record refused whole: none of its faces is applied. `faces`: how many it holds (0 when unreadable). */
export class LogRecordRefused extends Error {
  override name = 'LogRecordRefused';
  constructor(
    readonly reason: LogRecordRefusalReason,
    message: string,
    readonly faces: number,
  ) {
    super(message);
  }
}

/** The log a record was read from: shard `shard` of `shardCount`. */
export interface LogOwner {
  shard: number;
  shardCount: number;
}

/**
 * Decodes a log record and makes every check the coordinator makes at ingest (ids, vector
 * length, finiteness and range, meta shape and size) plus, given its log's `owner`, that
 * each id belongs to that shard. Anyone who may publish to `faces.data.<i>` can write a
 * record, so a record is trusted whole or not at all: the first failing face throws
 * LogRecordRefused.
 */
export function decodeLogRecord(data: Uint8Array, owner?: LogOwner): DecodedRecord {
  let record: DecodedRecord;
  try {
    record = decodeFaceBatch(data);
  } catch (err) {
    if (err instanceof FaceBatchError) throw new LogRecordRefused('malformed', err.message, 0);
    throw err;
  }
  const refuse = (i: number, reason: LogRecordRefusalReason, problem: string) =>
    new LogRecordRefused(reason, `record face ${String(record.ids[i])}: ${problem}`, record.ids.length);
  for (let i = 0; i < record.ids.length; i++) {
    const id = record.ids[i];
    const problem =
      record.op === 'upsert' ? faceProblem(id, record.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), record.metas[i]) : tombstoneProblem(id);
    if (problem) throw refuse(i, problem.kind, problem.message);
    if (owner && shardOf(id, owner.shardCount) !== owner.shard)
      throw refuse(i, 'wrong_shard', `belongs to shard ${shardOf(id, owner.shardCount)}, not to shard ${owner.shard} whose log holds it`);
  }
  return record;
}

function tombstoneProblem(id: unknown): FaceProblem | undefined {
  const message = idProblem(id);
  return message === undefined ? undefined : { kind: 'bad_id', message };
}
