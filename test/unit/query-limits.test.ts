import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinReplies, rangesWithin } from '../../libs/nats/client/split-query.js';
import { bodyBudget, expectedReplyBytes, overCostCap, vectorsPerMessage, VECTOR_BYTES, type QueryReply, type ShardReply } from '../../libs/protocol/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { joinSlices, sliceQuery } from '../../services/coordinator/split-query.js';
import type { LegOutcome } from '../../services/coordinator/scatter.js';

const MB = 1024 * 1024;

test('one message holds the server max_payload less room for headers, read from the connection', () => {
  assert.equal(bodyBudget({ info: { max_payload: MB } }), MB - 4096);
  assert.equal(bodyBudget({ info: { max_payload: 8 * MB } }), 8 * MB - 4096);
  assert.equal(bodyBudget({}), MB - 4096);
});

test('vectors a request carries: bounded by its own bytes and by its expected reply', () => {
  const budget = bodyBudget({ info: { max_payload: MB } });
  assert.equal(vectorsPerMessage(budget, 1, 128), 2040); // the request: 2040 x 512 bytes
  assert.equal(vectorsPerMessage(budget, 1000, 128), 8); // the reply: 8 x 1000 matches x 128 bytes
  assert.equal(vectorsPerMessage(budget, 1000, 4096), 1); // never 0: one vector goes, and is refused if its reply is too large
  for (const k of [1, 10, 100, 1000]) {
    const n = vectorsPerMessage(budget, k, 128);
    assert.ok(n * VECTOR_BYTES <= budget && expectedReplyBytes(n, k, 128) <= budget, `k ${k}: ${n} vectors fit`);
    assert.ok((n + 1) * VECTOR_BYTES > budget || expectedReplyBytes(n + 1, k, 128) > budget, `k ${k}: ${n + 1} would not`);
  }
});

test('the cost cap refuses by matches and by expected reply bytes, and names which', () => {
  const cap = { maxMatches: 100_000, maxReplyBytes: MB, matchBytes: 128 };
  // 100 x 1000 is within the matches, not within the bytes of one reply.
  assert.match(overCostCap(100, 1000, cap) ?? '', /reply would take about 12800864 bytes/);
  assert.match(overCostCap(101, 1000, { ...cap, maxReplyBytes: Infinity }) ?? '', /101 vectors x k 1000 = 101000 matches, at most 100000/);
  assert.equal(overCostCap(8, 1000, cap), undefined);
  assert.equal(overCostCap(4096, 1, cap), undefined);
});

test('a query is sliced into views, and the slices joined back per shard in order; a shard missing from one slice is missing', () => {
  const vectors = uniformVectors(5, 1);
  const slices = sliceQuery({ vectors, count: 5, k: 2 }, 2);
  assert.deepEqual(
    slices.map((s) => s.count),
    [2, 2, 1],
  );
  assert.equal(slices[1].vectors.buffer, vectors.buffer, 'a view, not a copy');
  assert.deepEqual(slices[2].vectors, vectors.subarray(4 * FACE_DIMENSIONS));
  const reply = (shard: number, from: number, n: number, appliedSeq: number): ShardReply => ({
    shard,
    faces: 10,
    appliedSeq,
    results: Array.from({ length: n }, (_, i) => [{ id: `q${from + i}`, distance: 0 }]),
  });
  const ok = (shard: number, from: number, n: number, appliedSeq = 7): LegOutcome => ({
    shard,
    ok: true,
    reply: reply(shard, from, n, appliedSeq),
    attempts: 1,
    shardMismatches: 0,
  });
  const joined = joinSlices([
    [ok(0, 0, 2), ok(1, 0, 2)],
    [ok(0, 2, 2, 5), { shard: 1, ok: false, reason: 'shard 1: timed out', attempts: 2, shardMismatches: 0 }],
    [ok(0, 4, 1), ok(1, 4, 1)],
  ]);
  assert.equal(joined[0].ok, true);
  if (joined[0].ok) {
    assert.deepEqual(
      joined[0].reply.results.map((l) => l[0].id),
      ['q0', 'q1', 'q2', 'q3', 'q4'],
    );
    assert.equal(joined[0].reply.appliedSeq, 5);
  }
  assert.deepEqual(joined[1], { shard: 1, ok: false, reason: 'shard 1: timed out', attempts: 2, shardMismatches: 0 });
  assert.equal(sliceQuery({ vectors, count: 5, k: 2 }, 5).length, 1);
});

test('the client splits by bytes and by count, and joins the replies in order: partial when any part was', () => {
  assert.deepEqual(rangesWithin([3, 3, 3, 3, 3], 7), [
    [0, 2],
    [2, 4],
    [4, 5],
  ]);
  assert.deepEqual(rangesWithin([1, 1, 1, 1, 1], 100, 2), [
    [0, 2],
    [2, 4],
    [4, 5],
  ]);
  assert.deepEqual(rangesWithin([50, 1], 10), [
    [0, 1],
    [1, 2],
  ]);
  assert.deepEqual(rangesWithin([], 10), [[0, 0]]);
  const part = (ids: string[], answered: number, missing?: QueryReply['missing']): QueryReply => ({
    results: ids.map((id) => [{ id, distance: 0, shard: 0 }]),
    shards: { total: 2, answered },
    partial: answered < 2,
    ...(missing ? { missing } : {}),
    searched: answered * 10,
    tookMs: 1,
  });
  const joined = joinReplies([part(['a', 'b'], 2), part(['c'], 1, [{ shard: 1, reason: 'gone' }])], 5);
  assert.deepEqual(
    joined.results.map((l) => l[0].id),
    ['a', 'b', 'c'],
  );
  assert.equal(joined.partial, true);
  assert.deepEqual(joined.shards, { total: 2, answered: 1 });
  assert.deepEqual(joined.missing, [{ shard: 1, reason: 'gone' }]);
  assert.equal(joined.searched, 10);
  assert.equal(joined.tookMs, 5);
});
