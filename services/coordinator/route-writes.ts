import { nuid, type JetStreamClient } from 'nats';
import { encodeDeleteRecord, encodeUpsertFaces, type Subjects, type ValidFace } from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';

export interface WriteLimits {
  shardCount: number;
  maxFacesPerRecord: number;
  /** Bytes a record may take: the server's max payload less room for headers. */
  maxRecordBytes: number;
}

/** Per shard, the highest stream sequence JetStream acknowledged. */
export type SequenceByShard = Record<string, number>;

/** What JetStream said about an ingest's records: faces stored, and faces of records it took for duplicates (stored before under the same Nats-Msg-Id). */
export interface UpsertsWritten {
  seq: SequenceByShard;
  stored: number;
  duplicates: number;
}

/**
 * Groups faces by owning shard and appends them to the shards' logs in batches.
 * Resolves only once JetStream acknowledged every record; each record carries a
 * Nats-Msg-Id so a retried publish is stored once.
 */
/**
 * `batchId`: a client that retries a request with the same `batch-id` header gets the
 * same Nats-Msg-Ids, so JetStream stores each record once (within its 2-minute window).
 * A record acknowledged as a duplicate was not stored by this request (a retry's first
 * try stored it, or anyone else who used that batch id): its faces are counted apart.
 */
export async function appendUpserts(
  js: JetStreamClient,
  subjects: Subjects,
  faces: ValidFace[],
  limits: WriteLimits,
  batchId = nuid.next(),
): Promise<UpsertsWritten> {
  const byShard = groupByShard(faces, (f) => f.id, limits.shardCount);
  const acks: Promise<{ shard: number; seq: number; faces: number; duplicate: boolean }>[] = [];
  for (const [shard, group] of byShard) {
    let start = 0;
    let part = 0;
    while (start < group.length) {
      const { record, taken } = buildUpsertRecord(group, start, limits);
      const msgID = `${batchId}-${shard}-${part++}`;
      acks.push(js.publish(subjects.data(shard), record, { msgID }).then((ack) => ({ shard, seq: ack.seq, faces: taken, duplicate: ack.duplicate })));
      start += taken;
    }
  }
  const acked = await Promise.all(acks);
  let duplicates = 0;
  for (const ack of acked) if (ack.duplicate) duplicates += ack.faces;
  return { seq: highestSequences(acked), stored: faces.length - duplicates, duplicates };
}

export async function appendTombstones(
  js: JetStreamClient,
  subjects: Subjects,
  ids: string[],
  shardCount: number,
  batchId = nuid.next(),
): Promise<SequenceByShard> {
  const byShard = groupByShard(ids, (id) => id, shardCount);
  const acks = [...byShard].map(([shard, group]) =>
    js.publish(subjects.data(shard), encodeDeleteRecord(group), { msgID: `${batchId}-${shard}-del` }).then((ack) => ({ shard, seq: ack.seq })),
  );
  return highestSequences(await Promise.all(acks));
}

function groupByShard<T>(items: T[], idOf: (item: T) => string, shardCount: number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOf(idOf(item), shardCount);
    let group = groups.get(shard);
    if (!group) groups.set(shard, (group = []));
    group.push(item);
  }
  return groups;
}

/** Takes as many faces from `start` as fit in one record (count and bytes). */
function buildUpsertRecord(group: ValidFace[], start: number, limits: WriteLimits): { record: Uint8Array; taken: number } {
  let end = Math.min(group.length, start + limits.maxFacesPerRecord);
  for (;;) {
    const slice = group.slice(start, end);
    const record = encodeUpsertFaces(slice, slice.length === 1 ? Infinity : limits.maxRecordBytes);
    if (record) return { record, taken: slice.length };
    end = start + Math.max(1, Math.floor(slice.length / 2));
  }
}

function highestSequences(acks: { shard: number; seq: number }[]): SequenceByShard {
  const seq: SequenceByShard = {};
  for (const { shard, seq: s } of acks) seq[shard] = Math.max(seq[shard] ?? 0, s);
  return seq;
}
