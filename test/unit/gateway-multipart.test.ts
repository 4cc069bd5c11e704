import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { MAX_FORM_PARTS, multipartBoundary, parseMultipart } from '../../services/gateway/multipart.js';
import { formBoolean, formNumber, UploadForm } from '../../services/gateway/upload-form.js';
import { GatewayError } from '../../services/gateway/http-error.js';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);

/** A body as fetch (undici) encodes a FormData: what browsers and curl send too. */
async function encoded(fields: Record<string, string | Blob>): Promise<{ body: Buffer; boundary: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value, ...(typeof value === 'string' ? [] : ['file.bin']));
  const res = new Response(form);
  const boundary = multipartBoundary(res.headers.get('content-type') ?? undefined);
  assert.ok(boundary);
  return { body: Buffer.from(await res.arrayBuffer()), boundary };
}

const rejects = (fn: () => unknown, status: number, message: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof GatewayError && err.status === status && message.test(err.message));

describe('multipart/form-data parsing', () => {
  test('the boundary: quoted or bare; another type is no form; multipart without one is a 400', () => {
    assert.equal(multipartBoundary('multipart/form-data; boundary=abc'), 'abc');
    assert.equal(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b:c"'), 'a b:c');
    assert.equal(multipartBoundary('application/json'), undefined);
    assert.equal(multipartBoundary(undefined), undefined);
    rejects(() => multipartBoundary('multipart/form-data'), 400, /without a boundary/);
  });

  test('fields and files as fetch sends them, bytes intact (CRLF and boundary-like bytes inside a file)', async () => {
    const tricky = Buffer.concat([JPEG, Buffer.from('\r\n--not-the-boundary\r\n\r\n'), Buffer.from([0, 255, 13, 10])]);
    const { body, boundary } = await encoded({ photo: new Blob([tricky], { type: 'image/jpeg' }), k: '3' });
    const parts = parseMultipart(body, boundary);
    assert.deepEqual([...parts.keys()], ['photo', 'k']);
    assert.ok(parts.get('photo')!.data.equals(tricky));
    assert.equal(parts.get('photo')!.filename, 'file.bin');
    assert.equal(parts.get('photo')!.contentType, 'image/jpeg');
    assert.equal(parts.get('k')!.data.toString(), '3');
    assert.equal(parts.get('k')!.filename, undefined);
  });

  test('malformed bodies are 400s naming what is wrong', async () => {
    const { body, boundary } = await encoded({ k: '3' });
    rejects(() => parseMultipart(body, 'other-boundary'), 400, /does not start with the boundary/);
    rejects(() => parseMultipart(body.subarray(0, body.length - 10), boundary), 400, /no closing boundary/);
    const part = (headers: string) => Buffer.from(`--b\r\n${headers}\r\n\r\nvalue\r\n--b--\r\n`);
    rejects(() => parseMultipart(part('Content-Type: text/plain'), 'b'), 400, /without "Content-Disposition: form-data"/);
    rejects(() => parseMultipart(part('Content-Disposition: form-data; filename="x"'), 'b'), 400, /without a field name/);
    rejects(() => parseMultipart(part('no colon here'), 'b'), 400, /not "Name: value"/);
    rejects(() => parseMultipart(Buffer.from('--b--\r\n'), 'b'), 400, /holds no fields/);
    const twice = Buffer.from('--b\r\nContent-Disposition: form-data; name="k"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name="k"\r\n\r\n2\r\n--b--');
    rejects(() => parseMultipart(twice, 'b'), 400, /field "k" is sent twice/);
    const many = Object.fromEntries(Array.from({ length: MAX_FORM_PARTS + 1 }, (_, i) => [`f${i}`, 'x']));
    const big = await encoded(many);
    rejects(() => parseMultipart(big.body, big.boundary), 400, new RegExp(`more than ${MAX_FORM_PARTS} parts`));
  });
});

describe('an upload form: photos checked by their bytes, text fields by a schema', () => {
  const spec = { photos: ['photo'], fields: z.strictObject({ k: formNumber(z.number().int().min(1)).optional(), exact: formBoolean.optional() }) };
  const form = async (fields: Record<string, string | Blob>) => {
    const { body, boundary } = await encoded(fields);
    return new UploadForm(parseMultipart(body, boundary), spec);
  };

  test('a JPEG or PNG photo and its fields', async () => {
    const f = await form({ photo: new Blob([PNG]), k: '5', exact: 'true' });
    assert.ok(f.photo('photo').equals(PNG));
    assert.deepEqual(f.fields(), { k: 5, exact: true });
    assert.ok((await form({ photo: new Blob([JPEG]) })).photo('photo').equals(JPEG));
  });

  test('no photo 400, an empty one 400, not an image 415, a bad or unknown field 400', async () => {
    rejects(
      () => new UploadForm(new Map([['k', { name: 'k', data: Buffer.from('1') }]]), spec).photo('photo'),
      400,
      /no photo: send the image file as the form field "photo"/,
    );
    rejects(() => new UploadForm(new Map([['photo', { name: 'photo', filename: 'a.jpg', data: Buffer.alloc(0) }]]), spec).photo('photo'), 400, /is empty/);
    const text = await form({ photo: new Blob(['hello, not an image']) });
    rejects(() => text.photo('photo'), 415, /form field "photo" \("file.bin"\) is not an image: send a JPEG, PNG or WebP file/);
    const badK = await form({ photo: new Blob([JPEG]), k: 'zero' });
    rejects(() => badK.fields(), 400, /invalid form: k: /);
    const badBool = await form({ photo: new Blob([JPEG]), exact: 'yes' });
    rejects(() => badBool.fields(), 400, /invalid form: exact: must be true or false/);
    const fileAsField = await form({ photo: new Blob([JPEG]), k: new Blob(['1']) });
    rejects(() => fileAsField.fields(), 400, /form field "k" is a file; it takes a value/);
    await assert.rejects(form({ photo: new Blob([JPEG]), kk: '1' }), /unknown form field "kk": this route takes photo, k, exact/);
  });
});
