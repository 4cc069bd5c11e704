import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { FaceshardClient, FaceshardError } from '../../libs/nats/client/index.js';
import { ProtocolError } from '../../libs/protocol/errors.js';
import { faceshard } from '../helpers/cli.js';
import { withNatsServer, type NatsTestServer } from '../helpers/nats.js';

// Worded as the coordinator's own refusals are, its retry hint at the end: the line says it once.
const BUSY = new ProtocolError('busy', 'shards are busy: shard 0: shard search queue full: 64 of 64 legs waiting; try again in ~250 ms', 250);
const LINE = 'the cluster is busy (shards are busy: shard 0: shard search queue full: 64 of 64 legs waiting); try again in 250 ms';

describe('a coordinator answering busy reaches the person as one clear line', { timeout: 30_000 }, () => {
  let nats: NatsTestServer;
  let coordinator: NatsConnection;
  let asked = 0;
  before(async () => {
    nats = await withNatsServer();
    coordinator = await connect({ servers: nats.url });
    // A stand-in for an overloaded coordinator: the real wire answer (body and service error headers).
    coordinator.subscribe('faces.query', {
      queue: 'coordinator',
      callback: (_err, msg) => {
        asked++;
        const h = natsHeaders();
        h.set('Nats-Service-Error', BUSY.message);
        h.set('Nats-Service-Error-Code', String(BUSY.status));
        msg.respond(new TextEncoder().encode(JSON.stringify(BUSY.toReply())), { headers: h });
      },
    });
    await coordinator.flush();
  });
  after(async () => {
    await coordinator?.close();
    await nats?.cleanup();
  });

  test('the client throws FaceshardError busy with the line and the retry hint', async () => {
    const client = await FaceshardClient.connect(nats.url);
    try {
      const error = await client.query([new Array(128).fill(0.1)], { k: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof FaceshardError, String(error));
      assert.equal(error.code, 'busy');
      assert.equal(error.retryAfterMs, 250);
      assert.equal(error.message, LINE);
    } finally {
      await client.close();
    }
  });

  test('faceshard query prints the line and exits non-zero', async () => {
    const result = await faceshard(['query', '--vector', JSON.stringify(new Array(128).fill(0.1)), '--nats', nats.url]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(result.stderr.trim(), `faceshard: ${LINE}`);
    assert.equal(result.stdout, '');
    assert.ok(asked >= 2, 'both answers came from the responder on faces.query');
  });
});
