import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bruteForceSearch } from '../../libs/index/face-index/index.js';
import type { Query } from '../../libs/protocol/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { QueryCoalescer, type Answer } from '../../services/coordinator/coalescer.js';

const data = syntheticFaces({ identities: 200, photosPerIdentity: 3, seed: 8 });
const search = (q: Query) => bruteForceSearch(data.vectors, data.ids, q.vectors.subarray(0, q.count * FACE_DIMENSIONS), q.k, FACE_DIMENSIONS, q.maxDistance);

function fakeCluster(delayMs: number) {
  const batches: number[] = [];
  const run = async (q: Query): Promise<Answer> => {
    batches.push(q.count);
    await new Promise((r) => setTimeout(r, delayMs));
    const results = search(q).map((list) => list.map((n) => ({ id: n.id, distance: n.distance, shard: 0 })));
    return { reply: { results, shards: { total: 1, answered: 1 }, partial: false, searched: data.ids.length, tookMs: delayMs }, legs: [] };
  };
  return { run, batches };
}

test('queries arriving while scatters are busy leave together, and each still gets exactly its own answer', async () => {
  const { run, batches } = fakeCluster(5);
  const coalescer = new QueryCoalescer(run, 1);
  const queries: Query[] = Array.from({ length: 40 }, (_, i) => {
    const count = 1 + (i % 3);
    return { vectors: uniformVectors(count, i).map((x) => x * 0.3), count, k: 1 + (i % 7), maxDistance: i % 4 === 0 ? 0.9 : undefined };
  });
  const answers = await Promise.all(queries.map((q) => coalescer.submit(q)));
  answers.forEach((a, i) => {
    const want = search(queries[i]);
    assert.deepEqual(
      a.reply.results.map((l) => l.map((m) => [m.id, m.distance])),
      want.map((l) => l.map((n) => [n.id, n.distance])),
      `query ${i}`,
    );
  });
  assert.ok(batches.length < queries.length / 4, `40 queries went out in ${batches.length} scatters`);
  assert.equal(
    batches.reduce((a, b) => a + b, 0),
    queries.reduce((n, q) => n + q.count, 0),
  );
});

test('an idle coalescer adds no batching delay; read-your-writes queries are never merged', async () => {
  const { run, batches } = fakeCluster(1);
  const coalescer = new QueryCoalescer(run, 2);
  const q: Query = { vectors: uniformVectors(1, 1), count: 1, k: 3 };
  await coalescer.submit(q);
  await coalescer.submit(q);
  assert.deepEqual(batches, [1, 1]);
  const withSeq = await Promise.all(Array.from({ length: 5 }, () => coalescer.submit({ ...q, minSeq: 3 })));
  assert.equal(withSeq.length, 5);
  assert.deepEqual(batches, [1, 1, 1, 1, 1, 1, 1]);
});

test('a failed scatter fails every query of its batch, and the next batch still runs', async () => {
  let fail = true;
  const coalescer = new QueryCoalescer(async (query) => {
    await new Promise((r) => setTimeout(r, 2));
    if (fail) throw new Error('boom');
    return fakeCluster(0).run(query);
  }, 1);
  const q: Query = { vectors: uniformVectors(1, 2), count: 1, k: 1 };
  const results = await Promise.allSettled([coalescer.submit(q), coalescer.submit(q), coalescer.submit(q)]);
  assert.ok(results.every((r) => r.status === 'rejected'));
  fail = false;
  assert.equal((await coalescer.submit(q)).reply.results.length, 1);
});

test('a merged batch stays within the bytes of one leg and of its expected reply', async () => {
  const { run, batches } = fakeCluster(5);
  // A leg of at most 4 vectors (2 KB); a reply of at most ~2 vectors at k=10 (100 bytes a match).
  const coalescer = new QueryCoalescer(run, 1, { maxLegBytes: 4 * 512, maxReplyBytes: 64 + 2 * (8 + 10 * 100), matchBytes: 100 });
  const small: Query[] = Array.from({ length: 12 }, (_, i) => ({ vectors: uniformVectors(1, i), count: 1, k: 1 }));
  await Promise.all(small.map((q) => coalescer.submit(q)));
  assert.ok(
    batches.slice(1).every((n) => n <= 4),
    `leg bytes: ${batches}`,
  );
  assert.ok(
    batches.slice(1).some((n) => n > 1),
    `still merged: ${batches}`,
  );
  batches.length = 0;
  const wide: Query[] = Array.from({ length: 8 }, (_, i) => ({ vectors: uniformVectors(1, i), count: 1, k: 10 }));
  await Promise.all(wide.map((q) => coalescer.submit(q)));
  assert.ok(
    batches.every((n) => n <= 2),
    `reply bytes: ${batches}`,
  );
  batches.length = 0;
  // One query larger than the bounds still goes (alone).
  await coalescer.submit({ vectors: uniformVectors(6, 1), count: 6, k: 10 });
  assert.deepEqual(batches, [6]);
});

