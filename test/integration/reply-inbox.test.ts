import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { ReplyInbox, RequestError } from '../../libs/nats/reply-inbox/index.js';
import { withNatsServer, type NatsTestServer } from '../helpers/nats.js';

const T = { timeout: 15_000 };
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe('ReplyInbox on a real nats-server', () => {
  let server: NatsTestServer;
  let nc: NatsConnection;
  let responder: NatsConnection;

  before(async () => {
    server = await withNatsServer();
    nc = await connect({ servers: server.url, noAsyncTraces: true });
    responder = await connect({ servers: server.url });
    // Echo, slower for lower numbers: replies come back in the reverse order of the requests.
    responder.subscribe('echo', { callback: (_e, m) => setTimeout(() => m.respond(m.data), 200 - Number(text(m.data)) * 10) });
    // Answers only after 300 ms.
    responder.subscribe('late', { callback: (_e, m) => setTimeout(() => m.respond(m.data), 300) });
    await responder.flush();
  });
  after(async () => {
    await responder?.close();
    await nc?.close();
    await server?.cleanup();
  });

  test('concurrent requests each get their own reply, whatever the order replies arrive in', T, async () => {
    const inbox = ReplyInbox.for(nc);
    assert.equal(ReplyInbox.for(nc), inbox, 'one inbox per connection');
    const replies = await Promise.all(Array.from({ length: 15 }, (_, i) => inbox.request('echo', bytes(String(i)), { timeoutMs: 5_000 })));
    assert.deepEqual(
      replies.map((m) => text(m.data)),
      Array.from({ length: 15 }, (_, i) => String(i)),
    );
    assert.equal(inbox.waiting, 0);
  });

  test('no subscriber: a RequestError with code 503, at once', T, async () => {
    const started = performance.now();
    await assert.rejects(
      ReplyInbox.for(nc).request('nobody.listens', bytes('x'), { timeoutMs: 5_000 }),
      (err: unknown) => err instanceof RequestError && err.code === '503' && /nobody\.listens/.test(err.message),
    );
    assert.ok(performance.now() - started < 2_000, 'did not wait for the timeout');
  });

  test('no reply in time: code TIMEOUT; the late reply is dropped', T, async () => {
    const inbox = ReplyInbox.for(nc);
    await assert.rejects(
      inbox.request('late', bytes('x'), { timeoutMs: 100 }),
      (err: unknown) => err instanceof RequestError && err.code === 'TIMEOUT' && /within 100 ms/.test(err.message),
    );
    assert.equal(inbox.waiting, 0);
    await new Promise((r) => setTimeout(r, 400)); // the late reply arrives meanwhile
    const reply = await inbox.request('echo', bytes('3'), { timeoutMs: 5_000 });
    assert.equal(text(reply.data), '3', 'the next request gets its own reply, not the late one');
  });

  test('a closed connection rejects what is still waiting', T, async () => {
    const other = await connect({ servers: server.url });
    const inbox = ReplyInbox.for(other);
    const waiting = inbox.request('late', bytes('x'), { timeoutMs: 10_000 });
    await other.flush();
    await other.close();
    await assert.rejects(waiting, /connection closed before the reply/);
    assert.equal(inbox.waiting, 0);
  });
});
