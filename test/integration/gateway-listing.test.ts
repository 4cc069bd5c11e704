// GET /v1/faces, GET /v1/persons and DELETE /v1/faces?prefix=|person= (issue 25) through the
// gateway process in front of a real cluster with authentication (2 shards): listing page by
// page, counting persons, deleting by a filter, and the keys and queries that are refused.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { startGateway } from '../helpers/gateway.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const READER = 'reader-key-for-the-listing-test';
const WRITER = 'writer-key-for-the-listing-test';
/** 3 photos of 'ada', 2 of 'bob' (2 faces each), 2 unnamed faces in another folder. */
const FACES = [
  ...['a.jpg', 'b.jpg', 'c.jpg'].map((p) => ({ id: `people/ada/${p}#0`, person: 'ada' })),
  ...['a.jpg', 'b.jpg'].flatMap((p) => [0, 1].map((n) => ({ id: `people/bob/${p}#${n}`, person: 'bob' }))),
  { id: 'misc/x.png#0', person: undefined },
  { id: 'misc/y.png#0', person: undefined },
];
const sorted = (ids: string[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('listing and deleting by filter through the HTTP gateway', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let gateway: ChildProcess;
  let base: string;

  const call = async (method: string, route: string, key?: string) => {
    const res = await fetch(`${base}${route}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });
    const text = await res.text();
    return { status: res.status, text, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };
  /** Every page of GET /v1/faces with `query`, following `next`. */
  const listAll = async (query: string, limit: number) => {
    const ids: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 100; pages++) {
      const res = await call('GET', `/v1/faces?limit=${limit}${query}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`, READER);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.partial, false);
      ids.push(...res.json.faces.map((f: { id: string }) => f.id));
      if (res.json.next === undefined) return ids;
      cursor = res.json.next;
    }
    throw new Error('paging did not end');
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    dir = await tempDir('faceshard-gateway-listing-');
    ({ process: gateway, base } = await startGateway(cluster, dir, `${READER} reader\n${WRITER} writer\n`));
    const vectors = uniformVectors(FACES.length, 31);
    const reply = await cluster.client.ingest(
      FACES.map((f, i) => ({
        id: f.id,
        vector: Array.from(vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS)),
        ...(f.person ? { meta: { person: f.person } } : {}),
      })),
    );
    assert.equal(reply.accepted, FACES.length);
  });
  after(async () => {
    if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test('GET /v1/faces: a reader pages through every face by id, by prefix and by person', async () => {
    const first = await call('GET', '/v1/faces?limit=2', READER);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json.faces, [
      { id: 'misc/x.png#0', shard: first.json.faces[0].shard },
      { id: 'misc/y.png#0', shard: first.json.faces[1].shard },
    ]);
    assert.equal(first.json.next, 'misc/y.png#0');
    assert.deepEqual(await listAll('', 3), sorted(FACES.map((f) => f.id)));
    assert.deepEqual(await listAll('&prefix=people%2Fbob%2Fa.jpg%23', 1), ['people/bob/a.jpg#0', 'people/bob/a.jpg#1']);
    assert.deepEqual(await listAll('&person=ada', 2), sorted(FACES.filter((f) => f.person === 'ada').map((f) => f.id)));
    const withMeta = await call('GET', '/v1/faces?person=bob&limit=1', WRITER);
    assert.deepEqual(withMeta.json.faces[0].meta, { person: 'bob' });
  });

  test('GET /v1/persons: each person with the faces counted on both shards, and the unnamed ones', async () => {
    const res = await call('GET', '/v1/persons', READER);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, {
      persons: [
        { person: 'ada', faces: 3 },
        { person: 'bob', faces: 4 },
      ],
      unnamed: 2,
      partial: false,
    });
    const page = await call('GET', '/v1/persons?limit=1&after=ada', READER);
    assert.deepEqual(page.json.persons, [{ person: 'bob', faces: 4 }]);
  });

  test('refused: no key or a wrong one (401), a reader deleting (403), a delete without a filter or with an empty one, bad queries (400)', async () => {
    assert.equal((await call('GET', '/v1/faces')).status, 401);
    assert.equal((await call('GET', '/v1/persons', 'not-a-key')).status, 401);
    assert.equal((await call('DELETE', '/v1/faces?person=bob')).status, 401);
    const readerDelete = await call('DELETE', '/v1/faces?person=bob', READER);
    assert.equal(readerDelete.status, 403, readerDelete.text);
    const bad: Array<[string, string, RegExp]> = [
      ['DELETE', '/v1/faces', /give prefix or person/],
      ['DELETE', '/v1/faces?prefix=', /prefix must not be empty/],
      ['DELETE', '/v1/faces?person=%20', /person must not be empty/],
      ['DELETE', '/v1/faces?prefx=people', /unknown query parameter "prefx"/],
      ['DELETE', '/v1/faces?prefix=a&prefix=b', /prefix given 2 times/],
      ['GET', '/v1/faces?limit=abc', /limit must be a whole number/],
      ['GET', '/v1/faces?limit=0', /limit/],
      ['GET', '/v1/faces?limit=1001', /limit/],
      ['GET', '/v1/persons?person=ada', /unknown query parameter "person"/],
    ];
    for (const [method, route, message] of bad) {
      const res = await call(method, route, WRITER);
      assert.equal(res.status, 400, `${method} ${route}: ${res.text}`);
      assert.equal(res.json.error.code, 'bad_request');
      assert.match(res.json.error.message, message, `${method} ${route}`);
    }
    assert.deepEqual(await listAll('', 100), sorted(FACES.map((f) => f.id)), 'nothing was deleted');
  });

  test('DELETE /v1/faces by person, then by prefix: exactly those faces are gone', async () => {
    const byPerson = await call('DELETE', '/v1/faces?person=bob', WRITER);
    assert.equal(byPerson.status, 200, byPerson.text);
    assert.equal(byPerson.json.deleted, 4);
    assert.equal(byPerson.json.partial, false);
    assert.equal((await call('GET', `/v1/faces/${encodeURIComponent('people/bob/a.jpg#1')}`, READER)).status, 404);
    assert.deepEqual(await listAll('', 100), sorted(FACES.filter((f) => f.person !== 'bob').map((f) => f.id)));

    const byPrefix = await call('DELETE', `/v1/faces?prefix=${encodeURIComponent('people/ada/b.jpg#')}`, WRITER);
    assert.equal(byPrefix.json.deleted, 1);
    assert.deepEqual(await listAll('&prefix=people%2F', 100), ['people/ada/a.jpg#0', 'people/ada/c.jpg#0']);
    const persons = await call('GET', '/v1/persons', READER);
    assert.deepEqual(persons.json.persons, [{ person: 'ada', faces: 2 }]);
  });
});
