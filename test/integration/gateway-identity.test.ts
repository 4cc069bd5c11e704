// Issue 25: the gateway speaks to the cluster as its own NATS identity, `gateway`. On a real
// nats-server with authentication and real services, a client with gateway.creds does each
// thing the gateway's routes need (search, get, list, persons, ingest, delete, delete by
// filter, encode a photo, status) and is refused the rest: the stream's API, a shard's log
// and legs, the coordinator's and encoders' queues, the encode job queue, others' inboxes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type NatsConnection } from 'nats';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import { subjectsFor, encodeJobNames } from '../../libs/protocol/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { permissionError, subscriptionsNotRefused } from '../helpers/permission-error.js';

const FACES = 40;
const subjects = subjectsFor('faces');
const isViolation = (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION';

describe('the gateway identity: what the gateway needs, and nothing else', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let gateway: FaceshardClient;
  let encoderStandIn: NatsConnection;
  const vectors = uniformVectors(FACES, 25);
  const faces = Array.from({ length: FACES }, (_, i) => ({
    id: `${i < 10 ? 'album' : 'other'}/face-${i}`,
    vector: vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS),
    meta: i % 2 ? { person: 'ada' } : undefined,
  }));

  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    gateway = await FaceshardClient.connect(cluster.url, {
      name: 'gateway-under-test',
      security: { creds: cluster.credentials!.credsFile({ role: 'gateway' }) },
    });
    // An encoder without TensorFlow: it answers faces.encode in the encoders' queue, as the encoder identity.
    encoderStandIn = await connectAs({ servers: cluster.url }, { creds: cluster.credentials!.credsFile({ role: 'encoder' }) });
    encoderStandIn.subscribe(subjects.encode, {
      queue: 'encoder',
      callback: (_err, msg) => msg.respond(new TextEncoder().encode(JSON.stringify({ faces: [], backend: 'stand-in', tookMs: 0 }))),
    });
    await encoderStandIn.flush();
  });
  after(async () => {
    await gateway?.close().catch(() => undefined);
    await encoderStandIn?.close().catch(() => undefined);
    await cluster?.cleanup();
  });

  test('its replies come to its own inbox prefix', () => {
    assert.equal((gateway.nc as NatsConnection & { options: { inboxPrefix?: string } }).options.inboxPrefix, '_INBOX_gateway');
  });

  test('it may ingest, search, get, list, count persons, delete by id and by filter', async () => {
    const stored = await gateway.ingestMany(faces);
    assert.equal(stored.accepted, FACES);
    const minSeq = stored.seq;

    const found = await gateway.queryBinary(vectors.slice(3 * FACE_DIMENSIONS, 4 * FACE_DIMENSIONS), { k: 1, minSeq });
    assert.equal(found.partial, false);
    assert.equal(found.results[0][0].id, 'album/face-3');

    const got = await gateway.get(['album/face-3', 'missing']);
    assert.deepEqual(
      got.faces.map((f) => f.id),
      ['album/face-3'],
    );
    assert.deepEqual(got.notFound, ['missing']);

    const listed = await gateway.list({ prefix: 'album/', limit: 100 });
    assert.equal(listed.faces.length, 10);
    const persons = await gateway.persons();
    assert.deepEqual(persons.persons, [{ person: 'ada', faces: FACES / 2 }]);

    const deleted = await gateway.delete(['other/face-11']);
    assert.equal(deleted.deleted, 1);
    const byFilter = await gateway.deleteWhere({ prefix: 'album/' });
    assert.equal(byFilter.deleted, 10);
    assert.equal(byFilter.partial, false);
    const after = await gateway.queryBinary(vectors.slice(3 * FACE_DIMENSIONS, 4 * FACE_DIMENSIONS), { k: 1, minSeq: byFilter.seq });
    assert.notEqual(after.results[0][0]?.id, 'album/face-3');
  });

  test('it may ask the encoders to encode a photo and read the cluster status', async () => {
    const encoded = await gateway.encode(new Uint8Array([0xff, 0xd8, 0xff]));
    assert.equal(encoded.backend, 'stand-in');
    const status = await gateway.status(1000);
    assert.equal(status.shards.length, 2, 'shard stats ($SRV.STATS) answered');
    assert.equal(status.coordinators.length, 1, 'coordinator info ($SRV.INFO) answered');
  });

  test("it may not use the stream's API, write a shard's log or queue encode jobs", async () => {
    const nc = gateway.nc;
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    await assert.rejects(jsm.streams.purge(subjects.stream), isViolation);
    await assert.rejects(jsm.streams.delete(subjects.stream), isViolation);
    await assert.rejects(jsm.streams.info(subjects.stream), isViolation, 'not even read the log');
    const js = nc.jetstream();
    await assert.rejects(js.publish(subjects.data(0), new Uint8Array(8)), isViolation);
    await assert.rejects(js.publish(encodeJobNames(subjects).subject, new Uint8Array(8)), isViolation);
    await assert.rejects(js.publish(`$KV.${subjects.configBucket}.shards`, new TextEncoder().encode('7')), isViolation);
  });

  test("it may not send a shard a leg, nor serve the coordinator's, a shard's or the encoders' subjects, nor read another inbox", async () => {
    const nc = gateway.nc;
    for (const subject of [subjects.shardQuery(0), `${subjects.prefix}.shard.1.status`, '$SRV.PING']) {
      const denied = permissionError(nc, 'publish', subject);
      nc.publish(subject, new Uint8Array(0));
      assert.ok(await denied, `the gateway may not publish to ${subject}`);
    }
    const allowed = await subscriptionsNotRefused(nc, [
      [subjects.query, 'coordinator'],
      [subjects.ingest, 'coordinator'],
      [subjects.encode, 'encoder'],
      [subjects.shardQuery(0), 'shard-0'],
      [`${subjects.prefix}.data.>`, undefined],
      ['_INBOX_writer.>', undefined],
      ['_INBOX.>', undefined],
    ]);
    assert.deepEqual(allowed, [], 'the gateway may subscribe to none of these');
  });

  test('after the refusals its requests are still answered', async () => {
    const listed = await gateway.list({ prefix: 'other/', limit: 100 });
    assert.equal(listed.faces.length, FACES - 10 - 1);
  });
});
