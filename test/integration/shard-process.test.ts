import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, headers } from 'nats';
import { ShardGroupReply, subjectsFor } from '../../libs/protocol/index.js';
import { scatter } from '../../services/coordinator/scatter.js';
import { shardOf } from '../../libs/sharding/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { assertSameResults, ExpectedFaces, toFaces } from '../helpers/expected.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const SHARDS = 3;

describe('one shard process serving two shards (SHARD_INDEX=0,2) beside one serving shard 1', () => {
  let cluster: TestCluster;
  let snapshots: string;
  const expected = new ExpectedFaces();
  const people = syntheticFaces({ identities: 300, photosPerIdentity: 5, seed: 21 });
  const queries = new Float32Array([
    ...syntheticFaces({ identities: 300, photosPerIdentity: 1, seed: 21 }).vectors.subarray(0, 12 * FACE_DIMENSIONS),
    ...uniformVectors(4, 5),
  ]);
  const httpPortOf = async (shard: number) => (await cluster.client.status()).shards.find((s) => s.index === shard)!.replicas[0].httpPort!;
  const metricValue = async (port: number, pattern: RegExp) => Number(pattern.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
  const groupLegs = (port: number) => metricValue(port, /faceshard_shard_group_legs_total(?:\{[^}]*\})? (\d+)/);
  const snapshotEnv = () => ({ SNAPSHOT_DIR: path.join(snapshots, 'shard-{shard}'), SNAPSHOT_INTERVAL_S: '1' });

  before(async () => {
    snapshots = await tempDir('faceshard-multi-');
    cluster = await startTestCluster({ shards: SHARDS, shardProcesses: [[0, 2], [1]], shardEnv: snapshotEnv });
    const faces = toFaces(people.vectors, people.ids);
    assert.equal((await cluster.client.ingestMany(faces)).accepted, faces.length);
    expected.upsert(faces);
  });
  after(async () => {
    await cluster?.cleanup();
    await removeDir(snapshots);
  });

  test('each shard is its own replica in discovery, two of them with one pid; answers equal brute force', async () => {
    const perShard = [0, 0, 0];
    for (const id of people.ids) perShard[shardOf(id, SHARDS)]++;
    const status = await until('every shard holds its faces', async () => {
      const s = await cluster.client.status();
      return perShard.every((n, i) => s.shards.find((x) => x.index === i)?.replicas[0]?.count === n) ? s : undefined;
    });
    const pidOf = (shard: number) => status.shards.find((s) => s.index === shard)!.replicas[0].pid;
    assert.equal(pidOf(0), pidOf(2));
    assert.notEqual(pidOf(0), pidOf(1));
    assert.equal(pidOf(0), cluster.processes.get('shard-0+2.0')!.pid);
    const reply = await cluster.client.queryBinary(queries, { k: 10 });
    assert.equal(reply.partial, false);
    assertSameResults(reply.results, expected.search(queries, 10));
  });

  test('one /metrics with both shards labelled, one /readyz listing both', async () => {
    const status = await cluster.client.status();
    const port = status.shards.find((s) => s.index === 2)!.replicas[0].httpPort!;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const shard of [0, 2]) assert.match(metrics, new RegExp(`faceshard_shard_faces\\{shard="${shard}",service="shard"\\} [1-9]\\d*`));
    assert.doesNotMatch(metrics, /faceshard_shard_faces\{shard="1"/);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { shards: Array<{ shard: number }> };
    assert.deepEqual(
      body.shards.map((s) => s.shard),
      [0, 2],
    );
  });

  test('the coordinator sends the two-shard process one group leg for both; answers still equal brute force', async () => {
    const port = await httpPortOf(0);
    await until('the coordinator uses the group leg', async () => {
      const before = await groupLegs(port);
      const reply = await cluster.client.queryBinary(queries, { k: 10 });
      assertSameResults(reply.results, expected.search(queries, 10));
      return (await groupLegs(port)) > before ? true : undefined;
    });
    const before = await groupLegs(port);
    const reply = await cluster.client.queryBinary(queries, { k: 10, maxDistance: 0.6 });
    assertSameResults(reply.results, expected.search(queries, 10, undefined, 0.6));
    assert.equal(reply.shards.answered, SHARDS);
    assert.equal(await groupLegs(port), before + 1, 'one group leg for the query, not one leg per shard');
    assert.equal(await groupLegs(await httpPortOf(1)), 0, 'a one-shard process has no group leg');
    const coordinatorPort = (await cluster.client.status()).coordinators[0].httpPort!;
    const ready = (await (await fetch(`http://127.0.0.1:${coordinatorPort}/readyz`)).json()) as { legs: string[] };
    assert.deepEqual(ready.legs, ['0+2', '1'], "the coordinator's /readyz names its legs");
  });

  test("the group subject answers a person in JSON (one reply per shard); a wait on one shard's log is refused", async () => {
    const nc = await connect({ servers: cluster.url });
    try {
      const vectors = [Array.from(queries.subarray(0, FACE_DIMENSIONS)), Array.from(queries.subarray(FACE_DIMENSIONS, 2 * FACE_DIMENSIONS))];
      const msg = await nc.request('faces.shards.0-2.query', JSON.stringify({ vectors, k: 5 }), { timeout: 5000 });
      const { replies } = ShardGroupReply.parse(JSON.parse(new TextDecoder().decode(msg.data)));
      assert.deepEqual(
        replies.map((r) => r.shard),
        [0, 2],
      );
      for (const r of replies)
        assertSameResults(
          r.results.map((list) => list.map((m) => ({ ...m, shard: r.shard }))),
          expected.search(queries.subarray(0, 2 * FACE_DIMENSIONS), 5, (id) => shardOf(id, SHARDS) === r.shard),
        );
      const h = headers();
      h.set('applied-seq', '1');
      const refused = await nc.request('faces.shards.0-2.query', JSON.stringify({ vectors, k: 5 }), { timeout: 5000, headers: h });
      assert.equal(refused.headers?.get('Nats-Service-Error-Code'), '400');
      assert.match(new TextDecoder().decode(refused.data), /group leg takes stream-seq, not applied-seq/);
    } finally {
      await nc.close();
    }
  });

  test('scatter: a group leg answers for both shards at once; a group nobody serves is retried shard by shard', async () => {
    const nc = await connect({ servers: cluster.url });
    try {
      const query = { vectors: queries, count: queries.length / FACE_DIMENSIONS, k: 10 };
      let failures = 0;
      const grouped = await scatter(nc, subjectsFor(), [[0, 2], [1]], query, 5000, () => failures++);
      assert.deepEqual(
        grouped.map((l) => [l.shard, l.ok, l.attempts]),
        [
          [0, true, 1],
          [1, true, 1],
          [2, true, 1],
        ],
      );
      assert.equal(failures, 0);
      const missing = await scatter(nc, subjectsFor(), [[0, 1], [2]], query, 5000, () => failures++);
      assert.deepEqual(
        missing.map((l) => [l.shard, l.ok, l.attempts]),
        [
          [0, true, 2],
          [1, true, 2],
          [2, true, 1],
        ],
        'shards 0 and 1 answered on their own legs',
      );
      assert.equal(failures, 1);
      for (const outcomes of [grouped, missing]) {
        for (const leg of outcomes) {
          assert.ok(leg.ok);
          const shardQueries = leg.reply.results.map((list) => list.map((m) => ({ ...m, shard: leg.shard })));
          assertSameResults(
            shardQueries,
            expected.search(queries, 10, (id) => shardOf(id, SHARDS) === leg.shard),
            `shard ${leg.shard}: `,
          );
        }
      }
    } finally {
      await nc.close();
    }
  });

  test('a replica of shard 0 outside the group: shards 0 and 2 go back to legs of their own, so it gets queries too', async () => {
    const extra = 'shard-0.extra';
    cluster.startService(extra, 'shard', { SHARD_INDEX: '0' });
    try {
      const extraPort = await until('the extra replica serves', async () => {
        const s = await cluster.client.status();
        const replica = s.shards.find((x) => x.index === 0)?.replicas.find((r) => r.pid === cluster.processes.get(extra)!.pid);
        return replica?.ready ? replica.httpPort : undefined;
      });
      const port = await httpPortOf(2);
      await until('the group leg is no longer used', async () => {
        const before = await groupLegs(port);
        await cluster.client.queryBinary(queries, { k: 10 });
        return (await groupLegs(port)) === before ? true : undefined;
      });
      for (let i = 0; i < 20; i++) {
        const reply = await cluster.client.queryBinary(queries, { k: 10 });
        assertSameResults(reply.results, expected.search(queries, 10));
      }
      const answered = await metricValue(extraPort!, /faceshard_shard_queries_total\{shard="0"[^}]*\} (\d+)/);
      assert.ok(answered > 0, 'the replica outside the group answered some of the 20 queries');
    } finally {
      await cluster.stopProcess(extra);
    }
  });

  test('a shard the cluster does not have is refused at start, naming it; the others keep serving', async () => {
    const bad = cluster.startService('shard-1+5.0', 'shard', { SHARD_INDEX: '1,5' });
    const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(cluster.output.join(''), /SHARD_INDEX names shard 5 but the cluster has 3 shards \(0\.\.2\)/);
    const reply = await cluster.client.queryBinary(queries, { k: 10 });
    assert.equal(reply.partial, false);
  });

  test('SIGTERM takes both shards away; restarted, each loads its own snapshot and answers again', async () => {
    await until('both shards snapshotted', async () => {
      const s = await cluster.client.status();
      return [0, 2].every((i) => (s.shards.find((x) => x.index === i)?.replicas[0]?.snapshotSeq ?? 0) > 0) ? true : undefined;
    });
    await cluster.stopProcess('shard-0+2.0');
    const down = await cluster.client.queryBinary(queries, { k: 10 });
    assert.deepEqual(down.missing?.map((m) => m.shard).sort(), [0, 2]);
    assertSameResults(
      down.results,
      expected.search(queries, 10, (id) => shardOf(id, SHARDS) === 1),
    );

    cluster.startService('shard-0+2.0', 'shard', { ...snapshotEnv(), SHARD_INDEX: '0,2', LOG_LEVEL: 'info' });
    const reply = await until('complete answers again', async () => {
      const r = await cluster.client.queryBinary(queries, { k: 10 });
      return r.partial ? undefined : r;
    });
    assertSameResults(reply.results, expected.search(queries, 10));
    const loaded = cluster.output
      .join('')
      .split('\n')
      .filter((line) => line.includes('"msg":"snapshot loaded"'));
    for (const shard of [0, 2])
      assert.ok(
        loaded.some((line) => line.includes(`"shard":${shard}`)),
        `shard ${shard} loaded its snapshot:\n${loaded.join('\n')}`,
      );
  });
});
