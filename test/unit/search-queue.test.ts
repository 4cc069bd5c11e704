import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaceIndex, type Neighbor } from '../../libs/index/face-index/index.js';
import { ProtocolError } from '../../libs/protocol/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { SearchQueue, type SearchJob } from '../../services/shard/search-queue.js';

const DIMS = 128;

/** A search that costs `msPerVector` of busy CPU a vector (as an index does), answering each vector with its first component. */
function costlySearch(msPerVector: number, calls: number[] = []) {
  return (vectors: Float32Array): Neighbor[][] => {
    const count = vectors.length / DIMS;
    calls.push(count);
    const until = performance.now() + msPerVector * count;
    while (performance.now() < until);
    return Array.from({ length: count }, (_, q) => [{ id: String(vectors[q * DIMS]), distance: 0 }]);
  };
}

/** `count` vectors whose first components are start, start+1, ... (so answers show their order). */
function numbered(count: number, start = 0): Float32Array {
  const vectors = new Float32Array(count * DIMS);
  for (let q = 0; q < count; q++) vectors[q * DIMS] = start + q;
  return vectors;
}

const ids = (lists: Neighbor[][]) => lists.map((list) => list[0].id);

test('a leg searched in slices answers exactly as one search over all its vectors', async () => {
  const people = syntheticFaces({ identities: 1000, photosPerIdentity: 5, seed: 7 });
  const index = new FaceIndex();
  for (let i = 0; i < people.ids.length; i++) index.upsert(people.ids[i], people.vectors.subarray(i * DIMS, (i + 1) * DIMS));
  const queries = new Float32Array([...syntheticFaces({ identities: 200, photosPerIdentity: 1, seed: 8 }).vectors, ...uniformVectors(40, 9)]);
  const slices: number[] = [];
  const queue = new SearchQueue({ maxLegs: 4, maxVectors: 10_000, sliceMs: 1 });
  for (const [k, maxDistance] of [
    [10, undefined],
    [3, 0.6],
  ] as const) {
    const sliced = await queue.submit({
      vectors: queries,
      search: (vectors) => {
        slices.push(vectors.length / DIMS);
        return index.search(vectors, k, maxDistance);
      },
    });
    assert.deepEqual(sliced, index.search(queries, k, maxDistance));
  }
  assert.ok(slices.length > 4, `searched in ${slices.length} slices`);
  assert.equal(
    slices.reduce((a, b) => a + b, 0),
    2 * 240,
  );
});

test('no slice holds the event loop much past the target: timers run during a long leg', async () => {
  const SLICE_MS = 10;
  const queue = new SearchQueue({ maxLegs: 4, maxVectors: 10_000, sliceMs: SLICE_MS });
  const slices: number[] = [];
  const gaps: number[] = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    gaps.push(performance.now() - last);
    last = performance.now();
  }, 1);
  const search = costlySearch(0.5, slices);
  try {
    const answer = await queue.submit({ vectors: numbered(600), search }); // 300 ms of search
    assert.deepEqual(ids(answer), ids(costlySearch(0)(numbered(600))));
  } finally {
    clearInterval(ticker);
  }
  assert.equal(slices[0], 1, 'nothing measured yet: the first slice is one vector');
  assert.ok(Math.max(...slices) <= (SLICE_MS / 0.5) * 1.5, `slices of ${slices.join(', ')} vectors`);
  assert.ok(gaps.length > 15, `the 1 ms timer ran ${gaps.length} times during 300 ms of search`);
  // The 90th percentile, not the max: on a shared machine the OS deschedules the process now and then.
  const p90 = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length * 0.9)];
  assert.ok(p90 < 3 * SLICE_MS, `the loop was held ${p90.toFixed(1)} ms (90th percentile; longest ${Math.max(...gaps).toFixed(1)} ms)`);
});

