// The gateway's web page files and the refusals of POST /v1/enroll (issue 25), against a real
// cluster without an encoder: everything here is refused or answered before a photo would be
// encoded (enrolling itself, a photo without a face included, is in test/e2e/web-page.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const READER = 'reader-key-for-the-enroll-test';
const WRITER = 'writer-key-for-the-enroll-test';

describe('the gateway: its web page and the refusals of enrolling', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let gw: TestGateway;
  let photo: Buffer;

  const enroll = async (fields: Record<string, Buffer | string>, key: string | null = WRITER, filename = 'ada.jpg') => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, new Blob([value]), filename);
    }
    const res = await fetch(`${gw.base}/v1/enroll`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {}, body: form });
    const text = await res.text();
    return { status: res.status, text, error: JSON.parse(text).error as { code: string; message: string } };
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 1, auth: true });
    dir = await tempDir('faceshard-gateway-enroll-');
    gw = await startGateway(cluster, dir, `${READER} reader\n${WRITER} writer\n`);
    photo = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#777' } })
      .jpeg()
      .toBuffer();
  });
  after(async () => {
    if (gw?.process.exitCode === null) gw.process.kill('SIGKILL');
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test('the page and its files without a key, each with its type; an unknown file is a 404', async () => {
    const page = await fetch(`${gw.base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/web\/app\.js"><\/script>/);
    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['zip-reader.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
    ]) {
      const res = await fetch(`${gw.base}/web/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers.get('content-type'), type, file);
    }
    const missing = await fetch(`${gw.base}/web/secrets.txt`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: { code: 'not_found', message: 'no file "secrets.txt" in the web page' } });
  });

  test('enrolling needs a writer key: none 401, a reader 403', async () => {
    const none = await enroll({ person: 'Ada', photo }, null);
    assert.equal(none.status, 401, none.text);
    const reader = await enroll({ person: 'Ada', photo }, READER);
    assert.equal(reader.status, 403, reader.text);
    assert.equal(reader.error.message, 'POST /v1/enroll needs a writer key; this key is a reader key');
  });

  test('a form that cannot be enrolled is refused before encoding, saying what was wrong', async () => {
    const cases: Array<[Record<string, Buffer | string>, number, RegExp, string?]> = [
      [{ photo }, 400, /person is missing/],
      [{ person: '  ', photo }, 400, /person must not be empty/],
      [{ person: 'Ada\nLovelace', photo }, 400, /person must not contain control characters/],
      [{ person: 'Ada' }, 400, /no photo: send the image file as the form field "photo"/],
      [{ person: 'Ada', photo: Buffer.from('just text') }, 415, /form field "photo" \("ada\.jpg"\) is not an image/],
      [{ person: 'Ada', name: '../up.jpg', photo }, 400, /name must be a relative path without '\.\.'/],
      [{ person: 'Ada', name: '/etc/a.jpg', photo }, 400, /name must be a relative path/],
      [{ person: 'Ada', name: 'a#1.jpg', photo }, 400, /name must not contain '#'/],
      [{ person: 'Ada', photo }, 400, /the photo file name \(or send a name field\).*must not contain '#'/, 'a#b.jpg'],
      [{ person: 'Ada', photo, k: '3' }, 400, /unknown form field "k": this route takes photo, person, name/],
    ];
    for (const [fields, status, message, filename] of cases) {
      const res = await enroll(fields, WRITER, filename);
      assert.equal(res.status, status, `${JSON.stringify(Object.keys(fields))}: ${res.text}`);
      assert.match(res.error.message, message);
    }
  });

  test('JSON instead of a form is a 415 naming the fields', async () => {
    const res = await fetch(`${gw.base}/v1/enroll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WRITER}`, 'content-type': 'application/json' },
      body: '{"person":"Ada"}',
    });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /send multipart\/form-data with the fields photo/);
  });
});
