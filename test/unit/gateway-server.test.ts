import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { FaceshardError } from '../../libs/nats/client/index.js';
import { createLogger } from '../../libs/observability/logger.js';
import { ProtocolError } from '../../libs/protocol/index.js';
import { ApiKeys } from '../../services/gateway/api-keys.js';
import { gatewayMetrics } from '../../services/gateway/metrics.js';
import type { Route } from '../../services/gateway/route.js';
import { GatewayServer } from '../../services/gateway/server.js';
import { z } from 'zod';

const READER = 'reader-key-000000000000';
const WRITER = 'writer-key-000000000000';
const LIMIT = 4096;

function route(method: Route['method'], path: string, access: Route['access'], handle: Route['handle'], body?: z.ZodType): Route {
  return { method, path, access, summary: path, body, reply: { status: 200, schema: z.unknown() }, errors: [], handle };
}

const routes: Route[] = [
  route('GET', '/healthz', 'public', async () => ({ json: { ok: true } })),
  route('GET', '/v1/things/{id}', 'reader', async ({ params }) => ({ json: { id: params.id } })),
  route('POST', '/v1/things', 'writer', async ({ body }) => ({ json: { bytes: body.length } }), z.unknown()),
  route('GET', '/v1/busy', 'reader', async () => Promise.reject(new ProtocolError('busy', 'queue full', 1500))),
  route('GET', '/v1/slow', 'reader', async () => Promise.reject(new FaceshardError('timeout', 'faces.query did not answer within 10 ms'))),
  route('GET', '/v1/broken', 'reader', async () => Promise.reject(new Error('boom'))),
  {
    ...route(
      'POST',
      '/v1/both',
      'reader',
      async ({ body, form, query }) => ({ json: { bytes: body.length, photo: form?.photo('photo').length, q: query.get('q') } }),
      z.unknown(),
    ),
    upload: { photos: ['photo'], fields: z.strictObject({}) },
  },
  {
    ...route('POST', '/v1/upload-only', 'reader', async ({ form }) => ({ json: { photo: form!.photo('photo').length } })),
    upload: { photos: ['photo'], fields: z.strictObject({}) },
  },
];