test('legs run one at a time in arrival order; a failing search fails only its leg', async () => {
  const queue = new SearchQueue({ maxLegs: 8, maxVectors: 10_000, sliceMs: 2 });
  const order: number[] = [];
  const search = costlySearch(0.05);
  const leg = (n: number, job: Partial<SearchJob> = {}) =>
    queue.submit({ vectors: numbered(50, n * 100), search, ...job }).then((lists) => {
      order.push(n);
      return lists;
    });
  const failing = queue.submit({
    vectors: numbered(5),
    search: () => {
      throw new RangeError('bad vector');
    },
  });
  const answers = await Promise.all([leg(0), leg(1), failing.catch((err: Error) => err), leg(2)]);
  assert.deepEqual(order, [0, 1, 2]);
  assert.deepEqual(
    ids(answers[1] as Neighbor[][]),
    Array.from({ length: 50 }, (_, q) => String(100 + q)),
  );
  assert.match(String(answers[2]), /bad vector/);
  assert.equal(queue.legs, 0);
  assert.equal(queue.vectors, 0);
});

test('past the bound in legs or in vectors: busy at once, with how full and an estimate of the drain time', async () => {
  const states: Array<[number, number]> = [];
  let refused = 0;
  const waits: number[] = [];
  const queue = new SearchQueue({
    maxLegs: 3,
    maxVectors: 100,
    sliceMs: 5,
    observer: { queued: (l, v) => states.push([l, v]), refused: () => refused++, waited: (s) => waits.push(s) },
  });
  const search = costlySearch(0.2);
  const warm = await queue.submit({ vectors: numbered(20), search }); // measures ms per vector
  assert.equal(warm.length, 20);
  const admitted = [queue.submit({ vectors: numbered(40), search }), queue.submit({ vectors: numbered(40), search })];
  const started = performance.now();
  const byVectors = await queue.submit({ vectors: numbered(30), search }).catch((err: unknown) => err);
  assert.ok(byVectors instanceof ProtocolError && byVectors.code === 'busy', String(byVectors));
  assert.match(byVectors.message, /80 of 100 query vectors waiting, this leg adds 30/);
  // 80 vectors at ~0.2 ms each (timings on a shared machine: a wide band)
  assert.ok(byVectors.retryAfterMs! >= 8 && byVectors.retryAfterMs! <= 200, `retryAfterMs ${byVectors.retryAfterMs}`);
  assert.equal(byVectors.status, 503);
  assert.equal(byVectors.toReply().error.retryAfterMs, Math.ceil(byVectors.retryAfterMs!));
  admitted.push(queue.submit({ vectors: numbered(10), search }));
  const byLegs = await queue.submit({ vectors: numbered(1), search }).catch((err: unknown) => err);
  assert.ok(byLegs instanceof ProtocolError && byLegs.code === 'busy');
  assert.match(byLegs.message, /3 of 3 legs waiting/);
  assert.ok(performance.now() - started < 5, 'refused without waiting for the searches');
  assert.equal(refused, 2);
  await Promise.all(admitted);
  assert.deepEqual(states.at(-1), [0, 0]);
  assert.equal(waits.length, 4, 'one wait measured per admitted leg');
  // A leg larger than the bound is still taken when nothing waits (else it could never be searched).
  assert.equal((await queue.submit({ vectors: numbered(150), search })).length, 150);
});

test('a leg whose deadline passes is dropped at its next slice (unsearched, or the rest of it)', async () => {
  const queue = new SearchQueue({ maxLegs: 8, maxVectors: 10_000, sliceMs: 5 });
  const calls: number[] = [];
  const search = costlySearch(0.5, calls);
  await queue.submit({ vectors: numbered(4), search }); // measured: ~0.5 ms a vector
  calls.length = 0;
  const expiring = (deadline: number, seen: number[]) => (searched: number) => {
    seen.push(searched);
    if (Date.now() >= deadline) throw new ProtocolError('deadline', `passed after ${searched}`);
  };
  const stoppedAt: number[] = [];
  const long = queue.submit({ vectors: numbered(200), search, beforeSlice: expiring(Date.now() + 40, stoppedAt) }); // ~100 ms of work, 40 ms wanted
  const waited: number[] = [];
  const dropped = queue.submit({ vectors: numbered(1), search, beforeSlice: expiring(Date.now() + 20, waited) });
  await assert.rejects(long, /passed after \d+/);
  await assert.rejects(dropped, /passed after 0/);
  assert.deepEqual(waited, [0], 'asked once, before its first slice');
  const searched = calls.reduce((a, b) => a + b, 0);
  assert.ok(searched > 0 && searched < 200, `the long leg stopped after ${searched} of 200 vectors`);
  assert.equal(searched, stoppedAt.at(-1), 'the dropped leg was never searched');
  assert.equal(queue.vectors, 0);
});

