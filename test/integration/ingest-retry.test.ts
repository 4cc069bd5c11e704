/**
 * A write that failed for the cluster's moment (a JetStream publish timing out, busy, no
 * coordinator) is sent again with the same batch id, so the coordinator's Nats-Msg-Ids
 * make JetStream store each record once; a failure of the request itself is not. The
 * coordinator here is a responder on the real nats-server that fails on purpose: the
 * client's side of the protocol is what is under test (the coordinator's dedupe by batch
 * id is tested in test/integration/log-integrity.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { FaceshardClient, FaceshardError } from '../../libs/nats/client/index.js';
import { subjectsFor } from '../../libs/protocol/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { toFaces } from '../helpers/expected.js';
import { withNatsServer, type NatsTestServer } from '../helpers/nats.js';

type Answer =
  { error: { code: string; message: string; retryAfterMs?: number } } | { accepted: number; rejected: []; seq: Record<string, number>; duplicates?: number };

describe('ingest: a transient failure is retried with the same batch id', { timeout: 60_000 }, () => {
  let nats: NatsTestServer;
  let coordinator: NatsConnection;
  let client: FaceshardClient;
  /** What the stand-in coordinator answers, one a request, and the batch ids it was sent. */
  let answers: Answer[] = [];
  let batchIds: (string | undefined)[] = [];
  const faces = toFaces(uniformVectors(3, 7), ['a', 'b', 'c'], false);

  before(async () => {
    nats = await withNatsServer();
    coordinator = await connect({ servers: nats.url });
    const sub = coordinator.subscribe(subjectsFor().ingest);
    void (async () => {
      for await (const msg of sub) {
        batchIds.push(msg.headers?.get('batch-id'));
        msg.respond(new TextEncoder().encode(JSON.stringify(answers.shift() ?? { error: { code: 'internal', message: 'no answer planned' } })));
      }
    })();
    client = await FaceshardClient.connect(nats.url);
  });

  after(async () => {
    await client?.close();
    await coordinator?.close();
    await nats?.cleanup();
  });

  const fresh = (planned: Answer[]) => {
    answers = planned;
    batchIds = [];
  };

  test('a publish that timed out, then the same batch again: one batch id, the earlier try’s records counted as stored', async () => {
    fresh([{ error: { code: 'internal', message: 'TIMEOUT' } }, { accepted: 1, rejected: [], seq: { 0: 9 }, duplicates: 2 }]);
    const reply = await client.ingestMany(faces);
    assert.equal(batchIds.length, 2, 'sent twice');
    assert.ok(batchIds[0] && batchIds[0] === batchIds[1], `the same batch id both times (${batchIds.join(', ')})`);
    assert.equal(reply.accepted, 3, "the retry's duplicates are this batch's own records");
    assert.equal(reply.duplicates, undefined);
  });

  test('busy: waits as long as the cluster asks before trying again', async () => {
    fresh([{ error: { code: 'busy', message: 'queue full', retryAfterMs: 300 } }, { accepted: 3, rejected: [], seq: { 0: 10 } }]);
    const started = performance.now();
    const reply = await client.ingestMany(faces);
    assert.ok(performance.now() - started >= 290, 'waited retryAfterMs');
    assert.equal(reply.accepted, 3);
    assert.equal(batchIds.length, 2);
  });

  test('a first try that stores duplicates (someone else used the batch id) keeps them apart', async () => {
    fresh([{ accepted: 1, rejected: [], seq: { 0: 11 }, duplicates: 2 }]);
    const reply = await client.ingestMany(faces);
    assert.equal(reply.accepted, 1);
    assert.equal(reply.duplicates, 2);
  });

  test('a request the cluster refuses (bad_request) is not sent again; after 3 retries the failure is the caller’s', async () => {
    fresh([{ error: { code: 'bad_request', message: 'no' } }]);
    await assert.rejects(client.ingestMany(faces), (err: unknown) => err instanceof FaceshardError && err.code === 'bad_request');
    assert.equal(batchIds.length, 1);
    fresh(Array.from({ length: 5 }, () => ({ error: { code: 'internal', message: 'TIMEOUT' } })));
    await assert.rejects(client.ingestMany(faces), (err: unknown) => err instanceof FaceshardError && err.code === 'internal');
    assert.equal(batchIds.length, 4, 'the first try and 3 retries');
    assert.equal(new Set(batchIds).size, 1);
  });
});