test('a query whose deadline passed, before or while it waited, is refused as deadline and never run', async () => {
  const { run, batches } = fakeCluster(30);
  const coalescer = new QueryCoalescer(run, 1);
  const q = (deadline: number): Query => ({ vectors: uniformVectors(1, 3), count: 1, k: 1, deadline });
  await assert.rejects(coalescer.submit(q(Date.now() - 1)), (err: unknown) => (err as { code?: string }).code === 'deadline');
  const first = coalescer.submit(q(Date.now() + 5000));
  const late = coalescer.submit(q(Date.now() + 5)); // waits behind the first, past its deadline
  await first;
  await assert.rejects(late, (err: unknown) => (err as { code?: string }).code === 'deadline');
  assert.deepEqual(batches, [1]);
});

test('a full queue refuses at once with busy and a retry hint from recent scatter times; what was admitted is answered', async () => {
  const { run, batches } = fakeCluster(40);
  const coalescer = new QueryCoalescer(run, 1, undefined, { maxQueries: 3, maxVectors: 5 });
  const q = (count: number): Query => ({ vectors: uniformVectors(count, count), count, k: 1 });
  const busy = (err: unknown) => (err as { code?: string }).code === 'busy' && (err as { retryAfterMs?: number }).retryAfterMs! >= 1;
  // Warm the scatter-time average: one scatter of 40 ms.
  await coalescer.submit(q(1));
  await new Promise((r) => setImmediate(r)); // its slot is freed just after its answer
  batches.length = 0;
  const running = coalescer.submit(q(1)); // takes the one slot
  const admitted = [coalescer.submit(q(2)), coalescer.submit(q(1)), coalescer.submit(q(1))]; // 3 queries, 4 vectors wait
  assert.deepEqual(coalescer.queued, { queries: 3, vectors: 4 });
  const started = performance.now();
  await assert.rejects(coalescer.submit(q(1)), busy, 'over the query bound');
  assert.ok(performance.now() - started < 20, 'refused at once, not after a wait');
  await Promise.all([running, ...admitted]);
  assert.deepEqual(batches, [1, 4]);
  assert.deepEqual(coalescer.queued, { queries: 0, vectors: 0 });

  // The vector bound: 4 vectors wait, 2 more would pass 5.
  const slot = coalescer.submit(q(1));
  const waiting = coalescer.submit(q(4));
  await assert.rejects(coalescer.submit(q(2)), (err: unknown) => busy(err) && /4 vectors/.test((err as Error).message));
  // An empty queue takes a query of any size.
  await Promise.all([slot, waiting]);
  await new Promise((r) => setImmediate(r));
  const big = coalescer.submit(q(1));
  assert.equal((await Promise.all([big, coalescer.submit(q(9))]))[1].reply.results.length, 9);
});

test('under overload a batch stays within its time budget at the measured pace, and a query that would wait past its deadline is refused busy at once', async () => {
  // A cluster that takes 10 ms a query vector.
  const batches: number[] = [];
  const run = async (q: Query): Promise<Answer> => {
    batches.push(q.count);
    await new Promise((r) => setTimeout(r, 10 * q.count));
    const results = search(q).map((list) => list.map((n) => ({ id: n.id, distance: n.distance, shard: 0 })));
    return { reply: { results, shards: { total: 1, answered: 1 }, partial: false, searched: data.ids.length, tookMs: 0 }, legs: [] };
  };
  const coalescer = new QueryCoalescer(run, 1, { maxLegBytes: 1e9, maxReplyBytes: 1e9, matchBytes: 0, maxBatchMs: 60 });
  const one = (i: number, deadline?: number): Query => ({ vectors: uniformVectors(1, i), count: 1, k: 1, deadline });
  await coalescer.submit(one(0)); // the pace: ~10 ms a vector
  batches.length = 0;
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => coalescer.submit(one(i + 1))));
  assert.equal(answers.length, 30);
  assert.ok(Math.max(...batches) <= 7, `batches of at most ~60 ms of work: ${batches.join(', ')}`);
  assert.ok(batches.length >= 5, `30 queries in ${batches.length} scatters`);

  // 30 queued (~300 ms of work at 1 scatter at a time): a query with 50 ms left is refused now, one with 5 s left waits its turn.
  const queued = Array.from({ length: 30 }, (_, i) => coalescer.submit(one(100 + i)));
  const started = performance.now();
  await assert.rejects(coalescer.submit(one(200, Date.now() + 50)), (err: Error & { code?: string; retryAfterMs?: number }) => {
    assert.equal(err.code, 'busy');
    assert.ok((err.retryAfterMs ?? 0) > 50, `retry hint ${err.retryAfterMs} ms`);
    return true;
  });
  assert.ok(performance.now() - started < 20, 'refused at once');
  const patient = await coalescer.submit(one(201, Date.now() + 5000));
  assert.equal(patient.reply.results.length, 1);
  await Promise.all(queued);
});
