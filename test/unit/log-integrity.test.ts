/**
 * What a shard trusts in its log (libs/protocol/log-record.ts, services/shard/log-origin.ts,
 * services/shard/snapshots.ts): a record is checked like an ingest plus its shard and
 * refused whole; a log purged, truncated or recreated under an index is noticed, and a
 * snapshot of such a log is not loaded.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, test } from 'node:test';
import { FaceIndex } from '../../libs/index/face-index/index.js';
import { createLogger } from '../../libs/observability/logger.js';
import {
  decodeLogRecord,
  encodeDeleteRecord,
  encodeFaceBatch,
  encodeUpsertRecord,
  LogRecordRefused,
  MAX_META_BYTES,
  type LogRecordRefusalReason,
} from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';
import { writeSnapshot } from '../../libs/snapshot/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { logChange, sameStreamState, type StreamNow, type StreamSequences } from '../../services/shard/log-origin.js';
import { restoreSnapshot } from '../../services/shard/snapshots.js';
import { tempDir } from '../helpers/nats.js';

const SHARDS = 4;
const owner = { shard: 1, shardCount: SHARDS };

/** `count` ids that shard `shard` owns. */
function idsOf(shard: number, count: number, prefix = 'face'): string[] {
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) if (shardOf(`${prefix}-${n}`, SHARDS) === shard) ids.push(`${prefix}-${n}`);
  return ids;
}

const vectors = (count: number) => Float32Array.from({ length: count * FACE_DIMENSIONS }, (_, i) => Math.sin(i) / 4);

function refused(data: Uint8Array, reason: LogRecordRefusalReason, faces: number) {
  assert.throws(
    () => decodeLogRecord(data, owner),
    (err: unknown) => err instanceof LogRecordRefused && err.reason === reason && err.faces === faces,
    `refused as ${reason}`,
  );
}

test('a log record of its own shard that ingest would take is read whole', () => {
  const ids = idsOf(1, 3);
  const record = decodeLogRecord(encodeUpsertRecord(ids, [{ path: 'a.jpg' }, undefined, undefined], vectors(3)), owner);
  assert.deepEqual(record.ids, ids);
  assert.deepEqual(decodeLogRecord(encodeDeleteRecord(ids), owner), { op: 'delete', ids });
});

test('a log record failing any check of ingest, or holding one id of another shard, is refused whole with the reason', () => {
  const [mine, alsoMine] = idsOf(1, 2);
  const [theirs] = idsOf(2, 1);
  refused(encodeUpsertRecord([mine, theirs], [undefined, undefined], vectors(2)), 'wrong_shard', 2);
  refused(encodeDeleteRecord([mine, theirs]), 'wrong_shard', 2);
  refused(encodeUpsertRecord([mine, alsoMine], [undefined, { note: 'x'.repeat(MAX_META_BYTES) }], vectors(2)), 'oversized_meta', 2);
  refused(encodeFaceBatch({ op: 'upsert', ids: [mine], metas: [[1, 2] as unknown as Record<string, unknown>], vectors: vectors(1) }), 'bad_meta', 1);
  const nan = vectors(2);
  nan[FACE_DIMENSIONS + 5] = Number.NaN;
  refused(encodeUpsertRecord([mine, alsoMine], [undefined, undefined], nan), 'bad_vector', 2);
  const far = vectors(1);
  far[0] = 2.5;
  refused(encodeUpsertRecord([mine], [undefined], far), 'bad_vector', 1);
  refused(encodeUpsertRecord([mine, ''], [undefined, undefined], vectors(2)), 'bad_id', 2);
  refused(encodeDeleteRecord(['x'.repeat(600)]), 'bad_id', 1);
  const cut = encodeUpsertRecord([mine], [undefined], vectors(1));
  refused(cut.subarray(0, cut.length - 4), 'malformed', 0);
  refused(new TextEncoder().encode('{"op":"upsert"}'), 'malformed', 0);
  // Without an owner (a tool reading any log), only the checks of ingest.
  assert.equal(decodeLogRecord(encodeUpsertRecord([theirs], [undefined], vectors(1))).ids.length, 1);
});

