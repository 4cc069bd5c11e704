// The gateway's photo routes (issue 25, second slice) against a real cluster with a real
// encoder (face-api on one of its own sample photos): search by a photo upload, verify two
// photos, and every refusal (keys, not multipart, no photo, not an image, too large, bad
// fields, no face). Encodes are few: the model is slow on two cores.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { EncodeReply } from '../../libs/protocol/index.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const READER = 'reader-key-for-the-photo-test';
/** Past the NATS server's max_payload (1 MB): a photo the gateway takes may still not fit in one message to the encoder. */
const MAX_BODY = 2 * 1024 * 1024;
const idOf = (i: number) => `sample1.jpg#${i}`;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Box = EncodeReply['faces'][number]['box'];

/** One face of the photo with a margin around it, at 256 px wide; mirrored when asked (another picture of the same person). */
function faceCrop(photo: Buffer, box: Box, mirrored: boolean, size: { width: number; height: number }): Promise<Buffer> {
  const margin = Math.max(box.width, box.height) * 0.6;
  const left = Math.max(0, Math.round(box.x - margin));
  const top = Math.max(0, Math.round(box.y - margin));
  const width = Math.min(size.width - left, Math.round(box.width + 2 * margin));
  const height = Math.min(size.height - top, Math.round(box.height + 2 * margin));
  const crop = sharp(photo).extract({ left, top, width, height }).resize(256);
  return (mirrored ? crop.flop() : crop).jpeg({ quality: 90 }).toBuffer();
}

