/**
 * A log no one can poison (issue 20), against a real nats-server with authentication on:
 * records forged straight into a shard's log by a holder of valid credentials (the admin
 * may publish anything) are refused whole and never served; a leg answered by another
 * shard is dropped; a reused batch id is reported as duplicates, not as stored; a purge
 * while shards run makes every replica start over, so none serves faces its peers lack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { ensureFaceStream } from '../../libs/nats/cluster/stream.js';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import { encodeDeleteRecord, encodeUpsertRecord, SHARD_SERVICE, ShardReply, subjectsFor } from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { assertSameResults, ExpectedFaces, toFaces } from '../helpers/expected.js';
import { until } from '../helpers/wait.js';

const SHARDS = 2;
const REPLICAS = 2;
const subjects = subjectsFor('faces');

/** An id shard `shard` owns, from `prefix`. */
function idOf(shard: number, prefix: string): string {
  for (let n = 0; ; n++) if (shardOf(`${prefix}-${n}`, SHARDS) === shard) return `${prefix}-${n}`;
}

/** A counter's value in one process's /metrics (0 when it has no such sample yet). */
async function metric(port: number | undefined, name: string, labels: string): Promise<number> {
  assert.ok(port, 'the process reports its HTTP port');
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const escaped = labels.replace(/[{}"]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${name}${escaped} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** The metric, per replica of shard `shard`. */
async function perReplica(cluster: TestCluster, shard: number, name: string, labels: string): Promise<number[]> {
  const replicas = (await cluster.client.status()).shards.find((s) => s.index === shard)?.replicas ?? [];
  return Promise.all(replicas.map((r) => metric(r.httpPort, name, labels)));
}

describe('a log no one can poison', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let admin: NatsConnection;
  const expected = new ExpectedFaces();
  const people = syntheticFaces({ identities: 150, photosPerIdentity: 2, seed: 2020 });
  const probes = syntheticFaces({ identities: 6, photosPerIdentity: 1, seed: 4040, idPrefix: 'probe' });
  const probe = (i: number) => probes.vectors.slice(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS);

  before(async () => {
    cluster = await startTestCluster({ shards: SHARDS, replicas: REPLICAS, auth: true, shardEnv: () => ({ LOG_CHECK_INTERVAL_MS: '300' }) });
    admin = await connectAs({ servers: cluster.url }, cluster.admin);
    const faces = toFaces(people.vectors, people.ids);
    const reply = await cluster.client.ingestMany(faces);
    assert.equal(reply.accepted, faces.length);
    expected.upsert(faces);
  });
  after(async () => {
    await admin?.close();
    await cluster?.cleanup();
  });

  test("records forged into a shard log (an id of another shard, oversized meta, a NaN vector, a tombstone of another shard's id) are refused whole, counted on every replica, never served", async () => {
    const js = admin.jetstream();
    const log0 = subjects.data(0);
    const honest0 = people.ids.find((id) => shardOf(id, SHARDS) === 0)!;
    // Each forged face sits exactly on a probe: served, it would be the top match at distance 0.
    const forged = [
      { reason: 'wrong_shard', record: encodeUpsertRecord([idOf(1, 'forged-elsewhere')], [undefined], probe(0)) },
      { reason: 'oversized_meta', record: encodeUpsertRecord([idOf(0, 'forged-meta')], [{ note: 'x'.repeat(5000) }], probe(1)) },
      {
        reason: 'bad_vector',
        record: (() => {
          const vectors = new Float32Array(2 * FACE_DIMENSIONS);
          vectors.set(probe(2), 0);
          vectors.set(probe(3), FACE_DIMENSIONS);
          vectors[FACE_DIMENSIONS + 7] = Number.NaN;
          return encodeUpsertRecord([idOf(0, 'forged-fine'), idOf(0, 'forged-nan')], [undefined, undefined], vectors);
        })(),
      },
      // A tombstone for an honest face of shard 0, in a record that also names an id of shard 1.
      { reason: 'wrong_shard', record: encodeDeleteRecord([honest0, idOf(1, 'forged-tombstone')]) },
    ];
    let lastSeq = 0;
    for (const { record } of forged) lastSeq = (await js.publish(log0, record)).seq;

    const queries = new Float32Array([
      ...probes.vectors.subarray(0, 4 * FACE_DIMENSIONS),
      ...people.vectors.subarray(people.ids.indexOf(honest0) * FACE_DIMENSIONS, (people.ids.indexOf(honest0) + 1) * FACE_DIMENSIONS),
    ]);
    // Every replica of shard 0 applied past the forged records (appliedSeq waits are per replica: ask until both answered).
    await until(
      'both replicas of shard 0 read the forged records',
      async () => {
        const replicas = (await cluster.client.status()).shards[0].replicas;
        return replicas.length === REPLICAS && replicas.every((r) => r.appliedSeq >= lastSeq) ? true : undefined;
      },
      15_000,
    );
    for (let round = 0; round < 6; round++) {
      const reply = await cluster.client.queryBinary(queries, { k: 5, minSeq: { '0': lastSeq }, timeoutMs: 10_000 });
      assert.equal(reply.partial, false, JSON.stringify(reply.missing));
      for (const list of reply.results) for (const m of list) assert.ok(!m.id.startsWith('forged'), `a forged face was served: ${m.id}`);
      assertSameResults(reply.results, expected.search(queries, 5));
      assert.equal(reply.results[4][0].id, honest0, 'the forged tombstone deleted nothing');
    }

    const at = (labels: string) => perReplica(cluster, 0, 'faceshard_shard_refused_log_records_total', labels);
    const logged = () => cluster.output.filter((line) => /refusing a log record|changed under/.test(line)).join('');
    assert.deepEqual(await at('{shard="0",reason="wrong_shard",service="shard"}'), [2, 2], logged());
    assert.deepEqual(await at('{shard="0",reason="oversized_meta",service="shard"}'), [1, 1], logged());
    assert.deepEqual(await at('{shard="0",reason="bad_vector",service="shard"}'), [1, 1], logged());
    assert.deepEqual(await perReplica(cluster, 0, 'faceshard_shard_refused_log_faces_total', '{shard="0",service="shard"}'), [6, 6], logged());
  });

  test('a leg answered by another shard than the one asked is dropped and counted: the answer is partial, never forged', async () => {
    // Valid credentials of a process serving shards 0 and 1: it may register as a replica of shard 0 (discovery, its own
    // subject, the queue group) and answers as shard 1.
    const creds = cluster.credentials!.credsFile({ role: 'shard', shards: [0, 1] });
    const forger = await connectAs({ servers: cluster.url }, { creds });
    try {
      const forge = (_err: unknown, msg: { respond(data: Uint8Array): boolean }) => {
        const reply: ShardReply = { shard: 1, faces: 1, appliedSeq: 1, results: [[{ id: 'forged-by-a-twin', distance: 0 }]] };
        msg.respond(new TextEncoder().encode(JSON.stringify(ShardReply.parse(reply))));
      };
      const service = await forger.services.add({ name: SHARD_SERVICE, version: '0.1.0', metadata: { shard: '0' } });
      service.addEndpoint('query', { subject: subjects.shardQuery(0), queue: subjects.shardQueue(0), handler: forge });
      service.addEndpoint('direct', { subject: subjects.shardReplicaQuery(0, service.info().id), handler: forge });
      await forger.flush();
      // The coordinator routes to the replicas discovery shows (every LEG_PLAN_INTERVAL_MS, 2 s).
      await new Promise((r) => setTimeout(r, 3000));
      const coordinatorPort = (await cluster.client.status()).coordinators[0].httpPort;
      const before = await metric(coordinatorPort, 'faceshard_coordinator_leg_shard_mismatch_total', '{service="coordinator"}');
      const queries = people.vectors.subarray(0, FACE_DIMENSIONS);
      let partial = 0;
      // One replica in three is the forger: over 30 queries it is asked (p = 1 - (2/3)^30).
      for (let i = 0; i < 30; i++) {
        const reply = await cluster.client.queryBinary(queries, { k: 3 });
        assert.ok(
          reply.results[0].every((m) => m.id !== 'forged-by-a-twin'),
          'the forged reply was merged',
        );
        if (reply.partial) {
          partial++;
          assert.deepEqual(
            reply.missing?.map((m) => m.shard),
            [0],
          );
          assertSameResults(
            reply.results,
            expected.search(queries, 3, (id) => shardOf(id, SHARDS) !== 0),
          );
        } else {
          assertSameResults(reply.results, expected.search(queries, 3));
        }
      }
      const after = await metric(coordinatorPort, 'faceshard_coordinator_leg_shard_mismatch_total', '{service="coordinator"}');
      assert.ok(after > before, `mismatches counted (${before} -> ${after}; ${partial} partial answers)`);
      await service.stop();
    } finally {
      await forger.close();
    }
  });

  test('an ingest whose records JetStream acks as duplicates reports them, not as stored', async () => {
    const batch = syntheticFaces({ identities: 10, photosPerIdentity: 1, seed: 77, idPrefix: 'dup' });
    const faces = toFaces(batch.vectors, batch.ids);
    const first = await cluster.client.ingestBinary(faces, { batchId: 'same-batch' });
    assert.equal(first.accepted, faces.length);
    assert.equal(first.duplicates, undefined);
    expected.upsert(faces);
    const retry = await cluster.client.ingestBinary(faces, { batchId: 'same-batch' });
    assert.deepEqual({ accepted: retry.accepted, duplicates: retry.duplicates }, { accepted: 0, duplicates: faces.length });
    assert.deepEqual(retry.seq, first.seq, 'the sequences of the records stored the first time');
    // Other vectors under the same batch id (someone reusing it): not stored, and said so.
    const moved = toFaces(
      batch.vectors.map((v) => -v),
      batch.ids,
    );
    const reused = await cluster.client.ingestBinary(moved, { batchId: 'same-batch' });
    assert.deepEqual({ accepted: reused.accepted, duplicates: reused.duplicates }, { accepted: 0, duplicates: faces.length });
    const reply = await cluster.client.queryBinary(batch.vectors, { k: 1, minSeq: first.seq, timeoutMs: 10_000 });
    assert.deepEqual(
      reply.results.map((list) => list[0]?.id),
      batch.ids,
    );
    const coordinatorPort = (await cluster.client.status()).coordinators[0].httpPort;
    assert.equal(await metric(coordinatorPort, 'faceshard_faces_duplicate_total', '{service="coordinator"}'), 2 * faces.length);
  });

  test('a purge (the stream deleted and made again by the admin) while shards run: every replica notices, starts over and serves the same new set', async () => {
    // A replica that starts over leaves discovery and the query group (not ready) and joins again as a new service instance.
    const instances = async () => new Map((await cluster.client.status()).shards.flatMap((s) => s.replicas.map((r) => [`${s.index}/${r.pid}`, r.id] as const)));
    const before = await instances();
    const jsm = await admin.jetstreamManager();
    const oldCreated = (await jsm.streams.info(subjects.stream)).created;
    await jsm.streams.delete(subjects.stream);
    await ensureFaceStream(admin, subjects, 1);
    assert.notEqual((await jsm.streams.info(subjects.stream)).created, oldCreated);

    const fresh = syntheticFaces({ identities: 40, photosPerIdentity: 2, seed: 3030, idPrefix: 'after-purge' });
    const faces = toFaces(fresh.vectors, fresh.ids);
    const ingested = await cluster.client.ingestMany(faces);
    assert.equal(ingested.accepted, faces.length);
    const after = new ExpectedFaces();
    after.upsert(faces);
    const perShard = [0, 0];
    for (const id of fresh.ids) perShard[shardOf(id, SHARDS)]++;

    await until(
      'every replica started over on the new stream and holds exactly its share of the new set',
      async () => {
        const status = await cluster.client.status();
        const replicas = status.shards.flatMap((s) => s.replicas.map((r) => ({ shard: s.index, ...r })));
        if (replicas.length !== SHARDS * REPLICAS || !replicas.every((r) => r.ready && r.count === perShard[r.shard])) return undefined;
        const resets = await Promise.all(
          replicas.map((r) => metric(r.httpPort, 'faceshard_shard_log_resets_total', `{shard="${r.shard}",reason="recreated",service="shard"}`)),
        );
        return resets.every((n) => n === 1) ? true : undefined;
      },
      30_000,
      200,
    );
    const afterwards = await instances();
    assert.deepEqual([...afterwards.keys()].sort(), [...before.keys()].sort(), 'the same replica processes');
    for (const [replica, id] of afterwards) assert.notEqual(id, before.get(replica), `replica ${replica} left the query group and joined again`);

    // Old faces and new: only the new set answers, from whichever replica the legs reach.
    const queries = new Float32Array([...people.vectors.subarray(0, 5 * FACE_DIMENSIONS), ...fresh.vectors.subarray(0, 5 * FACE_DIMENSIONS)]);
    for (let round = 0; round < 8; round++) {
      const reply = await cluster.client.queryBinary(queries, { k: 5, minSeq: ingested.seq, timeoutMs: 10_000 });
      assert.equal(reply.partial, false, JSON.stringify(reply.missing));
      assert.equal(reply.searched, faces.length);
      assertSameResults(reply.results, after.search(queries, 5));
    }
  });
});
