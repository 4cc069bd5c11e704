import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { bruteForceSearch } from '../../libs/index/face-index/index.js';
import { writeNpyFloat32 } from '../../libs/npy/write.js';
import { QueryReply } from '../../libs/protocol/index.js';
import { QueryJson } from '../../cli/commands/query.js';
import { copySamplePhotos } from '../../libs/sample-photos/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { faceshard } from '../helpers/cli.js';

describe('the faceshard CLI against a 3-shard cluster', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 3, auth: true });
    work = await tempDir('faceshard-cli-');
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('encode the sample photos, then find the people of a resized, mirrored copy (distance < 0.5)', async () => {
    const samples = path.join(work, 'samples');
    await copySamplePhotos(samples);
    await writeFile(path.join(samples, 'notes.jpg'), 'this is text, not a photo\n');
    const encoded = await faceshard(['encode', samples, ...cluster.cliArgs()]);
    assert.equal(encoded.code, 0, encoded.stderr + encoded.stdout);
    const stored = Number(/(\d+) face\(s\) stored/.exec(encoded.stdout)?.[1]);
    assert.ok(stored >= 12, `faces stored: ${encoded.stdout}`);
    assert.match(encoded.stdout, /unreadable: notes\.jpg: /, 'the text file is named, not fatal');

    const query = path.join(work, 'query-sample2.jpg');
    await sharp(path.join(samples, 'sample2.jpg')).resize({ width: 1100 }).flop().jpeg({ quality: 85 }).toFile(query);
    const answered = await faceshard(['query', query, '-k', '3', '--json', ...cluster.cliArgs()]);
    assert.equal(answered.code, 0, answered.stderr);
    const reply = QueryJson.parse(JSON.parse(answered.stdout));
    assert.equal(reply.searched, stored);
    assert.ok(reply.results.length >= 1, 'faces found in the query photo');
    // faces[q]: which face of the photo results[q] answers (its box and detection score).
    assert.equal(reply.faces?.length, reply.results.length);
    for (const face of reply.faces ?? []) assert.ok(face.box.width > 0 && face.score > 0.5, JSON.stringify(face));
    const best = reply.results[0][0];
    assert.match(best.id, /^samples\/sample2\.jpg#\d+$/, "ids start with the dataset's name");
    assert.ok(best.distance < 0.5, `distance ${best.distance}`);
    assert.equal((best.meta as { path: string }).path, 'sample2.jpg');
    // Each face of the mirrored photo finds its own original: distinct ids, all from sample2.
    const found = reply.results.filter((r) => r[0]?.distance < 0.5).map((r) => r[0].id);
    assert.ok(found.length >= Math.min(2, reply.results.length), `matched ${found}`);
    assert.ok(found.every((id) => id.startsWith('samples/sample2.jpg#')));
    assert.equal(new Set(found).size, found.length);

    const human = await faceshard(['query', query, ...cluster.cliArgs()]);
    assert.match(human.stdout, /Query : [\d.]+ ms .*Faces searched : [\d,]+ +Rate : [\d,]+ \/s/);
    assert.match(human.stdout, /1\. samples\/sample2\.jpg#\d+ +distance 0\.\d{4}/);
  });

  test('ingest a .npy with an ids file, then --vector queries equal brute force', async () => {
    const data = syntheticFaces({ identities: 200, photosPerIdentity: 3, seed: 11, idPrefix: 'npy' });
    const npy = path.join(work, 'faces.npy');
    const ids = path.join(work, 'faces.txt');
    await writeNpyFloat32(npy, { rows: data.ids.length, dims: FACE_DIMENSIONS, data: data.vectors });
    await writeFile(ids, data.ids.join('\n') + '\n');
    const ingested = await faceshard(['ingest', npy, '--ids', ids, ...cluster.cliArgs()]);
    assert.equal(ingested.code, 0, ingested.stderr);
    assert.match(ingested.stdout, /ingested 600 faces/);

    const q = data.vectors.slice(7 * FACE_DIMENSIONS, 8 * FACE_DIMENSIONS).map((x, i) => x + (i % 2 ? 0.01 : -0.01));
    const want = bruteForceSearch(data.vectors, data.ids, q, 5, FACE_DIMENSIONS)[0];
    let reply;
    for (let tries = 0; tries < 50; tries++) {
      const out = await faceshard(['query', '--vector', JSON.stringify(Array.from(q)), '-k', '5', '--json', ...cluster.cliArgs()]);
      reply = QueryReply.parse(JSON.parse(out.stdout));
      if (reply.results[0][0]?.id === want[0].id) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(
      reply!.results[0].map((m) => m.id),
      want.map((n) => n.id),
    );

    // The same file again: upserts by id, so the counts do not double.
    const total = async () => {
      const jsm = await (await cluster.adminNc()).jetstreamManager(); // the writer may not read stream info
      const lastSeq = (await jsm.streams.info(cluster.client.subjects.stream)).state.last_seq;
      const r = await cluster.client.queryBinary(q, { k: 1, minSeq: lastSeq });
      return r.searched;
    };
    const before = await total();
    const again = await faceshard(['ingest', npy, '--ids', ids, ...cluster.cliArgs()]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await total(), before);
  });

  test('bad input gets a clear error naming what was wrong', async () => {
    const missing = await faceshard(['encode', path.join(work, 'no-such-dir'), ...cluster.cliArgs()]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no-such-dir/);

    const textJpg = path.join(work, 'text.jpg');
    await writeFile(textJpg, 'not an image');
    const badImage = await faceshard(['query', textJpg, ...cluster.cliArgs()]);
    assert.notEqual(badImage.code, 0);
    assert.match(badImage.stderr, /not an image|unsupported/);

    const corrupt = path.join(work, 'corrupt.jpg');
    const { readFile } = await import('node:fs/promises');
    const whole = await readFile(path.join(work, 'samples', 'sample1.jpg'));
    await writeFile(corrupt, whole.subarray(0, whole.length / 3));
    const truncated = await faceshard(['query', corrupt, ...cluster.cliArgs()]);
    assert.notEqual(truncated.code, 0);
    assert.match(truncated.stderr, /corrupt|truncated/);

    const wrongShape = path.join(work, 'wrong.npy');
    await writeNpyFloat32(wrongShape, { rows: 4, dims: 64, data: new Float32Array(256) });
    const shape = await faceshard(['ingest', wrongShape, ...cluster.cliArgs()]);
    assert.notEqual(shape.code, 0);
    assert.match(shape.stderr, /\(4, 64\)/);

    const good = path.join(work, 'three.npy');
    await writeNpyFloat32(good, { rows: 3, dims: FACE_DIMENSIONS, data: new Float32Array(3 * FACE_DIMENSIONS) });
    const fewIds = path.join(work, 'two-ids.txt');
    await writeFile(fewIds, 'a\nb\n');
    const ids = await faceshard(['ingest', good, '--ids', fewIds, ...cluster.cliArgs()]);
    assert.notEqual(ids.code, 0);
    assert.match(ids.stderr, /2 ids for 3 vectors/);

    const vector = await faceshard(['query', '--vector', '[1,2,3]', ...cluster.cliArgs()]);
    assert.equal(vector.code, 2);
    assert.match(vector.stderr, /128/);

    const k = await faceshard(['query', '--vector', JSON.stringify(new Array(128).fill(0)), '-k', '0', ...cluster.cliArgs()]);
    assert.equal(k.code, 2);
    assert.match(k.stderr, /--k must be a whole number from 1 to 1000/);
  });

  test('bad rows in a JSONL file are rejected by line number; the good rows still go in', async () => {
    const file = path.join(work, 'mixed.jsonl');
    const v = new Array(128).fill(0.05);
    await writeFile(
      file,
      [
        JSON.stringify({ id: 'row-1', vector: v }),
        '{oops',
        JSON.stringify({ id: 'row-3', vector: [0.1, 0.2] }),
        JSON.stringify({ id: 'row-4', vector: v, meta: { path: 'x.jpg' } }),
      ].join('\n') + '\n',
    );
    const out = await faceshard(['ingest', file, ...cluster.cliArgs()]);
    assert.equal(out.code, 1);
    assert.match(out.stdout, /ingested 2 faces/);
    assert.match(out.stderr, /row 2: /);
    assert.match(out.stderr, /row 3: .*128/);
  });
});
