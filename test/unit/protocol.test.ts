import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BINARY_CONTENT_TYPE,
  decodeLogRecord,
  encodeDeleteRecord,
  encodeFaceBatch,
  encodeUpsertFaces,
  encodeUpsertRecord,
  LogRecordRefused,
  parseIngest,
  parseQuery,
  parseDeleteRequest,
  parseIngestRequest,
  parseQueryBinary,
  parseQueryJson,
  ProtocolError,
  QueryReply,
  subjectsFor,
} from '../../libs/protocol/index.js';
import { INT16_ROW_MAX } from '../../libs/index/simd-kernel/int16.js';
import { FACE_COMPONENT_MAX } from '../../libs/index/vector/index.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const vec = (x = 0.1) => new Array(128).fill(x);
const headers = (h: Record<string, string>) => ({ get: (k: string) => h[k] ?? '' });

function rejects(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === 'bad_request' && pattern.test(err.message));
}

test('a good JSON query parses, k defaults to 1, vectors are packed', () => {
  const q = parseQueryJson(enc({ vectors: [vec(0.5), vec(-0.25)], maxDistance: 0.6 }));
  assert.equal(q.k, 1);
  assert.equal(q.count, 2);
  assert.equal(q.maxDistance, 0.6);
  assert.equal(q.vectors.length, 256);
  assert.equal(q.vectors[128], -0.25);
});

test('bad JSON queries are rejected with the reason', () => {
  rejects(() => parseQueryJson(enc('{"vectors": [')), /not valid JSON/);
  rejects(() => parseQueryJson(enc('')), /empty message body/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], extra: true })), /extra/);
  rejects(() => parseQueryJson(enc({ vectors: [[1, 2, 3]] })), /vectors\.0: vector must have exactly 128 numbers/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], k: 0 })), /k must be at least 1/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], k: 1001 })), /k must be at most 1000/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], k: 2.5 })), /whole number/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], maxDistance: -1 })), /maxDistance/);
  rejects(() => parseQueryJson(enc({ vectors: [[...vec().slice(1), 'x']] })), /vectors\.0\.127/);
  rejects(() => parseQueryJson(enc([1, 2])), /expected object/);
});

test('binary queries: float32 body, k and max-distance headers, NaN and bad sizes refused', () => {
  const v = new Float32Array(256).fill(0.25);
  const q = parseQueryBinary(new Uint8Array(v.buffer), headers({ k: '7', 'max-distance': '0.5' }));
  assert.equal(q.count, 2);
  assert.equal(q.k, 7);
  assert.equal(q.maxDistance, 0.5);
  assert.equal(q.vectors[255], 0.25);
  rejects(() => parseQueryBinary(new Uint8Array(100), headers({})), /multiple of 512/);
  rejects(() => parseQueryBinary(new Uint8Array(v.buffer), headers({ k: '0' })), /header k/);
  const bad = new Float32Array(128);
  bad[9] = Number.POSITIVE_INFINITY;
  rejects(() => parseQueryBinary(new Uint8Array(bad.buffer), headers({})), /element 9 is Infinity/);
});

test('ingest: each face checked on its own, rejects carry the index and reason', () => {
  const { faces, rejected } = parseIngestRequest(
    enc({
      faces: [
        { id: 'a', vector: vec() },
        { id: '', vector: vec() },
        { id: 'b', vector: vec().slice(1) },
        { id: 'c', vector: vec(), meta: { path: 'c.jpg' } },
        7,
      ],
    }),
  );
  assert.deepEqual(
    faces.map((f) => [f.index, f.id]),
    [
      [0, 'a'],
      [3, 'c'],
    ],
  );
  assert.deepEqual(faces[1].meta, { path: 'c.jpg' });
  assert.deepEqual(
    rejected.map((r) => r.index),
    [1, 2, 4],
  );
  assert.match(rejected[0].reason, /id must not be empty/);
  assert.match(rejected[1].reason, /exactly 128/);
  rejects(() => parseIngestRequest(enc({ faces: [] })), /at least one face/);
  rejects(() => parseIngestRequest(enc({ face: [] })), /faces/);
  rejects(() => parseDeleteRequest(enc({ ids: [''] })), /id must not be empty/);
});