async function serve(corsOrigins: string[] = []) {
  const registry = new Registry();
  const logLines: string[] = [];
  const server = new GatewayServer({
    routes,
    keys: new ApiKeys([
      { key: READER, role: 'reader' },
      { key: WRITER, role: 'writer' },
    ]),
    maxBodyBytes: LIMIT,
    corsOrigins,
    metrics: gatewayMetrics(registry),
    log: createLogger({}, 'debug', (line) => logLines.push(line)),
  });
  const port = await server.listen(0, '127.0.0.1');
  return { server, registry, logLines, base: `http://127.0.0.1:${port}` };
}

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('the gateway server (routes stubbed, no cluster)', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  before(async () => (s = await serve()));
  after(() => s.server.close());

  test('keys: none or unknown 401, Bearer or X-API-Key accepted, a reader on a writer route 403, public routes need none', async () => {
    assert.equal((await get(`${s.base}/healthz`)).status, 200);
    const none = await get(`${s.base}/v1/things/a`);
    assert.equal(none.status, 401);
    assert.deepEqual(((await none.json()) as { error: { code: string } }).error.code, 'unauthorized');
    assert.equal((await get(`${s.base}/v1/things/a`, { authorization: 'Bearer nope-nope-nope-nope' })).status, 401);
    assert.equal((await get(`${s.base}/v1/things/a`, { authorization: `Bearer ${READER}` })).status, 200);
    assert.equal((await get(`${s.base}/v1/things/a`, { 'x-api-key': WRITER })).status, 200);
    const forbidden = await fetch(`${s.base}/v1/things`, { method: 'POST', headers: { authorization: `Bearer ${READER}` }, body: '{}' });
    assert.equal(forbidden.status, 403);
    assert.match(((await forbidden.json()) as { error: { message: string } }).error.message, /needs a writer key/);
  });

  test('paths: parameters URL-decoded, unknown path 404, wrong method 405 with Allow', async () => {
    const auth = { authorization: `Bearer ${READER}` };
    assert.deepEqual(await (await get(`${s.base}/v1/things/people%2Fada.jpg%230?x=1`, auth)).json(), { id: 'people/ada.jpg#0' });
    assert.equal((await get(`${s.base}/v1/things/%E0%A4%A`, auth)).status, 400);
    assert.equal((await get(`${s.base}/v1/things/`, auth)).status, 404);
    assert.equal((await get(`${s.base}/v1/nowhere`, auth)).status, 404);
    const wrong = await fetch(`${s.base}/v1/things`, { method: 'PUT', headers: auth });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  test('bodies: within the limit read whole; past it 413, declared or streamed; not JSON 415', async () => {
    // fetch calls a string body text/plain unless told otherwise.
    const auth = { authorization: `Bearer ${WRITER}`, 'content-type': 'application/json' };
    const ok = await fetch(`${s.base}/v1/things`, { method: 'POST', headers: auth, body: 'x'.repeat(LIMIT) });
    assert.deepEqual(await ok.json(), { bytes: LIMIT });
    const declared = await fetch(`${s.base}/v1/things`, { method: 'POST', headers: auth, body: 'x'.repeat(LIMIT + 1) });
    assert.equal(declared.status, 413);
    // No content-length: the body is counted as it arrives.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${s.base}/v1/things`, { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      // Far past the limit, in many writes: the answer must still arrive, not a reset connection.
      for (let i = 0; i < 256; i++) req.write('x'.repeat(LIMIT));
      req.end();
    });
    assert.equal(streamed, 413);
    const text = await fetch(`${s.base}/v1/things`, { method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: 'a,b' });
    assert.equal(text.status, 415);
  });

  test('uploads: multipart where a route takes one (JSON beside it still), the query string; JSON to an upload-only route 415', async () => {
    const auth = { authorization: `Bearer ${READER}` };
    const form = new FormData();
    form.append('photo', new Blob([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0])]), 'p.jpg');
    const multipart = await fetch(`${s.base}/v1/both?q=yes`, { method: 'POST', headers: auth, body: form });
    assert.deepEqual(await multipart.json(), { bytes: 0, photo: 6, q: 'yes' });
    const json = await fetch(`${s.base}/v1/both`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    assert.deepEqual(await json.json(), { bytes: 2, q: null });
    const text = await fetch(`${s.base}/v1/both`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(text.status, 415);
    assert.match(((await text.json()) as { error: { message: string } }).error.message, /send application\/json, or multipart\/form-data with a photo/);
    const notForm = await fetch(`${s.base}/v1/upload-only`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(notForm.status, 415);
    assert.match(
      ((await notForm.json()) as { error: { message: string } }).error.message,
      /content-type application\/json: send multipart\/form-data with the fields photo/,
    );
    // A form to a route that takes only JSON is not read as one.
    const formToJson = await fetch(`${s.base}/v1/things`, { method: 'POST', headers: { authorization: `Bearer ${WRITER}` }, body: form });
    assert.equal(formToJson.status, 415);
  });

  test('errors keep their code: busy 503 with Retry-After, timeout 504, anything else 500 internal', async () => {
    const auth = { authorization: `Bearer ${READER}` };
    const busy = await get(`${s.base}/v1/busy`, auth);
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '2');
    assert.deepEqual(await busy.json(), { error: { code: 'busy', message: 'queue full', retryAfterMs: 1500 } });
    const slow = await get(`${s.base}/v1/slow`, auth);
    assert.equal(slow.status, 504);
    assert.equal(((await slow.json()) as { error: { code: string } }).error.code, 'timeout');
    const broken = await get(`${s.base}/v1/broken`, auth);
    assert.equal(broken.status, 500);
    assert.deepEqual(await broken.json(), { error: { code: 'internal', message: 'boom' } });
  });

  test('CORS is off by default: no header, and OPTIONS is not a route', async () => {
    const res = await get(`${s.base}/healthz`, { origin: 'https://elsewhere.example' });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal((await fetch(`${s.base}/v1/things`, { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example' } })).status, 405);
  });

  test('requests are counted by route template and status, and logged with whose key', async () => {
    const text = await s.registry.metrics();
    assert.match(text, /faceshard_gateway_requests_total\{route="\/v1\/things\/\{id\}",method="GET",status="200"\} [1-9]/);
    assert.match(text, /faceshard_gateway_requests_total\{route="unmatched",method="GET",status="404"\} [1-9]/);
    const logged = s.logLines.map((line) => JSON.parse(line)).find((l) => l.msg === 'request' && l.route === '/v1/things/{id}' && l.status === '200');
    assert.equal(logged?.key, 'reader');
    assert.equal(typeof logged?.ms, 'number');
    assert.ok(!s.logLines.some((line) => line.includes(READER)), 'a key is never logged');
  });
});

test('CORS on for listed origins only: their requests and preflights get the headers', async () => {
  const s = await serve(['https://faces.example.org']);
  try {
    const listed = await get(`${s.base}/healthz`, { origin: 'https://faces.example.org' });
    assert.equal(listed.headers.get('access-control-allow-origin'), 'https://faces.example.org');
    const other = await get(`${s.base}/healthz`, { origin: 'https://elsewhere.example' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${s.base}/v1/things`, { method: 'OPTIONS', headers: { origin: 'https://faces.example.org' } });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
  } finally {
    await s.server.close();
  }
});
