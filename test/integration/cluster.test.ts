import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, headers as natsHeaders } from 'nats';
import { FaceshardError } from '../../libs/nats/client/index.js';
import {
  BINARY_CONTENT_TYPE,
  decodeShardReplyBinary,
  encodeUpsertRecord,
  REPLY_FORMAT_HEADER,
  SHARD_REPLY_BINARY_CONTENT_TYPE,
  ShardReply,
  subjectsFor,
} from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { assertSameResults, ExpectedFaces, toFaces } from '../helpers/expected.js';
import { until } from '../helpers/wait.js';

const SHARDS = 3;

describe('a 3-shard cluster on a real nats-server', () => {
  let cluster: TestCluster;
  const expected = new ExpectedFaces();
  const people = syntheticFaces({ identities: 300, photosPerIdentity: 5, seed: 7 });
  const queryPeople = syntheticFaces({ identities: 300, photosPerIdentity: 1, seed: 7 }); // same centres, fresh photos
  const queries = new Float32Array([...queryPeople.vectors.subarray(0, 20 * FACE_DIMENSIONS), ...uniformVectors(5, 99)]);

  before(async () => {
    // The KD-tree path end to end (the CLI tests run the default flat scan); answers must not differ.
    cluster = await startTestCluster({ shards: SHARDS, shardEnv: () => ({ INDEX_STRATEGY: 'tree', INDEX_DELTA_LIMIT: '64' }) });
  });
  after(async () => {
    await cluster?.cleanup();
  });

  test('ingest answers after JetStream acked every face, and faces spread over all shards', async () => {
    const faces = toFaces(people.vectors, people.ids);
    const reply = await cluster.client.ingestMany(faces);
    expected.upsert(faces);
    assert.equal(reply.accepted, faces.length);
    assert.deepEqual(reply.rejected, []);
    assert.deepEqual(Object.keys(reply.seq).sort(), ['0', '1', '2']);
    const perShard = [0, 0, 0];
    for (const id of people.ids) perShard[shardOf(id, SHARDS)]++;
    const status = await waitForCounts(cluster, perShard);
    assert.deepEqual(
      status.map((s) => s),
      perShard,
    );
  });

  test('every service serves /metrics, /healthz and /readyz', async () => {
    await cluster.client.queryBinary(queries, { k: 1 });
    const status = await cluster.client.status();
    const shardPort = status.shards[0].replicas[0].httpPort;
    const coordinatorPort = status.coordinators[0].httpPort;
    assert.ok(shardPort && coordinatorPort);
    const get = async (port: number, path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    const shardMetrics = await get(shardPort, '/metrics');
    assert.equal(shardMetrics.status, 200);
    assert.match(shardMetrics.body, /faceshard_shard_faces\{shard="0",service="shard"\} \d+/);
    assert.match(shardMetrics.body, /faceshard_shard_query_seconds_bucket/);
    const ready = await get(shardPort, '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(
      JSON.parse(ready.body).shards.map((s: { shard: number }) => s.shard),
      [0],
    );
    assert.equal((await get(shardPort, '/healthz')).status, 200);
    const coordinatorMetrics = await get(coordinatorPort, '/metrics');
    assert.match(coordinatorMetrics.body, /faceshard_faces_ingested_total\{service="coordinator"\} 1500/);
    assert.match(coordinatorMetrics.body, /faceshard_query_seconds_bucket/);
    assert.equal((await get(coordinatorPort, '/readyz')).status, 200);
    assert.equal((await get(coordinatorPort, '/nothing')).status, 404);
  });

  test('merged top-k equals a brute-force scan over everything ingested (k = 1, 10, 50)', async () => {
    for (const k of [1, 10, 50]) {
      const reply = await cluster.client.queryBinary(queries, { k });
      assert.equal(reply.partial, false);
      assert.deepEqual(reply.shards, { total: SHARDS, answered: SHARDS });
      assert.equal(reply.searched, expected.size);
      assertSameResults(reply.results, expected.search(queries, k));
    }
  });

  test('JSON form gives the same answer, with meta and maxDistance', async () => {
    const vectors = [0, 1, 2].map((q) => Array.from(queries.subarray(q * FACE_DIMENSIONS, (q + 1) * FACE_DIMENSIONS)));
    const reply = await cluster.client.query(vectors, { k: 8, maxDistance: 0.6 });
    const want = expected.search(queries.subarray(0, 3 * FACE_DIMENSIONS), 8, undefined, 0.6);
    assertSameResults(reply.results, want);
    assert.ok(reply.results[0].length > 0, 'a fresh photo of an enrolled person has matches under 0.6');
    const first = reply.results[0][0];
    assert.deepEqual(first.meta, { path: `${first.id}.jpg` });
    assert.equal(first.shard, shardOf(first.id, SHARDS));
  });

  test('a scatter leg asked directly: JSON by default, the same matches in binary when the leg asks for it', async () => {
    const nc = await connect({ servers: cluster.url });
    try {
      const subject = subjectsFor('faces').shardQuery(0);
      const vectors = queries.subarray(0, 3 * FACE_DIMENSIONS);
      const asJson = await nc.request(
        subject,
        JSON.stringify({ vectors: [0, 1, 2].map((q) => Array.from(vectors.subarray(q * FACE_DIMENSIONS, (q + 1) * FACE_DIMENSIONS))), k: 5 }),
        { timeout: 5000 },
      );
      assert.equal(asJson.headers?.get('content-type') ?? '', '');
      const json = ShardReply.parse(asJson.json());
      const h = natsHeaders();
      h.set('content-type', BINARY_CONTENT_TYPE);
      h.set('k', '5');
      h.set(REPLY_FORMAT_HEADER, 'binary');
      const asBinary = await nc.request(subject, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength), { timeout: 5000, headers: h });
      assert.equal(asBinary.headers?.get('content-type'), SHARD_REPLY_BINARY_CONTENT_TYPE);
      const binary = decodeShardReplyBinary(asBinary.data);
      assert.deepEqual(binary, json);
      assert.equal(json.results.length, 3);
      assert.ok(
        json.results.every((list) => list.length === 5 && list.every((m) => shardOf(m.id, SHARDS) === 0)),
        'five matches a query, all from shard 0',
      );
      assert.deepEqual(json.results[0][0].meta, { path: `${json.results[0][0].id}.jpg` });
    } finally {
      await nc.close();
    }
  });

  test('re-ingesting an id replaces that face; duplicates inside one batch keep the last', async () => {
    const id = people.ids[0];
    const moved = uniformVectors(2, 5);
    const faces = [
      { id, vector: moved.subarray(0, FACE_DIMENSIONS) },
      { id, vector: moved.subarray(FACE_DIMENSIONS) },
    ];
    await cluster.client.ingestMany(faces);
    expected.upsert(faces);
    // Shards apply the log right after the ack, asynchronously: wait for the new vector to show.
    const reply = await until(
      'the replaced vector answers',
      async () => {
        const r = await cluster.client.queryBinary(moved.slice(FACE_DIMENSIONS), { k: 1 });
        return r.results[0][0]?.id === id ? r : undefined;
      },
      10_000,
      50,
    );
    // Its own vector, as stored (rounded to the rows' grid): the oracle's distance, a hair above 0.
    assertSameResults([reply.results[0].slice(0, 1)], [expected.search(moved.slice(FACE_DIMENSIONS), 1)[0]]);
    assert.ok(reply.results[0][0].distance < 1e-3);
    assert.equal(reply.searched, expected.size, 'the count did not grow');
    assertSameResults((await cluster.client.queryBinary(queries, { k: 10 })).results, expected.search(queries, 10));
  });

  test('identical vectors on different shards: ties broken by id across the merge', async () => {
    const twin = uniformVectors(1, 4242);
    const twins = Array.from({ length: 12 }, (_, i) => ({ id: `twin-${String(i).padStart(2, '0')}`, vector: twin }));
    assert.ok(new Set(twins.map((t) => shardOf(t.id, SHARDS))).size > 1, 'the twins span shards');
    await cluster.client.ingestMany(twins);
    expected.upsert(twins);
    const reply = await until(
      'the twins are applied',
      async () => {
        const r = await cluster.client.queryBinary(twin, { k: 5 });
        return r.searched === expected.size ? r : undefined;
      },
      10_000,
      50,
    );
    assert.deepEqual(
      reply.results[0].map((m) => m.id),
      ['twin-00', 'twin-01', 'twin-02', 'twin-03', 'twin-04'],
    );
    assertSameResults(reply.results, expected.search(twin, 5));
  });

  test("read-your-writes: a query with the ingest reply's seq as minSeq sees that write at once", async () => {
    for (let round = 0; round < 15; round++) {
      const vector = uniformVectors(1, 1000 + round);
      const face = { id: `ryw-${round}`, vector };
      const ingest = await cluster.client.ingestMany([face]);
      expected.upsert([face]);
      const reply =
        round % 2 ? await cluster.client.queryBinary(vector, { k: 1, minSeq: ingest.seq }) : await cluster.client.query([vector], { k: 1, minSeq: ingest.seq });
      assert.equal(reply.results[0][0]?.id, face.id, `round ${round}`);
      assert.equal(reply.partial, false);
    }
    // A stream sequence works too: every shard applies its own log up to it.
    const last = await cluster.client.ingestMany([{ id: 'ryw-global', vector: uniformVectors(1, 31337) }]);
    expected.upsert([{ id: 'ryw-global', vector: uniformVectors(1, 31337) }]);
    const streamSeq = Math.max(...Object.values(last.seq));
    const reply = await cluster.client.queryBinary(queries, { k: 10, minSeq: streamSeq });
    assertSameResults(reply.results, expected.search(queries, 10));
  });

  test('a shard that cannot reach minSeq in time says it is behind: partial, with the reason', async () => {
    const reply = await cluster.client.queryBinary(queries.subarray(0, FACE_DIMENSIONS), { k: 1, minSeq: { '0': 1e9 }, timeoutMs: 20_000 });
    assert.equal(reply.partial, true);
    assert.equal(reply.shards.answered, SHARDS - 1);
    assert.equal(reply.missing?.[0].shard, 0);
    assert.match(reply.missing![0].reason, /shard 0 has applied its log up to sequence \d+, the query needs 1000000000/);
    const bad = await cluster.client.nc.request(
      cluster.client.subjects.query,
      new TextEncoder().encode(JSON.stringify({ vectors: [new Array(128).fill(0)], minSeq: { zero: 1 } })),
      { timeout: 5000 },
    );
    assert.match(JSON.parse(new TextDecoder().decode(bad.data)).error.message, /minSeq/);
  });

  test('deleted faces are gone from answers', async () => {
    const gone = people.ids.slice(5, 25);
    await cluster.client.delete(gone);
    expected.delete(gone);
    const reply = await until(
      'the deletes are applied',
      async () => {
        const r = await cluster.client.queryBinary(queries, { k: 50 });
        return r.searched === expected.size ? r : undefined;
      },
      10_000,
      50,
    );
    assertSameResults(reply.results, expected.search(queries, 50));
  });

  test('bad queries get a clear error reply naming the problem, with NATS service error headers', async () => {
    const nc = cluster.client.nc;
    const cases: Array<[string, string | Uint8Array, RegExp]> = [
      ['malformed JSON', '{"vectors": [', /not valid JSON/],
      ['unknown field', JSON.stringify({ vectors: [new Array(128).fill(0)], k: 1, colour: 'red' }), /colour/],
      ['wrong length', JSON.stringify({ vectors: [[1, 2, 3]] }), /exactly 128/],
      ['k = 0', JSON.stringify({ vectors: [new Array(128).fill(0)], k: 0 }), /k must be at least 1/],
      ['k > 1000', JSON.stringify({ vectors: [new Array(128).fill(0)], k: 1001 }), /at most 1000/],
      ['no vectors', JSON.stringify({ vectors: [] }), /at least one vector/],
      ['empty body', '', /empty message body/],
    ];
    for (const [name, body, pattern] of cases) {
      const msg = await nc.request(cluster.client.subjects.query, typeof body === 'string' ? new TextEncoder().encode(body) : body, { timeout: 5000 });
      const reply = JSON.parse(new TextDecoder().decode(msg.data));
      assert.equal(reply.error?.code, 'bad_request', `${name}: ${JSON.stringify(reply)}`);
      assert.match(reply.error.message, pattern, name);
      assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '400', name);
    }
    // NaN and Infinity cannot be written in JSON; the binary form can carry them.
    const h = natsHeaders();
    h.set('content-type', BINARY_CONTENT_TYPE);
    const nan = new Float32Array(128);
    nan[3] = Number.NaN;
    const msg = await nc.request(cluster.client.subjects.query, new Uint8Array(nan.buffer), { timeout: 5000, headers: h });
    assert.match(JSON.parse(new TextDecoder().decode(msg.data)).error.message, /element 3 is NaN/);
    await assert.rejects(cluster.client.query([[1, 2]]), (err: unknown) => err instanceof FaceshardError && err.code === 'bad_request');
  });

  test('bad faces in an ingest batch are rejected by index; the good ones still go in', async () => {
    const good = { id: 'good-one', vector: Array.from(uniformVectors(1, 77)) };
    const body = {
      faces: [
        good,
        { id: '', vector: good.vector },
        { id: 'short', vector: [1] },
        { id: 'x'.repeat(600), vector: good.vector },
        { id: 'extra', vector: good.vector, colour: 1 },
      ],
    };
    const msg = await cluster.client.nc.request(cluster.client.subjects.ingest, new TextEncoder().encode(JSON.stringify(body)), { timeout: 10_000 });
    const reply = JSON.parse(new TextDecoder().decode(msg.data));
    expected.upsert([good]);
    assert.equal(reply.accepted, 1);
    assert.deepEqual(
      reply.rejected.map((r: { index: number }) => r.index),
      [1, 2, 3, 4],
    );
    assert.match(reply.rejected[0].reason, /id must not be empty/);
    assert.match(reply.rejected[2].reason, /at most 512 bytes/);
    await until(
      'good-one is visible',
      async () => {
        const r = await cluster.client.query([good.vector], { k: 1 });
        return r.results[0][0]?.id === 'good-one' ? r : undefined;
      },
      10_000,
      50,
    );
  });

  test('a log record holding a face the rows cannot store (as an older coordinator could write): refused whole, none of its faces served, counted', async () => {
    // Written straight to shard 0's log: one storable face, one past ±1.99994.
    let okId = 'old-log-ok';
    for (let n = 0; shardOf(okId, SHARDS) !== 0; n++) okId = `old-log-ok-${n}`;
    const ok = uniformVectors(1, 4321);
    const far = new Float32Array(FACE_DIMENSIONS).fill(0.05);
    far[3] = 2.5;
    const vectors = new Float32Array(2 * FACE_DIMENSIONS);
    vectors.set(ok, 0);
    vectors.set(far, FACE_DIMENSIONS);
    const nc = await connect({ servers: cluster.url });
    try {
      const ack = await nc.jetstream().publish(subjectsFor('faces').data(0), encodeUpsertRecord([okId, 'old-log-far'], [undefined, undefined], vectors));
      const reply = await cluster.client.queryBinary(new Float32Array([...ok, ...far]), { k: 10, minSeq: { '0': ack.seq }, timeoutMs: 10_000 });
      assert.ok(
        reply.results.every((list) => list.every((m) => m.id !== okId && m.id !== 'old-log-far')),
        'no face of the refused record is stored',
      );
      assertSameResults(reply.results, expected.search(new Float32Array([...ok, ...far]), 10));
      const port = (await cluster.client.status()).shards[0].replicas[0].httpPort;
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /faceshard_shard_refused_log_records_total\{shard="0",reason="bad_vector",service="shard"\} 1\n/);
      assert.match(metrics, /faceshard_shard_refused_log_faces_total\{shard="0",service="shard"\} 2\n/);
    } finally {
      await nc.close();
    }
  });

  test('a stopped shard gives partial: true with the shards that answered, never a silent hole', async () => {
    const down = 1;
    await cluster.stopProcess(`shard-${down}.0`);
    const reply = await cluster.client.queryBinary(queries, { k: 10 });
    assert.equal(reply.partial, true);
    assert.deepEqual(reply.shards, { total: SHARDS, answered: SHARDS - 1 });
    assert.deepEqual(reply.missing, [{ shard: down, reason: `shard ${down}: no replica is serving (no responders)` }]);
    assertSameResults(
      reply.results,
      expected.search(queries, 10, (id) => shardOf(id, SHARDS) !== down),
    );
  });
});

/** Shards apply the log asynchronously after the ack: wait until each holds what was routed to it. */
async function waitForCounts(cluster: TestCluster, perShard: number[]): Promise<number[]> {
  let last: number[] = [];
  try {
    return await until(
      'every shard holds its faces',
      async () => {
        const status = await cluster.client.status();
        last = perShard.map((_, i) => status.shards.find((s) => s.index === i)?.replicas[0]?.count ?? -1);
        return last.every((c, i) => c === perShard[i]) ? last : undefined;
      },
      10_000,
      50,
    );
  } catch {
    return last;
  }
}
