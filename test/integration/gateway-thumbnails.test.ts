// Face thumbnails (issue 25): enrolling face-api's six sample photos through the gateway stores
// a 96 px WebP crop of each of their 22 faces in the thumbnail bucket; the gateway serves them
// with cache headers to reader keys; deleting faces (by id, by person) deletes them; a gateway
// with thumbnails off stores none; a reader's NATS identity cannot write one. A real
// nats-server with authentication, a real encoder, real photos.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import { ThumbnailStore } from '../../libs/nats/thumbnail-store/index.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { SAMPLE_PHOTOS, samplePhotoDir } from '../../libs/sample-photos/index.js';
import { startEncoder, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const READER = 'reader-key-for-the-thumbnail-test';
const WRITER = 'writer-key-for-the-thumbnail-test';
const KEYS = `${READER} reader\n${WRITER} writer\n`;
/** The sample photos' faces (face-api's ssd detector at the encoder's defaults). */
const SAMPLE_FACES = 22;
/** A person and a photo name whose face ids hold '/', '#', spaces and letters past Latin-1. */
const ODD_PERSON = 'Zoë Ångström 张伟';
const ODD_NAME = 'holiday pics/été 1.jpg';

type Enrolled = { status: number; text: string; json: { faces: Array<{ id: string }>; thumbnails: number; accepted: number } };

describe('thumbnails: stored at enroll, served, deleted with their faces', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let gw: TestGateway;
  let noThumbs: TestGateway;
  const photos = new Map<string, Buffer>();
  const enrolled = new Map<string, string[]>(); // person -> face ids

  const enroll = async (base: string, person: string, name: string, photo: Buffer): Promise<Enrolled> => {
    const form = new FormData();
    form.append('person', person);
    form.append('name', name);
    form.append('photo', new Blob([photo]), 'photo.jpg');
    const res = await fetch(`${base}/v1/enroll`, { method: 'POST', headers: { authorization: `Bearer ${WRITER}` }, body: form });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) };
  };
  const thumbnail = (id: string, key: string | null = READER, headers: Record<string, string> = {}, base = gw.base) =>
    fetch(`${base}/v1/faces/${encodeURIComponent(id)}/thumbnail`, { headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}) } });
  const thumbnailBucket = async () =>
    (await cluster.adminNc()).jetstreamManager().then((jsm) => jsm.streams.info(`OBJ_${subjectsFor('faces').thumbnailBucket}`));

  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    await startEncoder(cluster, { ENCODER_JOBS: 'false' });
    dir = await tempDir('faceshard-gateway-thumbnails-');
    gw = await startGateway(cluster, dir, KEYS, { GATEWAY_REQUEST_TIMEOUT_MS: '60000' });
    noThumbs = await startGateway(cluster, dir, KEYS, { GATEWAY_REQUEST_TIMEOUT_MS: '60000' }, { cli: true, args: ['--no-thumbnails'] });
    for (const name of SAMPLE_PHOTOS) photos.set(name, await readFile(path.join(samplePhotoDir(), name)));
  });
  after(async () => {
    for (const g of [gw, noThumbs]) if (g?.process.exitCode === null) g.process.kill('SIGKILL');
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test("enrolling the sample photos stores a thumbnail of each of their 22 faces; the bucket's bytes per face", async (t) => {
    const before = (await thumbnailBucket()).state;
    let faces = 0;
    for (const [i, name] of SAMPLE_PHOTOS.entries()) {
      const res = await enroll(gw.base, `person ${i + 1}`, name, photos.get(name)!);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.thumbnails, res.json.faces.length, res.text);
      enrolled.set(
        `person ${i + 1}`,
        res.json.faces.map((f) => f.id),
      );
      faces += res.json.faces.length;
    }
    assert.equal(faces, SAMPLE_FACES);
    const after = (await thumbnailBucket()).state;
    // One chunk and one meta message an object.
    assert.equal(after.messages - before.messages, 2 * SAMPLE_FACES);
    let webpBytes = 0;
    for (const ids of enrolled.values()) for (const id of ids) webpBytes += (await (await thumbnail(id)).arrayBuffer()).byteLength;
    const perFace = (after.bytes - before.bytes) / SAMPLE_FACES;
    t.diagnostic(
      `storage: ${SAMPLE_FACES} faces, WebP ${webpBytes} B (${(webpBytes / SAMPLE_FACES).toFixed(0)} B a face), stream ${after.bytes - before.bytes} B (${perFace.toFixed(0)} B a face)`,
    );
    assert.ok(webpBytes / SAMPLE_FACES > 500 && webpBytes / SAMPLE_FACES < 8000, `WebP bytes a face: ${webpBytes / SAMPLE_FACES}`);
    assert.ok(perFace - webpBytes / SAMPLE_FACES < 1000, `object-store overhead a face: ${perFace - webpBytes / SAMPLE_FACES} B`);
  });

  test('GET /v1/faces/{id}/thumbnail: a 96 px WebP of the face, cacheable, with an ETag; If-None-Match answers 304', async () => {
    const id = enrolled.get('person 1')![0];
    const res = await thumbnail(id);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.equal(res.headers.get('cache-control'), 'private, max-age=86400');
    const etag = res.headers.get('etag');
    assert.match(etag ?? '', /^"SHA-256=[\w-]+=*"$/);
    const image = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(image).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 96, 96]);
    // A face, not a corner of the photo: not one flat colour.
    const { channels } = await sharp(image).stats();
    assert.ok(channels[0].stdev > 10, `stdev ${channels[0].stdev}`);

    const again = await thumbnail(id, READER, { 'if-none-match': etag! });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('etag'), etag);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    // Another face, another ETag.
    assert.notEqual((await thumbnail(enrolled.get('person 1')![1])).headers.get('etag'), etag);
  });

  test('a face stored again gets its new thumbnail in place of the old one (no chunk left behind)', async () => {
    const before = (await thumbnailBucket()).state;
    const id = enrolled.get('person 1')![0];
    const old = (await thumbnail(id)).headers.get('etag');
    // The same id from another picture of the photo (darker): another thumbnail.
    const darker = await sharp(photos.get(SAMPLE_PHOTOS[0])!).modulate({ brightness: 0.6 }).jpeg().toBuffer();
    const res = await enroll(gw.base, 'person 1', SAMPLE_PHOTOS[0], darker);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.faces[0].id, id);
    assert.notEqual((await thumbnail(id)).headers.get('etag'), old);
    assert.equal((await thumbnailBucket()).state.messages, before.messages, 'each object still one chunk and one meta message');
  });

  test("ids with '/', '#', spaces and unicode: stored and served by their id", async () => {
    const res = await enroll(gw.base, ODD_PERSON, ODD_NAME, photos.get('sample3.jpg')!);
    assert.equal(res.status, 200, res.text);
    const ids = res.json.faces.map((f) => f.id);
    assert.equal(ids[0], `${ODD_PERSON}/${ODD_NAME}#0`);
    assert.equal(res.json.thumbnails, ids.length);
    enrolled.set(ODD_PERSON, ids);
    for (const id of ids) {
      const got = await thumbnail(id);
      assert.equal(got.status, 200, id);
      assert.equal((await sharp(Buffer.from(await got.arrayBuffer())).metadata()).format, 'webp');
    }
    // The same thumbnails as the ASCII-named enrolment of the same photo, byte for byte.
    const plain = await (await thumbnail(enrolled.get('person 3')![0])).arrayBuffer();
    assert.deepEqual(Buffer.from(await (await thumbnail(ids[0])).arrayBuffer()), Buffer.from(plain));
  });

  test('keys: none or unknown is 401; a face without a thumbnail is 404 with the JSON error', async () => {
    const id = enrolled.get('person 1')![0];
    const none = await thumbnail(id, null);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'unauthorized');
    assert.equal((await thumbnail(id, 'not-a-key')).status, 401);
    const absent = await thumbnail('nobody/none.jpg#0');
    assert.equal(absent.status, 404);
    assert.deepEqual(await absent.json(), {
      error: { code: 'not_found', message: 'no thumbnail for the face "nobody/none.jpg#0": no such face, or it was stored without one' },
    });
  });

  test("a reader's NATS identity reads thumbnails but cannot write or delete one", async () => {
    const nc = await connectAs({ servers: cluster.url }, { creds: cluster.credentials!.credsFile({ role: 'reader' }) });
    try {
      const store = await ThumbnailStore.of(nc, subjectsFor('faces'));
      const id = enrolled.get('person 2')![0];
      assert.ok((await store.get(id))?.data.length);
      await assert.rejects(store.put('forged#0', new Uint8Array([1, 2, 3])), /permission|timeout/i);
      await assert.rejects(store.delete(id), /permission|timeout/i);
    } finally {
      await nc.close();
    }
    assert.equal((await thumbnail('forged#0')).status, 404);
    assert.equal((await thumbnail(enrolled.get('person 2')![0])).status, 200);
  });

  test('deleting a face by id deletes its thumbnail', async () => {
    const [id, kept] = enrolled.get('person 2')!;
    const before = (await thumbnailBucket()).state.messages;
    const res = await fetch(`${gw.base}/v1/faces/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${WRITER}` } });
    assert.equal(res.status, 200, await res.text());
    assert.equal((await thumbnail(id)).status, 404);
    assert.equal((await thumbnail(kept)).status, 200, 'the photo’s other face keeps its thumbnail');
    // Its chunk and its meta message purged: nothing left of it.
    assert.equal((await thumbnailBucket()).state.messages, before - 2);
  });

  test("deleting a person's faces (delete-where) deletes their thumbnails, the odd ids' too", async () => {
    for (const person of ['person 4', ODD_PERSON]) {
      const before = (await thumbnailBucket()).state.messages;
      const reply = await cluster.client.deleteWhere({ person });
      assert.equal(reply.deleted, enrolled.get(person)!.length, person);
      // Deleted after the answer (a large delete-where must not wait on them): soon after.
      await until(
        `${person}'s thumbnails deleted`,
        async () => ((await thumbnailBucket()).state.messages === before - 2 * enrolled.get(person)!.length ? true : undefined),
        10_000,
      );
      for (const id of enrolled.get(person)!) assert.equal((await thumbnail(id)).status, 404, id);
    }
    assert.equal((await thumbnail(enrolled.get('person 5')![0])).status, 200, 'other persons keep theirs');
  });

  test('a gateway started with --no-thumbnails (GATEWAY_THUMBNAILS=false) stores the faces and no thumbnail', async () => {
    const before = (await thumbnailBucket()).state.messages;
    const res = await enroll(noThumbs.base, 'no thumbs', 'sample6.jpg', photos.get('sample6.jpg')!);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.accepted > 0);
    assert.equal(res.json.thumbnails, 0);
    assert.equal((await thumbnailBucket()).state.messages, before);
    assert.equal((await thumbnail(res.json.faces[0].id)).status, 404);
  });
  // Last: it deletes the bucket.
  test('thumbnails are best effort: without the bucket, enrolling stores the faces and counts the thumbnails not stored; deleting still answers', async () => {
    await (await (await cluster.adminNc()).jetstreamManager()).streams.delete(`OBJ_${subjectsFor('faces').thumbnailBucket}`);
    const res = await enroll(gw.base, 'after the bucket', 'sample1.jpg', photos.get('sample1.jpg')!);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.accepted > 0);
    assert.equal(res.json.thumbnails, 0);
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    assert.match(metrics, new RegExp(`^faceshard_gateway_thumbnail_failures_total({[^}]*})? ${res.json.accepted}$`, 'm'));
    const id = res.json.faces[0].id;
    const deleted = await fetch(`${gw.base}/v1/faces/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${WRITER}` } });
    assert.equal(deleted.status, 200);
    assert.equal(((await deleted.json()) as { deleted: number }).deleted, 1);
  });
});
