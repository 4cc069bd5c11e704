// Listing and deleting by filter (issue 25) over NATS against a real cluster with
// authentication: 3 shards, so every page merges shards. faces.list pages by id (prefix,
// person, cursor), faces.persons counts per person, faces.delete-where deletes exactly
// what matches; a reader may list but not delete; empty or missing filters are refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { FaceshardClient, FaceshardError } from '../../libs/nats/client/index.js';
import { MAX_META_BYTES } from '../../libs/protocol/face-checks.js';
import { headers } from 'nats';
import { requestJson } from '../../libs/nats/client/request.js';
import { LEG_KIND_HEADER, LIST_LEG, ShardListReply, subjectsFor, type ListFacesRequest } from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { faceshard } from '../helpers/cli.js';

const PERSONS = ['ann', 'bob', 'Zoë', undefined] as const;
/** 240 faces: 4 folders x 20 photos x 3 faces, a person each (or none), every shard holding some of each. */
const FACES = ['ds/a/', 'ds/b/', 'ds/ab/', 'other/'].flatMap((folder, f) =>
  Array.from({ length: 60 }, (_, i) => {
    const person = PERSONS[(i + f) % PERSONS.length];
    return { id: `${folder}img-${Math.floor(i / 3)}.jpg#${i % 3}`, person };
  }),
);
const sorted = (ids: string[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('faces.list, faces.persons and faces.delete-where on a real cluster', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let reader: FaceshardClient;

  /** Every page from the start with `limit`, checking each is sorted and follows the cursor. */
  const listAll = async (client: FaceshardClient, filter: Partial<ListFacesRequest>, limit: number) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await client.list({ ...filter, limit, ...(cursor === undefined ? {} : { after: cursor }) });
      assert.equal(page.partial, false);
      assert.ok(page.faces.length <= limit, `a page holds at most ${limit}`);
      ids.push(...page.faces.map((f) => f.id));
      if (page.next === undefined) return ids;
      assert.equal(page.next, page.faces[page.faces.length - 1].id, 'the cursor is the last id of the page');
      cursor = page.next;
    }
    throw new Error('paging did not end');
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 3, auth: true });
    reader = await FaceshardClient.connect(cluster.url, { security: { creds: cluster.credentials!.credsFile({ role: 'reader' }) } });
    const vectors = uniformVectors(FACES.length, 26);
    const reply = await cluster.client.ingest(
      FACES.map((face, i) => ({
        id: face.id,
        vector: Array.from(vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS)),
        meta: face.person === undefined ? { n: i } : { person: face.person, n: i },
      })),
    );
    assert.equal(reply.accepted, FACES.length);
  });
  after(async () => {
    await reader?.close();
    await cluster?.cleanup();
  });

  test('a reader pages through every face across the shards: sorted, no duplicates, no gaps, whatever the page size', async () => {
    const all = sorted(FACES.map((f) => f.id));
    for (const limit of [1, 7, 100, 1000]) assert.deepEqual(await listAll(reader, {}, limit), all, `limit ${limit}`);
    const first = await reader.list({ limit: 5 });
    assert.deepEqual(
      first.faces.map((f) => [f.id, f.shard, (f.meta as { n: number }).n]),
      all.slice(0, 5).map((id) => [id, shardOf(id, 3), FACES.findIndex((f) => f.id === id)]),
      'each face with the shard that holds it and its meta',
    );
  });

  test('by prefix, by person, by both', async () => {
    for (const prefix of ['ds/a/', 'ds/a', 'ds/', 'other/img-1', 'nothing/']) {
      assert.deepEqual(await listAll(reader, { prefix }, 7), sorted(FACES.filter((f) => f.id.startsWith(prefix)).map((f) => f.id)), prefix);
    }
    for (const person of ['ann', 'Zoë', ' bob ', 'nobody']) {
      const want = FACES.filter((f) => f.person === person.trim()).map((f) => f.id);
      assert.deepEqual(await listAll(reader, { person }, 9), sorted(want), person);
    }
    const both = FACES.filter((f) => f.id.startsWith('ds/b/') && f.person === 'bob').map((f) => f.id);
    assert.ok(both.length > 0);
    assert.deepEqual(await listAll(reader, { prefix: 'ds/b/', person: 'bob' }, 2), sorted(both));
  });

  test('persons: counts summed over the shards, sorted by name, faces without a person apart, paged', async () => {
    const count = (p: string | undefined) => FACES.filter((f) => f.person === p).length;
    const reply = await reader.persons();
    assert.deepEqual(reply, {
      persons: ['Zoë', 'ann', 'bob'].sort().map((person) => ({ person, faces: count(person) })),
      unnamed: count(undefined),
      partial: false,
    });
    const one = await reader.persons({ limit: 1 });
    assert.equal(one.persons.length, 1);
    assert.equal(one.next, one.persons[0].person);
    const rest = await reader.persons({ limit: 1, after: one.next });
    assert.deepEqual([...one.persons, ...rest.persons], reply.persons.slice(0, 2));
  });

  test('bad requests are refused naming what is wrong; a reader may not delete by filter', async () => {
    const refused = (code: string, message: RegExp) => (err: Error) => err instanceof FaceshardError && err.code === code && message.test(err.message);
    await assert.rejects(reader.list({ limit: 0 }), refused('bad_request', /limit/));
    await assert.rejects(reader.list({ limit: 1001 }), refused('bad_request', /limit/));
    await assert.rejects(reader.list({ prefix: '' }), refused('bad_request', /prefix must not be empty/));
    await assert.rejects(cluster.client.deleteWhere({ prefix: '' }), refused('bad_request', /prefix must not be empty/));
    await assert.rejects(cluster.client.deleteWhere({ person: '  ' }), refused('bad_request', /person must not be empty/));
    await assert.rejects(cluster.client.deleteWhere({}), refused('bad_request', /give prefix or person/));
    await assert.rejects(reader.deleteWhere({ prefix: 'ds/' }), refused('permission_denied', /faces\.delete-where \(reader\)/));
    assert.equal((await reader.list({ limit: 1000 })).faces.length, FACES.length, 'nothing was deleted');
  });

  test('delete by person, then by prefix: exactly those faces are gone, the others stay', async () => {
    const bob = FACES.filter((f) => f.person === 'bob').map((f) => f.id);
    const byPerson = await cluster.client.deleteWhere({ person: 'bob' });
    assert.equal(byPerson.deleted, bob.length);
    assert.equal(byPerson.partial, false);
    const got = await reader.get(bob);
    assert.deepEqual(sorted(got.notFound), sorted(bob), 'every face of bob is gone');
    assert.deepEqual(
      (await reader.persons()).persons.map((p) => p.person),
      ['Zoë', 'ann'].sort(),
    );

    const inA = FACES.filter((f) => f.id.startsWith('ds/a/') && f.person !== 'bob').map((f) => f.id);
    const byPrefix = await cluster.client.deleteWhere({ prefix: 'ds/a/' });
    assert.equal(byPrefix.deleted, inA.length);
    const inAb = FACES.filter((f) => f.id.startsWith('ds/ab/') && f.person !== 'bob').map((f) => f.id);
    assert.deepEqual(await listAll(reader, { prefix: 'ds/a' }, 50), sorted(inAb), 'ds/ab/ is not under ds/a/ and stays');
    const left = FACES.filter((f) => f.person !== 'bob' && !f.id.startsWith('ds/a/')).map((f) => f.id);
    assert.deepEqual(await listAll(reader, {}, 1000), sorted(left));
    assert.deepEqual((await cluster.client.deleteWhere({ prefix: 'ds/a/' })).deleted, 0, 'again: nothing left to delete');
  });

  test('pages of large metas are cut to one message by the shard and the coordinator; the cursor still covers everything', async () => {
    // 300 faces of ~4 KB on one shard: more than one message holds, so the shard cuts its page too.
    const big = 'x'.repeat(MAX_META_BYTES - 64);
    const ids = Array.from({ length: 3000 }, (_, i) => `big/${String(i).padStart(4, '0')}`)
      .filter((id) => shardOf(id, 3) === 0)
      .slice(0, 300);
    const vectors = uniformVectors(ids.length, 27);
    const reply = await cluster.client.ingestMany(
      ids.map((id, i) => ({ id, vector: Array.from(vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS)), meta: { big } })),
    );
    assert.equal(reply.accepted, ids.length);
    // The shard's own leg: cut short of its 300, and says there is more.
    const legHeaders = headers();
    legHeaders.set(LEG_KIND_HEADER, LIST_LEG);
    const body = new TextEncoder().encode(JSON.stringify({ prefix: 'big/', limit: 1000 }));
    const leg = await requestJson(await cluster.adminNc(), subjectsFor().shardQuery(0), body, ShardListReply, { timeoutMs: 5000, headers: legHeaders });
    assert.ok(leg.faces.length < ids.length && leg.more, `shard 0 answers part of its 300 and more: true (got ${leg.faces.length}, more ${leg.more})`);
    assert.deepEqual(
      leg.faces.map((f) => f.id),
      ids.slice(0, leg.faces.length),
    );

    const page = await reader.list({ prefix: 'big/', limit: 1000 });
    assert.ok(page.faces.length < ids.length && page.faces.length > 100, `one message holds part of 300 x 4 KB (got ${page.faces.length})`);
    assert.equal(page.next, page.faces[page.faces.length - 1].id);
    assert.deepEqual(await listAll(reader, { prefix: 'big/' }, 1000), ids);
    assert.equal((await cluster.client.deleteWhere({ prefix: 'big/' })).deleted, ids.length, 'delete-where pages past the cut too');
  });

  test('the CLI: faceshard list, persons, delete --id-prefix / --person, and what it refuses', async () => {
    // Before: bob's faces and ds/a/ were deleted by the tests above.
    const left = FACES.filter((f) => f.person !== 'bob' && !f.id.startsWith('ds/a/'));
    const ann = left.filter((f) => f.id.startsWith('other/') && f.person === 'ann').map((f) => f.id);
    const listed = await faceshard(['list', '--id-prefix', 'other/', '--person', 'ann', ...cluster.cliArgs({ role: 'reader' })]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout.trim().split('\n'),
      sorted(ann).map((id) => `${id}\tshard ${shardOf(id, 3)}\tann`),
    );
    assert.match(listed.stderr, new RegExp(`^${ann.length} face\\(s\\)`));
    const two = await faceshard(['list', '--limit', '2', '--json', ...cluster.cliArgs({ role: 'reader' })]);
    assert.deepEqual(
      two.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
      sorted(left.map((f) => f.id)).slice(0, 2),
    );

    const persons = await faceshard(['persons', ...cluster.cliArgs({ role: 'reader' })]);
    assert.equal(persons.code, 0, persons.stderr);
    const count = (p: string | undefined) => left.filter((f) => f.person === p).length;
    assert.equal(persons.stdout, `Zoë\t${count('Zoë')}\nann\t${count('ann')}\n`);
    assert.match(persons.stderr, new RegExp(`^${count(undefined)} face\\(s\\) without a person`));

    const asReader = await faceshard(['delete', '--person', 'Zoë', ...cluster.cliArgs({ role: 'reader' })]);
    assert.notEqual(asReader.code, 0);
    assert.match(asReader.stderr, /permission denied: faces\.delete-where \(reader\)/);
    const empty = await faceshard(['delete', '--id-prefix', '', ...cluster.cliArgs()]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--id-prefix must not be empty/);
    const both = await faceshard(['delete', 'some-id', '--person', 'Zoë', ...cluster.cliArgs()]);
    assert.equal(both.code, 2);

    const deleted = await faceshard(['delete', '--person', 'Zoë', ...cluster.cliArgs()]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `deleted ${count('Zoë')} face(s)\n`);
    const byPrefix = await faceshard(['delete', '--id-prefix', 'other/', ...cluster.cliArgs()]);
    assert.equal(byPrefix.stdout, `deleted ${left.filter((f) => f.id.startsWith('other/') && f.person !== 'Zoë').length} face(s)\n`);
    assert.deepEqual(await listAll(reader, {}, 1000), sorted(left.filter((f) => f.person !== 'Zoë' && !f.id.startsWith('other/')).map((f) => f.id)));
  });

  test('a shard down: list and persons answer the others, partial, naming it; delete-where says partial too', async () => {
    const all = await listAll(reader, {}, 1000);
    assert.ok(all.some((id) => shardOf(id, 3) === 2));
    await cluster.stopProcess('shard-2.0');
    const page = await reader.list({ limit: 1000 });
    assert.equal(page.partial, true);
    assert.deepEqual(page.unchecked, [2]);
    assert.deepEqual(
      page.faces.map((f) => f.id),
      all.filter((id) => shardOf(id, 3) !== 2),
    );
    const persons = await reader.persons();
    assert.equal(persons.partial, true);
    assert.deepEqual(persons.unchecked, [2]);
    const deleted = await cluster.client.deleteWhere({ prefix: 'ds/b/' });
    assert.equal(deleted.partial, true);
    assert.deepEqual(deleted.unchecked, [2]);
    assert.equal(deleted.deleted, all.filter((id) => id.startsWith('ds/b/') && shardOf(id, 3) !== 2).length);
  });
});
