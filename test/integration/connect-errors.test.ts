// Issue 21: a connection that fails says which URL, what happened and what to try, within
// 5 s: refused, not a NATS server (an HTTP port), no answer, a malformed URL, an unknown host.
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { freePort } from '../../libs/local/nats-server/index.js';
import { faceshard } from '../helpers/cli.js';

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; error: Error }> {
  const started = Date.now();
  try {
    await work();
  } catch (error) {
    return { ms: Date.now() - started, error: error as Error };
  }
  throw new Error('expected the connection to fail');
}

describe('connection errors name the URL, the cause and what to try', { timeout: 60_000 }, () => {
  let httpServer: http.Server;
  let silent: net.Server;
  let httpUrl: string;
  let silentUrl: string;
  // nats.js keeps a socket that timed out waiting for a greeting: the servers end them, or this process would never exit.
  const sockets = new Set<net.Socket>();
  before(async () => {
    httpServer = http.createServer((_req, res) => res.end('monitoring')).listen(0, '127.0.0.1');
    silent = net.createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1'); // accepts, never speaks
    await Promise.all([new Promise((r) => httpServer.once('listening', r)), new Promise((r) => silent.once('listening', r))]);
    httpUrl = `nats://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    silentUrl = `nats://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  after(() => {
    httpServer.closeAllConnections();
    httpServer.close();
    for (const socket of sockets) socket.destroy();
    silent.close();
  });

  test('an HTTP port: not a NATS server, within 5 s', async () => {
    for (const url of [httpUrl, silentUrl]) {
      const { ms, error } = await timed(() => FaceshardClient.connect(url));
      assert.ok(ms < 5_500, `took ${ms} ms`);
      assert.match(error.message, new RegExp(`${url.replace(/[.:/]/g, '\\$&')} is not a NATS server: .*timed out after 3\\.5 s.*HTTP or monitoring port`));
    }
  });

  test('nothing listening: connection refused, with what to try', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const { ms, error } = await timed(() => FaceshardClient.connect(url));
    assert.ok(ms < 2_000, `took ${ms} ms`);
    assert.equal(
      error.message,
      `nothing accepts connections at ${url} (connection refused): is the cluster up? Start one with faceshard up, or name the right one with --nats URL`,
    );
  });

  test('a malformed URL and an unknown host are named', async () => {
    assert.match(
      (await timed(() => FaceshardClient.connect('nats://bad host:4222'))).error.message,
      /"nats:\/\/bad host:4222" is not a NATS URL \(expected e\.g\. nats:\/\/127\.0\.0\.1:4222\)/,
    );
    assert.match(
      (await timed(() => FaceshardClient.connect('nats://no-such-host.invalid:4222'))).error.message,
      /cannot resolve the host of nats:\/\/no-such-host\.invalid:4222/,
    );
  });

  test('the CLI prints the same, and exits non-zero, within 6 s', async () => {
    const started = Date.now();
    const out = await faceshard(['status', '--nats', httpUrl]);
    assert.ok(Date.now() - started < 6_000 + 1_500, `took ${Date.now() - started} ms (node start included)`);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /is not a NATS server/);
    assert.doesNotMatch(out.stderr, /^\s+at /m, 'no stack trace for a connection error');
  });
});