test('vectors that are not whole 128-d rows are refused as a bad request', async () => {
  const queue = new SearchQueue({ maxLegs: 1, maxVectors: 1, sliceMs: 1 });
  await assert.rejects(
    queue.submit({ vectors: new Float32Array(130), search: costlySearch(0) }),
    (err: unknown) => err instanceof ProtocolError && err.code === 'bad_request',
  );
  assert.throws(() => new SearchQueue({ maxLegs: 0, maxVectors: 1, sliceMs: 1 }), /maxLegs and maxVectors must be >= 1/);
});

test('waiting legs of one index and one search mode are searched together, each answered as alone; others are not mixed', async () => {
  const people = syntheticFaces({ identities: 2000, photosPerIdentity: 5, seed: 11 });
  const index = new FaceIndex();
  for (let i = 0; i < people.ids.length; i++) index.upsert(people.ids[i], people.vectors.subarray(i * DIMS, (i + 1) * DIMS));
  const other = new FaceIndex();
  other.upsert('only', people.vectors.subarray(0, DIMS));
  const queue = new SearchQueue({ maxLegs: 64, maxVectors: 10_000, sliceMs: 50 });
  const calls: number[] = [];
  const leg = (vectors: Float32Array, target: FaceIndex, k: number, approximate: boolean): SearchJob => ({
    vectors,
    search: (v) => {
      calls.push(v.length / DIMS);
      return target.search(v, k, undefined, approximate ? { approximate: true, effort: 1 } : undefined);
    },
    batch: { target, key: `${k}/${approximate}` },
  });
  // A first leg measures the rate (no batching before).
  await queue.submit(leg(uniformVectors(4, 1), index, 5, false));
  calls.length = 0;
  const queries = Array.from({ length: 12 }, (_, i) => syntheticFaces({ identities: 3, photosPerIdentity: 1, seed: 100 + i }).vectors);
  const kinds = queries.map((_, i) =>
    i === 5
      ? { target: other, k: 5, approximate: false }
      : i === 8
        ? { target: index, k: 3, approximate: false }
        : i === 9
          ? { target: index, k: 5, approximate: true }
          : { target: index, k: 5, approximate: false },
  );
  const answers = await Promise.all(queries.map((q, i) => queue.submit(leg(q, kinds[i].target, kinds[i].k, kinds[i].approximate))));
  for (let i = 0; i < queries.length; i++) {
    const { target, k, approximate } = kinds[i];
    assert.deepEqual(
      answers[i],
      target.search(queries[i], k, undefined, approximate ? { approximate: true, effort: 1 } : undefined),
      `leg ${i} answered as alone`,
    );
  }
  // 12 legs of 3 vectors: fewer calls than legs; the legs of another index or mode alone.
  assert.ok(calls.length < 12, `12 legs in ${calls.length} searches (${calls.join(', ')})`);
  assert.ok(calls.includes(3), 'a leg that shares its batch with no neighbour is searched alone');
  assert.equal(
    calls.reduce((a, b) => a + b, 0),
    36,
  );
});

test('a leg dropped at its turn does not spoil the legs searched with it', async () => {
  const queue = new SearchQueue({ maxLegs: 64, maxVectors: 10_000, sliceMs: 50 });
  const search = costlySearch(0.01);
  const target = {};
  const job = (start: number, drop = false): SearchJob => ({
    vectors: numbered(2, start),
    search,
    beforeSlice: () => {
      if (drop) throw new ProtocolError('deadline', `leg ${start} expired`);
    },
    batch: { target, key: 'k' },
  });
  await queue.submit(job(1000)); // measures the rate
  const legs = [queue.submit(job(0)), queue.submit(job(10, true)), queue.submit(job(20))];
  const [a, b, c] = await Promise.allSettled(legs);
  assert.deepEqual(a.status === 'fulfilled' && ids(a.value), ['0', '1']);
  assert.equal(b.status, 'rejected');
  assert.match(String((b as PromiseRejectedResult).reason), /leg 10 expired/);
  assert.deepEqual(c.status === 'fulfilled' && ids(c.value), ['20', '21']);
  assert.equal(queue.legs, 0);
  assert.equal(queue.vectors, 0);
});