test('log records round-trip exactly, and a damaged record is refused whole', () => {
  const vectors = new Float32Array(256).map((_, i) => Math.sin(i) / 3);
  const record = decodeLogRecord(encodeUpsertRecord(['x', 'y'], [{ path: 'x.jpg' }, undefined], vectors));
  assert.equal(record.op, 'upsert');
  if (record.op !== 'upsert') return;
  assert.deepEqual(record.ids, ['x', 'y']);
  assert.deepEqual(record.metas, [{ path: 'x.jpg' }, null]);
  assert.deepEqual(Array.from(record.vectors), Array.from(vectors));
  assert.deepEqual(decodeLogRecord(encodeDeleteRecord(['x'])), { op: 'delete', ids: ['x'] });
  const whole = encodeUpsertRecord(['x', 'y'], [undefined, undefined], vectors);
  assert.throws(() => decodeLogRecord(whole.subarray(0, whole.length - 4)), /must be \d+ bytes/);
  assert.throws(() => decodeLogRecord(enc({ op: 'upsert', ids: [] })), /not a face batch/);
  const nan = vectors.slice();
  nan[130] = Number.NaN;
  assert.throws(() => decodeLogRecord(encodeUpsertRecord(['x', 'y'], [undefined, undefined], nan)), /face y: vector element 2 is NaN/);
  const badOp = encodeDeleteRecord(['x']);
  badOp[4] = 9;
  assert.throws(() => decodeLogRecord(badOp), /unknown batch op 9/);
});

test("stored components must fit the shards' int16 rows: ingest (JSON and binary) refuses others, naming them, and so does a log record (whole); queries need not fit", () => {
  assert.equal(FACE_COMPONENT_MAX, INT16_ROW_MAX);
  const wide = vec();
  wide[7] = 2.5;
  const json = parseIngestRequest(
    enc({
      faces: [
        { id: 'a', vector: vec(FACE_COMPONENT_MAX) },
        { id: 'b', vector: wide },
        { id: 'c', vector: vec(-FACE_COMPONENT_MAX) },
      ],
    }),
  );
  assert.deepEqual(
    json.faces.map((f) => f.id),
    ['a', 'c'],
  );
  assert.equal(json.rejected[0].reason, 'invalid face 1: vector.7: must be within ±1.99993896484375');
  const vectors = new Float32Array(2 * 128).fill(0.1);
  vectors[128 + 3] = -2;
  const binary = parseIngest(encodeFaceBatch({ op: 'upsert', ids: ['ok', 'far'], metas: [null, null], vectors }));
  assert.deepEqual(
    binary.rejected.map((r) => r.reason),
    ['face 1: vector element 3 is -2 (must be within ±1.99993896484375)'],
  );
  // A log record gets the checks of ingest: one face past the range refuses the whole record.
  assert.throws(
    () => decodeLogRecord(encodeUpsertRecord(['x', 'y'], [undefined, undefined], vectors)),
    (err: unknown) => err instanceof LogRecordRefused && err.reason === 'bad_vector' && err.faces === 2,
  );
  assert.equal(parseQueryJson(enc({ vectors: [vec(5)] })).count, 1);
});

test('binary ingest: each face checked on its own, like the JSON form', () => {
  const vectors = new Float32Array(3 * 128).fill(0.1);
  vectors[128 + 5] = Number.POSITIVE_INFINITY;
  const body = encodeFaceBatch({ op: 'upsert', ids: ['ok', 'inf', ''], metas: [{ path: 'ok.jpg' }, null, null], vectors });
  const { faces, rejected } = parseIngest(body);
  assert.deepEqual(
    faces.map((f) => [f.index, f.id, f.meta]),
    [[0, 'ok', { path: 'ok.jpg' }]],
  );
  assert.deepEqual(
    rejected.map((r) => [r.index, r.reason]),
    [
      [1, 'face 1: vector element 5 is Infinity (must be a finite number)'],
      [2, 'face 2: id must not be empty'],
    ],
  );
  rejects(() => parseIngest(body.subarray(0, 40)), /binary ingest/);
  rejects(() => parseIngest(encodeFaceBatch({ op: 'delete', ids: ['a'] })), /upsert batch/);
  // and the JSON form still goes the JSON way
  assert.equal(parseIngest(enc({ faces: [{ id: 'j', vector: vec() }] })).faces[0].id, 'j');
});

