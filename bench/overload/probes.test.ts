/** The overload bench's pollers against small local HTTP servers. Run: node --test dist/bench/overload/probes.test.js */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startHealthProbes } from './health-probe.js';
import { startReplicaRates } from './replica-rates.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(handler: http.RequestListener): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // keep-alive sockets would hold close() for 5 s
      return closed;
    },
  };
}

test('health probes: a slow answer is timed, a 503 and a closed port are failures', async () => {
  const slow = await serve((_req, res) => setTimeout(() => res.end('{"ok":true}'), 120));
  const unhealthy = await serve((_req, res) => {
    res.writeHead(503);
    res.end();
  });
  const closed = await serve(() => undefined);
  await closed.close();
  const probes = startHealthProbes(
    [
      { name: 'slow', httpPort: slow.port },
      { name: 'unhealthy', httpPort: unhealthy.port },
      { name: 'closed', httpPort: closed.port },
    ],
    50,
    1000,
  );
  await sleep(600);
  const [s, u, c] = await probes.stop();
  await Promise.all([slow.close(), unhealthy.close()]);
  assert.equal(s.failures, 0);
  assert.ok(s.probes >= 2 && s.p50Ms >= 110, `slow: ${JSON.stringify(s)}`);
  assert.equal(u.failures, u.probes);
  assert.equal(c.failures, c.probes);
  assert.ok(c.probes >= 2);
});

test('replica rates: a process that stops answering adds nothing while stopped; what it did shows when it answers again', async () => {
  let vectors = 0;
  let pausedUntil = 0;
  const replica = await serve((_req, res) => {
    const answer = () => res.end(`faceshard_shard_queries_total{shard="0"} ${vectors}\nfaceshard_shard_query_seconds_count{shard="0"} ${vectors}\n`);
    const wait = pausedUntil - Date.now();
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  });
  const ticking = setInterval(() => (vectors += Date.now() < pausedUntil ? 0 : 10), 100); // 100 vectors/s while not paused
  const rates = startReplicaRates([{ name: 'r', httpPort: replica.port }], 200);
  await sleep(1000);
  pausedUntil = Date.now() + 1000;
  await sleep(1600);
  clearInterval(ticking);
  await sleep(500); // a poll sees the last count
  const [r] = await rates.stop();
  await replica.close();
  const total = r.perSecond.reduce((a, b) => a + b, 0) * 0.2;
  assert.ok(Math.abs(total - vectors) < 1e-9, `counted ${total} of ${vectors}`);
  const zeros = r.perSecond.slice(5, 10).filter((x) => x === 0).length;
  assert.ok(zeros >= 3, `buckets while paused: ${r.perSecond.slice(5, 10).join(' ')}`);
});
