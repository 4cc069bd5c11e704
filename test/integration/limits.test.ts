import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headers as natsHeaders } from 'nats';
import { FaceshardError } from '../../libs/nats/client/index.js';
import { BINARY_CONTENT_TYPE, DEADLINE_HEADER, ErrorReply, REPLY_FORMAT_HEADER } from '../../libs/protocol/index.js';
import { ReplyInbox } from '../../libs/nats/reply-inbox/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { assertSameResults, ExpectedFaces, toFaces } from '../helpers/expected.js';
import { until } from '../helpers/wait.js';

const SHARDS = 2;

/** Issue 22: every documented query limit is reachable on a server with the default 1 MB max_payload. */
describe('query limits that fit the transport, cost caps and deadlines', () => {
  let cluster: TestCluster;
  const expected = new ExpectedFaces();
  // Over 1,000 faces a shard, so k = 1000 fills every list: the largest replies there are.
  const people = syntheticFaces({ identities: 500, photosPerIdentity: 5, seed: 22 });

  before(async () => {
    cluster = await startTestCluster({ shards: SHARDS, auth: true });
    const faces = toFaces(people.vectors, people.ids);
    assert.equal((await cluster.client.ingestMany(faces)).accepted, faces.length);
    expected.upsert(faces);
    await until(
      'every face applied',
      async () => ((await cluster.client.status()).shards.reduce((n, s) => n + (s.replicas[0]?.count ?? 0), 0) === faces.length ? true : undefined),
      20_000,
      50,
    );
  });
  after(async () => {
    await cluster?.cleanup();
  });

  /** Query vectors each shard searched so far (faceshard_shard_queries_total), by shard. */
  const searchedVectors = async () => {
    const status = await cluster.client.status();
    return Promise.all(
      status.shards.map(async (s) => {
        const body = await (await fetch(`http://127.0.0.1:${s.replicas[0].httpPort}/metrics`)).text();
        const count = (name: string) => Number(new RegExp(`^${name}\\{shard="${s.index}"[^}]*\\} (\\d+)`, 'm').exec(body)?.[1] ?? 0);
        return { queries: count('faceshard_shard_queries_total'), expired: count('faceshard_shard_expired_legs_total') };
      }),
    );
  };

  test('a 4096-vector query (the documented maximum, 2 MB of vectors) answers complete and exact', async () => {
    const queries = uniformVectors(4096, 1).map((x) => x * 0.3);
    const reply = await cluster.client.queryBinary(queries, { k: 1, timeoutMs: 20_000 });
    assert.equal(reply.partial, false, JSON.stringify(reply.missing));
    assert.equal(reply.results.length, 4096);
    assertSameResults(reply.results, expected.search(queries, 1));
  });

  test('100 vectors at k = 1000 (replies over 1 MB) answer complete, each shard searching once', async () => {
    const queries = people.vectors.subarray(0, 100 * FACE_DIMENSIONS);
    const before = await searchedVectors();
    const reply = await cluster.client.queryBinary(queries, { k: 1000, timeoutMs: 20_000 });
    assert.equal(reply.partial, false, JSON.stringify(reply.missing));
    assert.ok(reply.results.every((list) => list.length === 1000));
    assertSameResults(reply.results.slice(0, 3), expected.search(queries.subarray(0, 3 * FACE_DIMENSIONS), 1000));
    const afterwards = await searchedVectors();
    assert.deepEqual(
      afterwards.map((s, i) => s.queries - before[i].queries),
      [100, 100],
      'no leg was searched twice (a retry)',
    );
  });

  test('at concurrency 64, coalesced queries of 10 vectors k=1000 and of 200 vectors k=1 never come back partial', async () => {
    for (const [vectors, k] of [
      [10, 1000],
      [200, 1],
    ]) {
      const replies = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          cluster.client.queryBinary(
            uniformVectors(vectors, 100 + i).map((x) => x * 0.3),
            { k, timeoutMs: 30_000 },
          ),
        ),
      );
      const partial = replies.filter((r) => r.partial);
      assert.equal(partial.length, 0, `${vectors} vectors k=${k}: ${JSON.stringify(partial[0]?.missing)}`);
      assert.ok(replies.every((r) => r.results.length === vectors && r.results.every((l) => l.length === k)));
    }
  });

  test('a request over the cost cap is refused at once with too_large (413), and no shard searches', async () => {
    const before = await searchedVectors();
    const h = natsHeaders();
    h.set('content-type', BINARY_CONTENT_TYPE);
    h.set('k', '1000');
    const vectors = uniformVectors(101, 3);
    const started = performance.now();
    const msg = await ReplyInbox.for(cluster.client.nc).request(cluster.client.subjects.query, new Uint8Array(vectors.buffer), { timeoutMs: 5000, headers: h });
    const tookMs = performance.now() - started;
    assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '413');
    const { error } = ErrorReply.parse(JSON.parse(new TextDecoder().decode(msg.data)));
    assert.equal(error.code, 'too_large');
    assert.match(error.message, /101 vectors x k 1000/);
    assert.ok(tookMs < 100, `refused in ${tookMs.toFixed(1)} ms`);
    assert.deepEqual(await searchedVectors(), before);
    // The client library splits what it may, so the same query answers through it.
    const reply = await cluster.client.queryBinary(vectors, { k: 1000, timeoutMs: 20_000 });
    assert.equal(reply.partial, false);
    assert.equal(reply.results.length, 101);
  });

  test('a leg whose deadline passed is dropped by the shard unsearched, and counted', async () => {
    const before = await searchedVectors();
    const nc = await cluster.adminNc();
    const h = natsHeaders();
    h.set('content-type', BINARY_CONTENT_TYPE);
    h.set('k', '5');
    h.set(REPLY_FORMAT_HEADER, 'binary');
    h.set(DEADLINE_HEADER, String(Date.now() - 1));
    const vectors = uniformVectors(3, 4);
    const msg = await ReplyInbox.for(nc).request(cluster.client.subjects.shardQuery(0), new Uint8Array(vectors.buffer), { timeoutMs: 5000, headers: h });
    assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '504');
    assert.equal(ErrorReply.parse(JSON.parse(new TextDecoder().decode(msg.data))).error.code, 'deadline');
    const afterwards = await searchedVectors();
    assert.equal(afterwards[0].expired, before[0].expired + 1);
    assert.equal(afterwards[0].queries, before[0].queries, 'not searched');
    // A client whose own deadline is too near gets an answer that says so, not a search.
    await assert.rejects(cluster.client.queryBinary(uniformVectors(1, 5), { k: 1, timeoutMs: 1 }), (err: unknown) => err instanceof FaceshardError);
  });

  test('a leg whose reply would not fit in one message is answered too_large (413) by the shard, not an internal error', async () => {
    const nc = await cluster.adminNc();
    const h = natsHeaders();
    h.set('content-type', BINARY_CONTENT_TYPE);
    h.set('k', '1000');
    h.set(REPLY_FORMAT_HEADER, 'binary');
    const vectors = people.vectors.slice(0, 100 * FACE_DIMENSIONS);
    const msg = await ReplyInbox.for(nc).request(cluster.client.subjects.shardQuery(1), new Uint8Array(vectors.buffer), { timeoutMs: 10_000, headers: h });
    assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '413');
    assert.match(ErrorReply.parse(JSON.parse(new TextDecoder().decode(msg.data))).error.message, /one message holds \d+/);
  });
});
