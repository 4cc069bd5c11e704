import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QueryReply } from '../../libs/protocol/index.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { toFaces } from '../helpers/expected.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

/** Past the index's thresholds for IVF lists (20,000) and for the pre-filter (1,024). */
const FACES = 24_000;

/**
 * A replica restarted from its snapshot is ready only with what approximate search needs:
 * its lists and its pre-filter (both carried by the snapshot, not rebuilt after readiness),
 * so its first approximate answers are the ones it gave before the stop.
 */
describe('a shard restarted from its snapshot', () => {
  let cluster: TestCluster;
  let snapshots: string;
  const data = benchmarkData({ faces: FACES, identities: FACES / 4, queries: 60, seed: 24 });
  const shardEnv = () => ({ SNAPSHOT_DIR: path.join(snapshots, 'shard-{shard}'), SNAPSHOT_INTERVAL_S: '1', LOG_LEVEL: 'info' });

  before(async () => {
    snapshots = await tempDir('faceshard-restart-');
    cluster = await startTestCluster({ shards: 1, shardEnv, readyTimeoutMs: 60_000 });
    const faces = toFaces(data.vectors, data.ids, false);
    assert.equal((await cluster.client.ingestMany(faces, { concurrency: 4, timeoutMs: 30_000 })).accepted, FACES);
  });
  after(async () => {
    await cluster?.cleanup();
    await removeDir(snapshots);
  });

  const ask = async (approximate: boolean): Promise<QueryReply> => {
    const reply = await cluster.client.queryBinary(data.queries, { k: 10, ...(approximate ? { approximate: true, effort: 1 } : {}) });
    assert.equal(reply.partial, false);
    return reply;
  };

  test('is ready with its lists and pre-filter, and answers approximate queries as before the stop from the first one', async () => {
    await until(
      'every face in the lists, the pre-filter ready, maintenance idle',
      async () => {
        const r = (await cluster.client.status()).shards[0]?.replicas[0];
        return r && r.count === FACES && r.listedRows === FACES && r.prefilter === true && r.maintenance === 'idle' ? r : undefined;
      },
      60_000,
    );
    const approximate = (await ask(true)).results;
    const exact = (await ask(false)).results;
    // SIGTERM: the last snapshot (lists and pre-filter included) is written on the way out.
    await cluster.stopProcess('shard-0.0');
    const started = performance.now();
    cluster.startService('shard-0.0', 'shard', { ...shardEnv(), SHARD_INDEX: '0' });
    // The first status that says ready: what the replica holds at that moment.
    const first = await until(
      'the restarted replica ready',
      async () => (await cluster.client.status(100)).shards[0]?.replicas.find((r) => r.ready),
      60_000,
      10,
    );
    const readyMs = performance.now() - started;
    assert.equal(first.count, FACES);
    assert.equal(first.listedRows, FACES, 'every face in the lists when ready');
    assert.equal(first.prefilter, true, 'the pre-filter ready when ready');
    assert.deepEqual((await ask(true)).results, approximate, 'the first approximate answers are the ones before the stop');
    assert.deepEqual((await ask(false)).results, exact);
    const loaded = cluster.output
      .join('')
      .split('\n')
      .filter((line) => line.includes('"msg":"snapshot loaded"'));
    assert.equal(loaded.length, 1, loaded.join('\n'));
    assert.match(loaded[0], /"version":3/);
    assert.match(loaded[0], /"prefilter":true/);
    assert.match(loaded[0], /"readSeconds":/);
    assert.ok(readyMs < 30_000, `ready after ${readyMs.toFixed(0)} ms`);
  });
});