test('reply schema and subjects', () => {
  assert.ok(
    QueryReply.safeParse({ results: [[{ id: 'a', distance: 0.1, shard: 0 }]], shards: { total: 1, answered: 1 }, partial: false, searched: 3, tookMs: 1 })
      .success,
  );
  const s = subjectsFor('faces');
  assert.equal(s.shardQuery(3), 'faces.shard.3.query');
  assert.equal(s.shardQueue(3), 'shard-3');
  assert.equal(s.data(2), 'faces.data.2');
  assert.equal(s.stream, 'FACES');
  assert.equal(subjectsFor('acme.faces').stream, 'ACME_FACES');
});

test('approximate search is asked for explicitly; effort only goes with it', () => {
  const q = parseQueryJson(enc({ vectors: [vec()], k: 3, approximate: true, effort: 2 }));
  assert.equal(q.approximate, true);
  assert.equal(q.effort, 2);
  assert.equal(parseQueryJson(enc({ vectors: [vec()] })).approximate, undefined, 'exact by default');
  rejects(() => parseQueryJson(enc({ vectors: [vec()], effort: 2 })), /effort: only with "approximate": true/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], approximate: true, effort: 0 })), /effort must be > 0/);
  rejects(() => parseQueryJson(enc({ vectors: [vec()], approximate: 'yes' })), /approximate/);
  const v = new Float32Array(128).fill(0.5);
  const b = parseQueryBinary(new Uint8Array(v.buffer), headers({ k: '2', approximate: '1', effort: '0.5' }));
  assert.equal(b.approximate, true);
  assert.equal(b.effort, 0.5);
  rejects(() => parseQueryBinary(new Uint8Array(v.buffer), headers({ effort: '0.5' })), /only goes with approximate/);
  rejects(() => parseQueryBinary(new Uint8Array(v.buffer), headers({ approximate: 'maybe' })), /approximate must be 1 or true/);
});

test('encodeUpsertFaces writes the same bytes as encodeUpsertRecord, and refuses to exceed maxBytes', () => {
  const vectors = new Float32Array(3 * 128).map((_, i) => Math.cos(i));
  const faces = ['a', 'b', 'c'].map((id, i) => ({ id, vector: vectors.subarray(i * 128, (i + 1) * 128), meta: i === 1 ? { path: 'b.jpg' } : undefined }));
  const direct = encodeUpsertFaces(faces);
  assert.ok(direct);
  assert.deepEqual(Buffer.from(direct), Buffer.from(encodeUpsertRecord(['a', 'b', 'c'], [undefined, { path: 'b.jpg' }, undefined], vectors)));
  assert.equal(encodeUpsertFaces(faces, direct.length - 1), undefined);
  assert.equal(encodeUpsertFaces(faces, direct.length)?.length, direct.length);
});

test('parseQuery picks the form by content-type: binary only when the header says so', () => {
  const v = new Float32Array(128).fill(0.25);
  const binary = parseQuery(new Uint8Array(v.buffer), headers({ 'content-type': BINARY_CONTENT_TYPE, k: '4' }));
  assert.equal(binary.k, 4);
  assert.equal(parseQuery(enc({ vectors: [vec()], k: 2 }), undefined).k, 2);
  assert.equal(parseQuery(enc({ vectors: [vec()], k: 3 }), headers({ k: '9' })).k, 3, 'JSON without the header: k from the body');
  rejects(() => parseQuery(new Uint8Array(v.buffer), undefined), /not valid JSON/);
});