describe('the gateway: search by photo and verify, with a real encoder', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let gw: TestGateway;
  let photo: Buffer;
  let faces: EncodeReply['faces'];
  let blank: Buffer;

  const upload = async (route: string, fields: Record<string, Buffer | string>, key: string | null = READER) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, new Blob([value]), `${name}.jpg`);
    }
    const res = await fetch(`${gw.base}${route}`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {}, body: form }).catch((err) => {
      throw new Error(`${route}: ${err.message} (${err.cause?.message})`);
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) };
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 1, auth: true });
    cluster.startService('encoder', 'encoder', { ENCODER_JOBS: 'false' });
    dir = await tempDir('faceshard-gateway-photos-');
    gw = await startGateway(cluster, dir, `${READER} reader\n`, { GATEWAY_MAX_BODY_BYTES: String(MAX_BODY), GATEWAY_REQUEST_TIMEOUT_MS: '60000' });
    photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    blank = await sharp({ create: { width: 160, height: 160, channels: 3, background: '#8a8a8a' } })
      .png()
      .toBuffer();
    // The encoder subscribes once its models are loaded.
    await until(
      () => `the encoder ready (${cluster.output.join('')})`,
      async () => ((await cluster.client.status()).encoders.length ? true : undefined),
      120_000,
      500,
    );
    faces = (await cluster.client.encode(photo, 60_000)).faces;
    assert.ok(faces.length >= 2, `faces in sample1.jpg: ${faces.length}`);
    const ingest = await cluster.client.ingestMany(faces.map((f, i) => ({ id: idOf(i), vector: f.vector, meta: { photo: 'sample1.jpg' } })));
    assert.equal(ingest.accepted, faces.length);
    // Read-your-writes for the searches below: the shard has applied the ingest.
    await cluster.client.query([faces[0].vector], { minSeq: ingest.seq });
  });
  after(async () => {
    if (gw?.process.exitCode === null) gw.process.kill('SIGKILL');
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test('a photo upload: every face found, with its box and its matches (itself first)', async () => {
    const res = await upload('/v1/search', { photo, k: '2' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.faces.length, faces.length);
    res.json.faces.forEach((face: { box: Box; matches: Array<{ id: string; distance: number; meta: unknown }>; who: unknown[] }, i: number) => {
      assert.deepEqual(face.box, faces[i].box);
      assert.equal(face.matches.length, 2);
      assert.equal(face.matches[0].id, idOf(i));
      assert.ok(face.matches[0].distance < 1e-3, `distance ${face.matches[0].distance}`);
      assert.deepEqual(face.matches[0].meta, { photo: 'sample1.jpg' });
      assert.deepEqual(face.who, [], 'no stored face carries a person: unknown at every threshold');
    });
    assert.equal(res.json.partial, false);
    assert.match(res.json.backend, /wasm|tensorflow|cpu/);
  });

  test('a photo past one NATS message (1 MB) is shrunk to fit by the gateway: the same faces, boxes in its own pixels', async () => {
    const big = await sharp(photo).resize(3840).jpeg({ quality: 98 }).toBuffer();
    assert.ok(big.length > 1024 * 1024 && big.length < MAX_BODY, `${big.length} bytes`);
    const res = await upload('/v1/search', { photo: big });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.faces.length, faces.length);
    const found = new Set<string>();
    for (const face of res.json.faces as Array<{ box: Box; matches: Array<{ id: string; distance: number }> }>) {
      const { id, distance } = face.matches[0];
      const original = faces[Number(id.split('#')[1])].box;
      assert.ok(distance < 0.3, `${id} at ${distance}`);
      // sample1.jpg is 1920 px wide, this one 3840: twice the original's box.
      for (const key of ['x', 'y', 'width', 'height'] as const) {
        assert.ok(Math.abs(face.box[key] - 2 * original[key]) < 0.1 * 2 * original.width, `${id} ${key}: ${face.box[key]} vs ${2 * original[key]}`);
      }
      found.add(id);
    }
    assert.equal(found.size, faces.length, 'every face matched its own');
  });

  test('a photo without a face: 200 with no faces; verify with it: 422 no_face naming the photo', async () => {
    const search = await upload('/v1/search', { photo: blank });
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(search.json.faces, []);
    const crop = await faceCrop(
      photo,
      faces[0].box,
      false,
      await sharp(photo)
        .metadata()
        .then((m) => ({ width: m.width!, height: m.height! })),
    );
    const verify = await upload('/v1/verify', { a: crop, b: blank });
    assert.equal(verify.status, 422, verify.text);
    assert.equal(verify.json.error.code, 'no_face');
    assert.match(verify.json.error.message, /no face found in photo "b"/);
  });

  test('verify: the same face mirrored is the same person; another face is further; the threshold is the one asked', async () => {
    const size = await sharp(photo)
      .metadata()
      .then((m) => ({ width: m.width!, height: m.height! }));
    const [a, aMirrored, other] = await Promise.all([
      faceCrop(photo, faces[0].box, false, size),
      faceCrop(photo, faces[0].box, true, size),
      faceCrop(photo, faces[1].box, false, size),
    ]);
    const same = await upload('/v1/verify', { a, b: aMirrored });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.threshold, 0.6);
    assert.ok(same.json.distance < 0.6, `same person at ${same.json.distance}`);
    assert.equal(same.json.samePerson, true);
    assert.equal(same.json.a.facesFound, 1);
    // A threshold just under the distance found: the verdict turns.
    const strict = Math.floor(same.json.distance * 1000) / 1000 - 0.001;
    const different = await upload(`/v1/verify?threshold=${strict}`, { a, b: other });
    assert.equal(different.status, 200, different.text);
    assert.equal(different.json.threshold, strict);
    assert.ok(different.json.distance > same.json.distance, `another person at ${different.json.distance}, the same at ${same.json.distance}`);
    assert.equal(different.json.samePerson, false);
  });

  test('keys: none 401, unknown 401 (before the upload is read); a reader may search and verify', async () => {
    const none = await upload('/v1/search', { photo: blank }, null);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'unauthorized');
    const wrong = await upload('/v1/verify', { a: blank, b: blank }, 'not-a-key-of-this-gateway');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.message, 'unknown API key');
  });

  test('bad uploads: not multipart 415, no photo 400, not an image 415, too large 413, unreadable past one NATS message 400, bad fields 400 (no encode asked)', async () => {
    const text = await fetch(`${gw.base}/v1/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READER}`, 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.equal(text.status, 415);
    assert.match(((await text.json()) as { error: { message: string } }).error.message, /send multipart\/form-data with the fields a, b/);
    const cases: Array<[string, Record<string, Buffer | string>, number, RegExp]> = [
      ['/v1/search', { k: '2' }, 400, /no photo: send the image file as the form field "photo"/],
      ['/v1/search', { photo: Buffer.from('GIF89a not what the encoder reads') }, 415, /form field "photo" \("photo.jpg"\) is not an image/],
      ['/v1/search', { photo: Buffer.concat([photo, Buffer.alloc(MAX_BODY)]) }, 413, new RegExp(`larger than ${MAX_BODY} bytes`)],
      ['/v1/search', { photo: Buffer.concat([PNG_SIGNATURE, Buffer.alloc(1024 * 1024)]) }, 400, /form field "photo": cannot read the image/],
      ['/v1/search', { photo, k: '0' }, 400, /invalid form: k: k must be at least 1/],
      ['/v1/search', { photo, effort: '2' }, 400, /effort: only with approximate=true/],
      ['/v1/search', { photo, approximate: 'yes' }, 400, /approximate: must be true or false/],
      ['/v1/search', { photo, limit: '3' }, 400, /unknown form field "limit"/],
      ['/v1/search', { photo, minSeq: '{0: 1}' }, 400, /minSeq: must be JSON, got "\{0: 1\}"/],
      ['/v1/search', { photo, minSeq: '-1' }, 400, /invalid form: minSeq/],
      ['/v1/verify', { a: photo }, 400, /no photo: send the image file as the form field "b"/],
      ['/v1/verify', { a: photo, b: photo, threshold: '2.5' }, 400, /threshold: threshold must be at most 2/],
      ['/v1/verify?threshold=-1', { a: photo, b: photo }, 400, /query parameter threshold: threshold must be at least 0/],
      ['/v1/verify?threshold=0.5', { a: photo, b: photo, threshold: '0.5' }, 400, /given both as a query parameter and a form field/],
    ];
    for (const [route, fields, status, message] of cases) {
      const res = await upload(route, fields);
      assert.equal(res.status, status, `${route} ${Object.keys(fields).join(',')}: ${res.text}`);
      assert.match(res.json.error.message, message);
    }
  });

  test('who is this: a face stored with a person, searched right after (minSeq), is that person up from its distance', async () => {
    const ingest = await cluster.client.ingestMany([{ id: 'people/ada#0', vector: faces[1].vector, meta: { person: 'Ada' } }]);
    const res = await upload('/v1/search', { photo, k: '3', minSeq: JSON.stringify(ingest.seq) });
    assert.equal(res.status, 200, res.text);
    const second = res.json.faces[1] as { matches: Array<{ id: string; distance: number }>; who: Array<{ threshold: number; verdict: unknown }> };
    const ada = second.matches.find((m) => m.id === 'people/ada#0');
    assert.ok(ada, `the face stored just before is among the matches: ${JSON.stringify(second.matches)}`);
    assert.deepEqual(second.who, [{ threshold: ada.distance, verdict: { kind: 'match', person: 'Ada', distance: ada.distance, votes: 1 } }]);
    const first = res.json.faces[0] as { matches: Array<{ id: string; distance: number }>; who: Array<{ threshold: number }> };
    const adaFar = first.matches.find((m) => m.id === 'people/ada#0');
    // The first face is someone else: Ada only from her (farther) distance, if she is among its k at all.
    assert.deepEqual(
      first.who.map((step) => step.threshold),
      adaFar ? [adaFar.distance] : [],
    );
  });
});
