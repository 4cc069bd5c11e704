// The HTTP gateway (issue 25, first slice) as its own process against a real cluster: a
// nats-server with authentication, a coordinator and two shards, the gateway connected
// as the writer identity. Faces go in over HTTP, are found, and are deleted; keys and
// bodies that must be refused are refused with the protocol's error codes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FACE_DIMENSIONS, MAX_ID_BYTES } from '../../libs/index/vector/index.js';
import { shardOf } from '../../libs/sharding/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { GATEWAY_MAIN, startGateway } from '../helpers/gateway.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const READER = 'reader-key-for-the-gateway-test';
const WRITER = 'writer-key-for-the-gateway-test';
const FACES = 24;
const MAX_BODY = 256 * 1024;

describe('the HTTP gateway in front of a real cluster', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let gateway: ChildProcess;
  let base: string;
  let output: string[] = [];
  const vectors = uniformVectors(FACES, 25);
  const vectorOf = (i: number) => Array.from(vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS));
  const idOf = (i: number) => `people/gw-${i}.jpg#0`;

  const call = async (method: string, route: string, options: { key?: string; body?: unknown; raw?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${route}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, text, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    dir = await tempDir('faceshard-gateway-');
    const started = await startGateway(cluster, dir, `# test keys\n${READER} reader test reader\n${WRITER} writer\n`, {
      GATEWAY_MAX_BODY_BYTES: String(MAX_BODY),
    });
    ({ process: gateway, base, output } = started);
  });
  after(async () => {
    if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test('status with a reader key: both shards, the coordinator', async () => {
    const res = await call('GET', '/v1/status', { key: READER });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.json.shards.map((s: { index: number }) => s.index),
      [0, 1],
    );
    assert.equal(res.json.coordinators.length, 1);
  });

  test('ingest over HTTP, search back (read-your-writes with the seq ingest answered), delete, gone', async () => {
    const faces = Array.from({ length: FACES }, (_, i) => ({ id: idOf(i), vector: vectorOf(i), meta: { n: i } }));
    const bad = { id: 'bad-vector', vector: vectorOf(0).slice(1) };
    const ingest = await call('POST', '/v1/faces', { key: WRITER, body: { faces: [...faces.slice(0, 10), bad, ...faces.slice(10)] } });
    assert.equal(ingest.status, 200, ingest.text);
    assert.equal(ingest.json.accepted, FACES);
    assert.equal(ingest.json.rejected.length, 1);
    assert.equal(ingest.json.rejected[0].index, 10, 'a rejection names the face by its index in the request');
    assert.match(ingest.json.rejected[0].reason, /vector.*128/);

    const search = await call('POST', '/v1/search', { key: READER, body: { vectors: [vectorOf(3), vectorOf(17)], k: 2, minSeq: ingest.json.seq } });
    assert.equal(search.status, 200, search.text);
    assert.equal(search.json.partial, false);
    assert.deepEqual(
      search.json.results.map((r: Array<{ id: string }>) => r[0].id),
      [idOf(3), idOf(17)],
    );
    assert.deepEqual(search.json.results[0][0].meta, { n: 3 });

    const approximate = await call('POST', '/v1/search', {
      key: READER,
      body: { vectors: [vectorOf(5)], approximate: true, effort: 8, minSeq: ingest.json.seq },
    });
    assert.equal(approximate.json.results[0][0].id, idOf(5), approximate.text);

    const removed = await call('DELETE', `/v1/faces/${encodeURIComponent(idOf(3))}`, { key: WRITER });
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.json.deleted, 1);
    const after = await call('POST', '/v1/search', { key: READER, body: { vectors: [vectorOf(3)], k: 1, minSeq: removed.json.seq } });
    assert.notEqual(after.json.results[0][0].id, idOf(3), 'the deleted face is not found any more');

    const again = await call('DELETE', `/v1/faces/${encodeURIComponent(idOf(3))}`, { key: WRITER });
    assert.equal(again.status, 404, again.text);
    assert.equal(again.json.error.code, 'not_found');
  });

  test('a face by id: reader 200 with its shard and meta; deleted or never stored 404; an over-long id 400; no key 401', async () => {
    const face = await call('GET', `/v1/faces/${encodeURIComponent(idOf(5))}`, { key: READER });
    assert.equal(face.status, 200, face.text);
    assert.deepEqual(face.json, { id: idOf(5), shard: shardOf(idOf(5), 2), meta: { n: 5 } });
    const other = await call('GET', `/v1/faces/${encodeURIComponent(idOf(6))}`, { key: WRITER });
    assert.equal(other.json.shard, shardOf(idOf(6), 2));
    for (const id of [idOf(3), 'never-stored']) {
      const missing = await call('GET', `/v1/faces/${encodeURIComponent(id)}`, { key: READER });
      assert.equal(missing.status, 404, missing.text);
      assert.equal(missing.json.error.code, 'not_found');
      assert.match(missing.json.error.message, /no face with id/);
    }
    const long = await call('GET', `/v1/faces/${'x'.repeat(MAX_ID_BYTES + 1)}`, { key: READER });
    assert.equal(long.status, 400);
    assert.match(long.json.error.message, /invalid face id: .*at most/);
    assert.equal((await call('GET', `/v1/faces/${encodeURIComponent(idOf(5))}`)).status, 401);
    assert.equal((await call('GET', `/v1/faces/${encodeURIComponent(idOf(5))}`, { key: 'not-a-key-of-this-gateway' })).status, 401);
  });

  test('no key and a wrong key: 401; a reader key writing: 403; nothing is stored', async () => {
    const face = { faces: [{ id: 'intruder', vector: vectorOf(1) }] };
    const none = await call('POST', '/v1/faces', { body: face });
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'unauthorized');
    assert.match(none.json.error.message, /Authorization: Bearer/);
    const wrong = await call('GET', '/v1/status', { key: 'not-a-key-of-this-gateway' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.message, 'unknown API key');
    const reader = await call('POST', '/v1/faces', { key: READER, body: face });
    assert.equal(reader.status, 403);
    assert.equal(reader.json.error.code, 'forbidden');
    assert.match(reader.json.error.message, /needs a writer key; this key is a reader key/);
    const readerDelete = await call('DELETE', `/v1/faces/${encodeURIComponent(idOf(0))}`, { key: READER });
    assert.equal(readerDelete.status, 403);
    const found = await call('POST', '/v1/search', { key: READER, body: { vectors: [vectorOf(1)], k: 1 } });
    assert.notEqual(found.json.results[0][0].id, 'intruder');
  });

  test('bad bodies: oversized 413, malformed JSON 400, a bad vector 400 naming what was wrong', async () => {
    const huge = await call('POST', '/v1/search', { key: READER, raw: JSON.stringify({ vectors: [vectorOf(0)], pad: 'x'.repeat(MAX_BODY) }) });
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, 'too_large');
    assert.match(huge.json.error.message, new RegExp(`larger than ${MAX_BODY} bytes`));

    const malformed = await call('POST', '/v1/search', { key: READER, raw: '{"vectors": [[0.1, 0.2' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.code, 'bad_request');
    assert.match(malformed.json.error.message, /not valid JSON/);

    const short = await call('POST', '/v1/search', { key: READER, body: { vectors: [vectorOf(0).slice(0, 100)] } });
    assert.equal(short.status, 400);
    assert.match(short.json.error.message, /vectors\.0: vector must have exactly 128 numbers/);

    const k = await call('POST', '/v1/search', { key: READER, body: { vectors: [vectorOf(0)], k: 5000 } });
    assert.equal(k.status, 400);
    assert.match(k.json.error.message, /k: k must be at most 1000/);

    const effort = await call('POST', '/v1/search', { key: READER, body: { vectors: [vectorOf(0)], effort: 2 } });
    assert.equal(effort.status, 400);
    assert.match(effort.json.error.message, /effort: only with "approximate": true/);

    const notJson = await fetch(`${base}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READER}`, 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.equal(notJson.status, 415);
  });

  test('every operation of /v1/openapi.json is served, and a path outside it is not', async () => {
    const doc = (await call('GET', '/v1/openapi.json')).json;
    assert.equal(doc.openapi, '3.1.0');
    for (const [route, operations] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations)) {
        const res = await call(method.toUpperCase(), route.replace('{id}', 'no-such-face'), { key: WRITER, body: method === 'post' ? {} : undefined });
        assert.ok(res.status !== 404 || res.json?.error.code === 'not_found', `${method} ${route}: ${res.status}`);
        assert.ok(!(res.status === 404 && /no route/.test(res.json?.error.message ?? '')), `${method} ${route} is documented but not served`);
        assert.notEqual(res.status, 405, `${method} ${route}`);
      }
    }
    const missing = await call('GET', '/v1/nothing', { key: READER });
    assert.equal(missing.status, 404);
    assert.match(missing.json.error.message, /no route GET \/v1\/nothing/);
  });

  test('`faceshard gateway` with flags (--keys, --port, --nats, --creds) serves the same API; SIGTERM stops it', async () => {
    const cliDir = await tempDir('faceshard-gateway-cli-');
    try {
      const cli = await startGateway(cluster, cliDir, `${READER} reader\n`, {}, { cli: true });
      const exited = new Promise<number | null>((resolve) => cli.process.once('exit', (code) => resolve(code)));
      try {
        const res = await fetch(`${cli.base}/v1/status`, { headers: { authorization: `Bearer ${READER}` } });
        assert.equal(res.status, 200, cli.output.join(''));
        assert.equal((await fetch(`${cli.base}/v1/status`, { headers: { authorization: `Bearer ${WRITER}` } })).status, 401, 'only the keys of its own file');
      } finally {
        cli.process.kill('SIGTERM');
      }
      assert.equal(await exited, 0, cli.output.join(''));
    } finally {
      await removeDir(cliDir);
    }
  });

  test('/metrics without a key counts requests by route and status; SIGTERM drains and exits 0', async () => {
    const metrics = await call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    const sample = (name: string, labels: string[]) =>
      metrics.text.split('\n').find((line) => line.startsWith(`${name}{`) && labels.every((l) => line.includes(l)));
    assert.match(sample('faceshard_gateway_requests_total', ['route="/v1/search"', 'method="POST"', 'status="200"']) ?? '', / [1-9]\d*$/);
    assert.match(sample('faceshard_gateway_requests_total', ['route="/v1/faces"', 'method="POST"', 'status="403"']) ?? '', / 1$/);
    assert.ok(sample('faceshard_gateway_request_seconds_count', ['route="/v1/status"', 'status="200"']), 'latency by route');
    const exited = new Promise<number | null>((resolve) => gateway.once('exit', (code) => resolve(code)));
    gateway.kill('SIGTERM');
    assert.equal(await exited, 0, output.join(''));
    assert.match(output.join(''), /"msg":"stopped"/);
  });
});