const origin = { stream: 'FACES', created: '2026-01-01T00:00:00Z', firstSeq: 1 };
const now = (change: Partial<StreamSequences> = {}): StreamSequences => ({ ...origin, lastSeq: 100, ...change });

test('a log purged, truncated or recreated under an index is noticed; a log that only grew is not', () => {
  assert.equal(logChange(origin, 40, now()), undefined);
  assert.equal(logChange(origin, 0, now({ lastSeq: 0 })), undefined);
  assert.equal(logChange(origin, 40, now({ created: '2026-02-02T00:00:00Z', lastSeq: 200 }))?.reason, 'recreated');
  assert.equal(logChange(origin, 40, now({ stream: 'OTHER' }))?.reason, 'recreated');
  assert.equal(logChange(origin, 40, now({ lastSeq: 39 }))?.reason, 'truncated');
  // The first sequence moved: records the index holds (or has not read yet) are gone.
  assert.equal(logChange(origin, 40, now({ firstSeq: 2 }))?.reason, 'purged');
  assert.equal(logChange(origin, 40, now({ firstSeq: 101 }))?.reason, 'purged');
  // First sequence unknown (an older snapshot): only a gap after what it applied shows.
  const unknownFirst = { stream: origin.stream, created: origin.created };
  assert.equal(logChange(unknownFirst, 40, now({ firstSeq: 41 })), undefined);
  assert.equal(logChange(unknownFirst, 40, now({ firstSeq: 42 }))?.reason, 'purged');
});

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test("a snapshot records the stream's first sequence, and one that no longer matches the stream is not loaded; one without it still is, when its sequences fit", async () => {
  const dir = await tempDir('faceshard-log-integrity-');
  dirs.push(dir);
  const log = createLogger({ service: 'test' }, 'error');
  const index = new FaceIndex();
  const ids = idsOf(1, 10);
  ids.forEach((id, i) => index.upsert(id, vectors(10).subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS)));
  const load = async (stream: StreamSequences) => {
    const into = new FaceIndex();
    const seq = (await restoreSnapshot(dir, 1, stream, into, log)).appliedSeq;
    return { seq, faces: into.size };
  };

  await writeSnapshot(dir, index, { shard: 1, stream: origin.stream, streamCreated: origin.created, streamFirstSeq: 1, appliedSeq: 50 });
  assert.deepEqual(await load(now()), { seq: 50, faces: 10 });
  assert.deepEqual(await load(now({ firstSeq: 20 })), { seq: 0, faces: 0 }, 'purged since: records it holds are gone');
  assert.deepEqual(await load(now({ lastSeq: 49 })), { seq: 0, faces: 0 }, 'truncated below it');
  assert.deepEqual(await load(now({ created: 'later' })), { seq: 0, faces: 0 }, 'recreated');

  // Written before snapshots recorded the first sequence.
  await writeSnapshot(dir, index, { shard: 1, stream: origin.stream, streamCreated: origin.created, appliedSeq: 50 });
  assert.deepEqual(await load(now({ firstSeq: 30 })), { seq: 50, faces: 10 }, 'unknown first sequence, nothing after it gone: loaded');
  assert.deepEqual(await load(now({ firstSeq: 60 })), { seq: 0, faces: 0 }, 'records after it are gone');
});

test('two looks at the stream are the same state only when creation, first and last sequence and the last record all are', () => {
  const state: StreamNow = { ...origin, lastSeq: 100, lastWrittenAt: '2026-01-01T00:00:05.000000001Z' };
  assert.equal(sameStreamState(state, { ...state }), true);
  assert.equal(sameStreamState(state, { ...state, stream: 'OTHER' }), false);
  assert.equal(sameStreamState(state, { ...state, created: '2026-02-02T00:00:00Z' }), false);
  assert.equal(sameStreamState(state, { ...state, firstSeq: 2 }), false);
  assert.equal(sameStreamState(state, { ...state, lastSeq: 101 }), false);
  // Records lost and written again up to the same last sequence: the last one is a new record.
  assert.equal(sameStreamState(state, { ...state, lastWrittenAt: '2026-01-01T00:00:09.000000001Z' }), false);
});
