import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EncodeReply, ErrorReply } from '../../libs/protocol/index.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const decoder = new TextDecoder();

describe('the encoder service (faces.encode)', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ shards: 1, auth: true });
    cluster.startService('encoder', 'encoder');
  });
  after(async () => {
    await cluster?.cleanup();
  });

  async function encode(body: Uint8Array) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const msg = await cluster.client.nc.request(cluster.client.subjects.encode, body, { timeout: 30_000 });
        return { json: JSON.parse(decoder.decode(msg.data)) as unknown, code: msg.headers?.get('Nats-Service-Error-Code') };
      } catch (err) {
        // the encoder loads its models before it subscribes: "no responders" until then
        if ((err as { code?: string }).code !== '503' || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  test('a photo in, its faces out: boxes, scores and 128-d vectors', async () => {
    const { json } = await encode(await readFile(path.join(samplePhotoDir(), 'sample1.jpg')));
    const reply = EncodeReply.parse(json);
    assert.ok(reply.faces.length >= 2, `faces: ${reply.faces.length}`);
    for (const face of reply.faces) {
      assert.equal(face.vector.length, 128);
      const norm = Math.hypot(...face.vector);
      assert.ok(norm > 1 && norm < 2, `norm ${norm}`);
      assert.ok(face.score >= 0.5 && face.box.width > 0);
    }
    assert.match(reply.backend, /wasm|tensorflow|cpu/);
    const status = await cluster.client.status();
    assert.deepEqual(
      status.encoders.map((e) => e.backend),
      [reply.backend],
      'faceshard status names the encoder backend',
    );
  });

  test('bytes that are not an image get a named bad_request, and the service keeps serving', async () => {
    const bad = await encode(new TextEncoder().encode('definitely not a jpeg'));
    const error = ErrorReply.parse(bad.json);
    assert.equal(error.error.code, 'bad_request');
    assert.match(error.error.message, /not an image|unsupported/);
    assert.equal(bad.code, '400');
    const empty = ErrorReply.parse((await encode(new Uint8Array(0))).json);
    assert.match(empty.error.message, /empty/);
    const again = EncodeReply.parse((await encode(await readFile(path.join(samplePhotoDir(), 'sample4.jpg')))).json);
    assert.ok(again.faces.length >= 1);
  });
});