describe('the gateway process without a cluster', () => {
  const main = GATEWAY_MAIN;
  let dir: string;
  before(async () => {
    dir = await tempDir('faceshard-gateway-start-');
    await writeFile(path.join(dir, 'keys.txt'), `${READER} reader\n`);
    await writeFile(path.join(dir, 'short.txt'), 'short reader\n');
  });
  after(() => removeDir(dir));

  /** Runs the gateway with `env` until it exits (or `whileRunning` is done with its stderr so far, then SIGTERM). */
  const run = (env: Record<string, string>, whileRunning?: (stderr: () => string) => Promise<void>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [main], {
        env: { ...process.env, GATEWAY_HTTP_PORT: '0', GATEWAY_HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
      whileRunning?.(() => stderr).then(
        () => child.kill('SIGTERM'),
        (err) => {
          child.kill('SIGKILL');
          reject(err);
        },
      );
    });

  test('no keys file, an unreadable one, a short key, unreadable NATS credentials: exit 1 with one line saying what', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ GATEWAY_API_KEYS_FILE: '' }, /GATEWAY_API_KEYS_FILE/],
      [{ GATEWAY_API_KEYS_FILE: path.join(dir, 'none.txt') }, /cannot read the API keys file .*none\.txt/],
      [{ GATEWAY_API_KEYS_FILE: path.join(dir, 'short.txt') }, /entry 0\.key: a key must have at least 16 characters/],
      [{ GATEWAY_API_KEYS_FILE: path.join(dir, 'keys.txt'), NATS_CREDS: path.join(dir, 'none.creds') }, /cannot read the credentials file .*none\.creds/],
    ];
    for (const [env, message] of cases) {
      const { code, stderr } = await run(env);
      assert.equal(code, 1, stderr);
      assert.match(stderr, /"msg":"failed to start"/);
      assert.match(stderr, message);
    }
  });

  test('NATS away: it serves, /readyz and the cluster routes answer 503 not_ready', async () => {
    const { code } = await run({ GATEWAY_API_KEYS_FILE: path.join(dir, 'keys.txt'), NATS_URL: 'nats://127.0.0.1:1' }, async (stderr) => {
      const port = await until('the port', () => /"msg":"gateway listening","port":(\d+)/.exec(stderr())?.[1], 10_000);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      const status = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${READER}` } });
      assert.equal(status.status, 503);
      assert.equal(((await status.json()) as { error: { code: string } }).error.code, 'not_ready');
    });
    assert.equal(code, 0);
  });
});
