import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { MAX_INGEST_FACES, MAX_K, MAX_QUERY_VECTORS } from '../../libs/protocol/index.js';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { gatewayRoutes } from '../../services/gateway/routes.js';
import { gatewayMetrics } from '../../services/gateway/metrics.js';
import { GatewayThumbnails } from '../../services/gateway/thumbnails.js';
import { createLogger } from '../../libs/observability/logger.js';

const client = () => ({}) as FaceshardClient;
const registry = new Registry();
const { routes, document } = gatewayRoutes({
  ready: () => true,
  registry,
  client,
  timeoutMs: 1000,
  thumbnails: new GatewayThumbnails(client, true, createLogger({ service: 'test' }), gatewayMetrics(registry).thumbnailFailures),
});
type Operation = { summary: string; security?: unknown[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: object };
const paths = document.paths as Record<string, Record<string, Operation>>;

test('the document lists exactly the routes the server serves, and every route once', () => {
  const served = routes.map((r) => `${r.method} ${r.path}`).sort();
  const documented = Object.entries(paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(documented, served);
  assert.equal(new Set(served).size, served.length);
  for (const route of [
    'GET /v1/status',
    'POST /v1/search',
    'POST /v1/faces',
    'DELETE /v1/faces/{id}',
    'POST /v1/verify',
    'POST /v1/enroll',
    'GET /v1/faces/{id}/thumbnail',
    'GET /',
    'GET /web/{file}',
    'GET /v1/openapi.json',
    'GET /metrics',
  ]) {
    assert.ok(served.includes(route), route);
  }
});

test('bodies are the protocol schemas: the same limits as a NATS client gets', () => {
  assert.equal(document.openapi, '3.1.0');
  const search = paths['/v1/search'].post.requestBody!.content['application/json'].schema as {
    properties: { vectors: { maxItems: number; items: { minItems: number } }; k: { maximum: number } };
  };
  assert.equal(search.properties.vectors.maxItems, MAX_QUERY_VECTORS);
  assert.equal(search.properties.vectors.items.minItems, 128);
  assert.equal(search.properties.k.maximum, MAX_K);
  const ingest = paths['/v1/faces'].post.requestBody!.content['application/json'].schema as { properties: { faces: { maxItems: number } } };
  assert.equal(ingest.properties.faces.maxItems, MAX_INGEST_FACES);
});

test('keyed routes say which role they need and that a key is refused with 401/403; public ones need none', () => {
  for (const route of routes) {
    const op = paths[route.path][route.method.toLowerCase()] as Operation & { 'x-faceshard-role'?: string };
    const statuses = Object.keys(op.responses);
    if (route.access === 'public') {
      assert.deepEqual(op.security, [], route.path);
    } else {
      assert.equal(op['x-faceshard-role'], route.access);
      assert.ok(statuses.includes('401') && statuses.includes('403'), `${route.method} ${route.path}`);
    }
  }
  assert.equal(paths['/v1/faces'].post['x-faceshard-role' as keyof Operation], 'writer');
  assert.equal(paths['/v1/search'].post['x-faceshard-role' as keyof Operation], 'reader');
});

test('uploads are documented as multipart/form-data: photo fields binary and required, text fields with their limits', () => {
  const form = (path: string) =>
    paths[path].post.requestBody!.content['multipart/form-data'].schema as {
      properties: Record<string, { type: string; contentMediaType?: string; maximum?: number; description?: string }>;
      required: string[];
    };
  const search = form('/v1/search');
  assert.ok(paths['/v1/search'].post.requestBody!.content['application/json'], 'the vector search stays');
  assert.deepEqual(search.required, ['photo']);
  assert.equal(search.properties.photo.contentMediaType, 'image/*');
  assert.equal(search.properties.k.maximum, MAX_K);
  const verify = form('/v1/verify');
  assert.deepEqual(verify.required, ['a', 'b']);
  assert.equal(verify.properties.threshold.maximum, 2);
  assert.ok('422' in paths['/v1/verify'].post.responses, 'no face: 422');
  assert.match(paths['/v1/search'].post.summary, /without a face answers 200 with `faces: \[\]`/);
  assert.match(search.properties.minSeq.description ?? '', /^JSON: /, 'minSeq travels as JSON text in the form');
});

test("a photo search's faces say who they are at every threshold: steps of whoIs verdicts", () => {
  const reply = paths['/v1/search'].post.responses as Record<
    string,
    { content: Record<string, { schema: { anyOf: Array<{ properties: Record<string, unknown> }> } }> }
  >;
  const photoReply = reply['200'].content['application/json'].schema.anyOf.find((s) => 'faces' in s.properties)!;
  const face = (photoReply.properties.faces as { items: { properties: Record<string, unknown>; required: string[] } }).items;
  assert.ok(face.required.includes('who'));
  const step = (
    face.properties.who as { items: { properties: { threshold: unknown; verdict: { oneOf: Array<{ properties: { kind: { const: string } } }> } } } }
  ).items;
  assert.deepEqual(step.properties.threshold, { type: 'number' });
  assert.deepEqual(
    step.properties.verdict.oneOf.map((v) => v.properties.kind.const),
    ['match', 'ambiguous', 'unknown'],
  );
  assert.match(paths['/v1/search'].post.summary, /`who`: who it is at every threshold/);
});

test('the thumbnail route is documented as a WebP image for a reader key, 404 when absent', () => {
  const op = paths['/v1/faces/{id}/thumbnail'].get as Operation & { 'x-faceshard-role'?: string; responses: Record<string, { content: object }> };
  assert.equal(op['x-faceshard-role'], 'reader');
  assert.deepEqual(Object.keys(op.responses['200'].content), ['image/webp']);
  assert.ok('404' in op.responses && '401' in op.responses);
});
