import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { QueryJson } from '../../cli/commands/query.js';
import { portrait } from '../fixtures/sample-portraits.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { faceshard } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { writeNpyFloat32 } from '../../libs/npy/write.js';
import { headers as natsHeaders } from 'nats';
import { encodeJobNames, JOB_HEADER } from '../../libs/protocol/encode-jobs.js';
import { openDoneMarks } from '../../services/encoder/done-marks.js';

// Face boxes of sample1.jpg's three clear faces (face-api SSD on wasm), as in encode-queue.test.ts: three people.
const FACES = [
  { x: 414, y: 355, width: 177, height: 240 },
  { x: 838, y: 421, width: 186, height: 228 },
  { x: 1476, y: 199, width: 203, height: 241 },
];
const PEOPLE = ['Ada Lovelace', 'Bob', 'José Ñúñez'];

/**
 * Persons end to end: encode portraits laid out as people/<name>/ (the LFW layout) with
 * --person-from-folder, then ask "who is this" of a mirrored, resized portrait the run
 * never saw; ingest persons from a .jsonl. One encode run and one query (each loads the model).
 */
describe('persons: encode people/<name>/ folders, then query --who', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  let people: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    work = await tempDir('faceshard-persons-');
    people = path.join(work, 'people');
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    for (const [p, name] of PEOPLE.entries()) {
      await mkdir(path.join(people, name), { recursive: true });
      for (const variant of [0, 1]) await writeFile(path.join(people, name, `${variant}.jpg`), await portrait(photo, FACES[p], variant));
    }
    // Mirrored (variant 5: 4-7 are flopped), a different crop, and a smaller picture.
    await sharp(await portrait(photo, FACES[1], 5, { size: 300 }))
      .jpeg({ quality: 80 })
      .toFile(path.join(work, 'who.jpg'));
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test("--person-from-folder refuses, before encoding, a photo that is not in a person's folder; --person and a folder do not mix", async () => {
    const stray = path.join(people, 'group.jpg');
    await writeFile(stray, await readFile(path.join(samplePhotoDir(), 'sample2.jpg')));
    try {
      const refused = await faceshard(['encode', people, '--person-from-folder', ...cluster.cliArgs()]);
      assert.equal(refused.code, 2, refused.stderr + refused.stdout);
      assert.match(refused.stderr, /--person-from-folder: 1 photo\(s\) of .*people have no person's folder .*\n {2}group\.jpg is not in a person's folder/);
    } finally {
      await rm(stray);
    }
    const both = await faceshard(['encode', people, '--person-from-folder', '--person', 'Ada', ...cluster.cliArgs()]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give either --person NAME .* or --person-from-folder/);
    const empty = await faceshard(['encode', people, '--person', ' ', ...cluster.cliArgs()]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--person " ": person must not be empty/);
  });

  test('faces stored with meta.person from their folder; a new photo of Bob is Bob, first by distance and by vote', async () => {
    const encoded = await faceshard(['encode', people, '--person-from-folder', '--workers', '0', ...cluster.cliArgs()]);
    assert.equal(encoded.code, 0, encoded.stderr + encoded.stdout);
    assert.match(encoded.stdout, /6 face\(s\) stored/);
    assert.match(encoded.stdout, /faces stored with the person of their folder: 3 person\(s\): Ada Lovelace, Bob, José Ñúñez\n/);

    const answered = await faceshard(['query', path.join(work, 'who.jpg'), '--who', '--json', ...cluster.cliArgs()]);
    assert.equal(answered.code, 0, answered.stderr);
    const reply = QueryJson.parse(JSON.parse(answered.stdout));
    assert.equal(reply.results.length, 1, 'one face in the portrait');
    assert.equal(reply.results[0].length, 5, '--who asks for k = 5 by default');
    const meta = reply.results[0][0].meta as { person: string; path: string; box: unknown; score: number };
    assert.equal(meta.person, 'Bob');
    assert.match(meta.path, /^Bob\/[01]\.jpg$/, 'the path, box and score are kept beside the person');
    assert.ok(meta.box && meta.score > 0);
    const who = reply.who?.[0];
    assert.ok(who, answered.stdout);
    assert.equal(who.persons[0].person, 'Bob');
    assert.equal(who.persons[0].votes, 2, "both of Bob's photos are within 0.6");
    assert.deepEqual(who.verdict, { kind: 'match', person: 'Bob', distance: who.persons[0].distance, votes: 2 });
    // Crops of one group photo are close (one light, one camera): another person may be under 0.6 too, never as near.
    assert.ok(
      who.persons.slice(1).every((p) => p.distance > who.persons[0].distance + 0.1),
      `everyone else is much farther: ${JSON.stringify(who.persons)}`,
    );
    assert.deepEqual(who.persons.map((p) => p.person).sort(), [...PEOPLE].sort(), 'the other two are ranked too, beyond the threshold');
  });

  test('ingest: "person" on .jsonl lines becomes meta.person, a bad one is its row\'s error; query --vector --who names the person', async () => {
    const vector = (x: number) => Array.from({ length: 128 }, (_, i) => (i === 0 ? x : 0.05));
    const file = path.join(work, 'enrolled.jsonl');
    const lines = [
      { id: 'grace-1', vector: vector(0.3), person: 'Grace Hopper' },
      { id: 'grace-2', vector: vector(0.35), person: 'Grace Hopper' },
      { id: 'bad', vector: vector(0.5), person: 'two\nlines' },
      { id: 'alan-1', vector: vector(0.9), person: 'Alan Turing' },
    ];
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const ingested = await faceshard(['ingest', file, ...cluster.cliArgs()]);
    assert.equal(ingested.code, 1, 'a rejected row makes the exit code 1');
    assert.match(ingested.stdout, /ingested 3 faces/);
    assert.match(ingested.stderr, /row 3: person must not contain control characters/);

    const who = await until('the ingested faces to be searchable', async () => {
      const q = await faceshard(['query', '--vector', JSON.stringify(vector(0.31)), '--who', '-k', '3', '--threshold', '0.2', ...cluster.cliArgs()]);
      return /person Grace Hopper/.test(q.stdout) ? q : undefined;
    });
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /1\. grace-1 {2}distance 0\.0100 {2}shard \d+ {2}person Grace Hopper/);
    assert.match(who.stdout, /who is query 0: Grace Hopper \(distance 0\.0100, 2 of 3 within 0\.2\)/);
    assert.match(who.stdout, /2\. Alan Turing {2}best distance 0\.5900 \(alan-1\) {2}votes 0\/3 {2}\(1 among the 3\)/);

    const npy = path.join(work, 'two.npy');
    await writeNpyFloat32(npy, { rows: 2, dims: 128, data: Float32Array.from([...vector(-0.4), ...vector(-0.8)]) });
    const persons = path.join(work, 'two.persons');
    await writeFile(persons, 'Katherine Johnson\n\n');
    const fromNpy = await faceshard(['ingest', npy, '--persons', persons, ...cluster.cliArgs()]);
    assert.equal(fromNpy.code, 0, fromNpy.stderr);
    const stored = await until('the .npy faces to be searchable', async () => {
      const reply = await cluster.client.query([vector(-0.4), vector(-0.8)], { k: 1, maxDistance: 0.01 });
      return reply.results.every((r) => r.length === 1) ? reply.results.map((r) => [r[0].id, r[0].meta]) : undefined;
    });
    assert.deepEqual(stored, [
      ['two/0', { person: 'Katherine Johnson' }],
      ['two/1', undefined],
    ]);

    const misuse = await faceshard(['query', '--vector', JSON.stringify(vector(0.31)), '--threshold', '0.5', ...cluster.cliArgs()]);
    assert.equal(misuse.code, 2);
    assert.match(misuse.stderr, /--threshold goes with --who/);
  });

  test('encode --queue --person NAME: the name rides with each job to an encoder worker and lands in meta.person', async () => {
    const queued = path.join(work, 'queued');
    await mkdir(queued);
    await writeFile(path.join(queued, 'one.jpg'), await portrait(await readFile(path.join(samplePhotoDir(), 'sample1.jpg')), FACES[2], 2));
    cluster.startService('encoder', 'encoder', { ENCODER_BACKEND: 'wasm' });
    const encoded = await faceshard(['encode', queued, '--queue', '--person', ' José Ñúñez ', ...cluster.cliArgs()]);
    assert.equal(encoded.code, 0, encoded.stderr + encoded.stdout + cluster.output.join(''));
    assert.match(encoded.stdout, /1 face\(s\) stored/);
    assert.match(encoded.stdout, /every face stored as person José Ñúñez\n/);
    const meta = await until('the queued face to be searchable', async () => {
      const reply = await cluster.client.query([new Array(128).fill(0.1)], { k: 100 });
      return reply.results[0].find((m) => m.id === 'queued/one.jpg#0')?.meta;
    });
    assert.equal((meta as { person: string }).person, 'José Ñúñez', 'trimmed, and its non-ASCII letters intact through the header');

    // A job whose person header is not a name (not what the CLI sends): dropped, its face never stored nameless.
    const names = encodeJobNames(cluster.client.subjects);
    const h = natsHeaders();
    h.set(JOB_HEADER.path, 'bad-person.jpg');
    h.set(JOB_HEADER.run, 'test-run');
    h.set(JOB_HEADER.dataset, 'queued');
    h.set(JOB_HEADER.options, '{}');
    h.set(JOB_HEADER.person, 'x'.repeat(129));
    await cluster.client.nc.jetstream().publish(names.subject, await readFile(path.join(queued, 'one.jpg')), { headers: h });
    const jsm = await (await cluster.adminNc()).jetstreamManager();
    await until('the encoder to take the bad job', async () => {
      const info = await jsm.consumers.info(names.stream, names.consumer);
      return info.num_pending + info.num_ack_pending === 0 && info.delivered.stream_seq > 0 ? true : undefined;
    });
    // A done image is marked before its job is acked, so no mark now means never done.
    const marks = await openDoneMarks(cluster.client.nc, cluster.client.subjects, 'queued');
    assert.equal(await marks.get('bad-person.jpg'), undefined, 'the job was dropped, not done');
    const all = await cluster.client.query([new Array(128).fill(0.1)], { k: 100 });
    assert.equal(
      all.results[0].find((m) => m.id.startsWith('queued/bad-person')),
      undefined,
      'the job with a bad person stored nothing',
    );
  });
});
