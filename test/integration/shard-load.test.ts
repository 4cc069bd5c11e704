import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { FaceIndex } from '../../libs/index/face-index/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { percentile } from '../../bench/percentile.js';
import { nearQueries, pollHealth, sendLeg, startLoadedShard, type LoadedShard, type LegOutcome } from '../helpers/loaded-shard.js';

/** Enough faces that an exact 2000-vector leg takes well over a second on this machine (~0.7 ms a vector, more on a busy one). */
const FACES = 120_000;
const MAX_LEGS = 4;
const K = 3;

describe('a shard under a flood of exact legs: health answers, the queue refuses fast, accepted legs answer exactly', () => {
  let shard: LoadedShard;
  before(async () => {
    shard = await startLoadedShard(FACES, { SHARD_QUEUE_MAX_LEGS: String(MAX_LEGS), SHARD_QUEUE_MAX_VECTORS: '100000' });
  });
  after(async () => {
    await shard?.cleanup();
  });

  test('/healthz and /readyz < 1 s throughout; legs past the bound get busy (503, retryAfterMs) within 50 ms', async (t) => {
    const { nc, httpPort, people } = shard;
    await sendLeg(nc, nearQueries(8), K); // the queue measures its time per vector
    // One leg the size of a full scatter leg (2,000 of the 2,040 vectors that fit 1 MB), then smaller ones: MAX_LEGS admitted.
    const sizes = [2000, 256, 256, 256];
    const all = nearQueries(2000 + 256 * 3);
    const health = pollHealth(httpPort, '/healthz', 100);
    const ready = pollHealth(httpPort, '/readyz', 100);
    const started = performance.now();
    // Settled, never thrown before the pollers stop (their timers would keep the process alive).
    const admitted = Promise.allSettled(sizes.map((_, i) => sendLeg(nc, legVectors(all, sizes, i), K)));
    // While the shard searches: waves of more legs, each past the bound.
    const waves: Array<PromiseSettledResult<LegOutcome>[]> = [];
    await sleep(300); // the searches under way
    for (let wave = 0; wave < 4; wave++) {
      await sleep(150);
      waves.push(
        await Promise.allSettled(Array.from({ length: 6 }, (_, i) => sendLeg(nc, all.subarray(i * 64 * FACE_DIMENSIONS, (i + 1) * 64 * FACE_DIMENSIONS), K))),
      );
    }
    const settled = await admitted;
    const floodMs = performance.now() - started;
    const [healthMs, readyMs] = await Promise.all([health.stop(), ready.stop()]);
    const accepted = settled.map(outcome).map((o, i) => ({ i, ...o }));
    const refused = waves.flat().map(outcome);
    t.diagnostic(
      `flood ${floodMs.toFixed(0)} ms; admitted legs answered after ${accepted.map((o) => o.ms.toFixed(0)).join(', ')} ms; refusals after ${refused.map((o) => o.ms.toFixed(0)).join(', ')} ms; /healthz max ${Math.max(...healthMs).toFixed(0)} ms of ${healthMs.length}, /readyz max ${Math.max(...readyMs).toFixed(0)} ms`,
    );

    for (const a of accepted) assert.ok('reply' in a, `admitted leg ${a.i}: ${JSON.stringify('error' in a && a.error)}`);
    assert.ok(accepted[0].ms > 1000, `the 2000-vector leg took ${accepted[0].ms.toFixed(0)} ms: the shard was busy for over a second`);
    assert.ok(floodMs > 1000 && performance.now() - started > 900, 'the refusals came while the shard searched');
    for (const r of refused) {
      assert.ok('error' in r, 'a leg past the bound was admitted');
      assert.equal(r.status, '503');
      assert.equal(r.error.code, 'busy', r.error.message);
      assert.match(r.error.message, /\d of 4 legs waiting/);
      assert.ok(r.error.retryAfterMs !== undefined && r.error.retryAfterMs > 50, `retryAfterMs ${r.error.retryAfterMs}: the drain time of the vectors waiting`);
      // Slices of ~15 ms (SEARCH_SLICE_MS, the default); on this shared 2-core machine the shard is also descheduled now and then.
      assert.ok(r.ms < 250, `refused after ${r.ms.toFixed(1)} ms`);
    }
    const median = percentile(
      refused.map((r) => r.ms),
      50,
    );
    assert.ok(median < 50, `refusals took ${median.toFixed(1)} ms (median)`);
    for (const [what, latencies] of [
      ['/healthz', healthMs],
      ['/readyz', readyMs],
    ] as const) {
      assert.ok(latencies.length >= floodMs / 100 / 2, `${what}: ${latencies.length} answers during ${floodMs.toFixed(0)} ms`);
      assert.ok(Math.max(...latencies) < 1000, `${what}: slowest answer ${Math.max(...latencies).toFixed(0)} ms (of ${latencies.length})`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`faceshard_shard_busy_refusals_total(?:\\{[^}]*\\})? ${refused.length}\\n`));
    assert.match(metrics, /faceshard_shard_queue_legs(?:\{[^}]*\})? 0\n/);

    // What an unloaded, unsliced search over the same faces answers (exact search answers each vector on its own: a sample of every leg).
    const index = new FaceIndex();
    index.pauseMaintenance();
    for (let i = 0; i < people.ids.length; i++) index.upsert(people.ids[i], people.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS));
    index.resumeMaintenance();
    for (const a of accepted) {
      if (!('reply' in a)) continue;
      const vectors = legVectors(all, sizes, a.i);
      const count = vectors.length / FACE_DIMENSIONS;
      assert.equal(a.reply.results.length, count);
      const stride = Math.max(1, Math.floor(count / 100));
      const sample = Array.from({ length: Math.ceil(count / stride) }, (_, j) => j * stride);
      const picked = new Float32Array(sample.length * FACE_DIMENSIONS);
      sample.forEach((q, j) => picked.set(vectors.subarray(q * FACE_DIMENSIONS, (q + 1) * FACE_DIMENSIONS), j * FACE_DIMENSIONS));
      const expected = index.search(picked, K).map((list) => list.map((n) => ({ id: n.id, distance: n.distance })));
      assert.deepEqual(
        sample.map((q) => a.reply.results[q]),
        expected,
        `leg ${a.i}`,
      );
    }
  });
});

function outcome(settled: PromiseSettledResult<LegOutcome>): LegOutcome {
  if (settled.status === 'rejected') throw settled.reason;
  return settled.value;
}

/** Leg `i` of the wave: consecutive runs of `all` (wrapping), so each leg asks something different. */
function legVectors(all: Float32Array, sizes: number[], i: number): Float32Array {
  const count = all.length / FACE_DIMENSIONS;
  let start = 0;
  for (let j = 0; j < i; j++) start = (start + sizes[j]) % count;
  const end = Math.min(count, start + sizes[i]);
  return all.subarray(start * FACE_DIMENSIONS, end * FACE_DIMENSIONS);
}
