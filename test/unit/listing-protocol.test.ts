import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_LIST_LIMIT,
  itemsWithinBytes,
  parseDeleteWhereRequest,
  parseListFacesRequest,
  parsePersonsRequest,
  ProtocolError,
} from '../../libs/protocol/index.js';

const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const refused = (message: RegExp) => (err: Error) => err instanceof ProtocolError && err.code === 'bad_request' && message.test(err.message);

test('faces.list and faces.persons: an empty body is every default; filters and limits are checked', () => {
  assert.deepEqual(parseListFacesRequest(new Uint8Array()), { limit: DEFAULT_LIST_LIMIT });
  assert.deepEqual(parsePersonsRequest(new Uint8Array()), { limit: 1000 });
  assert.deepEqual(parseListFacesRequest(body({ prefix: 'ds/', person: ' Ada ', after: 'ds/a#0', limit: 5 })), {
    prefix: 'ds/',
    person: 'Ada',
    after: 'ds/a#0',
    limit: 5,
  });
  assert.throws(() => parseListFacesRequest(body({ prefix: '' })), refused(/prefix: prefix must not be empty/));
  assert.throws(() => parseListFacesRequest(body({ prefix: 'x'.repeat(513) })), refused(/at most 512 bytes/));
  assert.throws(() => parseListFacesRequest(body({ limit: 1001 })), refused(/limit/));
  assert.throws(() => parseListFacesRequest(body({ perosn: 'Ada' })), refused(/perosn/));
  assert.throws(() => parsePersonsRequest(body({ limit: 0 })), refused(/limit/));
});

test('faces.delete-where: a prefix or a person (or both) is required, never an empty one', () => {
  assert.deepEqual(parseDeleteWhereRequest(body({ prefix: 'lfw/' })), { prefix: 'lfw/' });
  assert.deepEqual(parseDeleteWhereRequest(body({ person: 'Ada', prefix: 'a.jpg#' })), { person: 'Ada', prefix: 'a.jpg#' });
  assert.throws(() => parseDeleteWhereRequest(body({})), refused(/give prefix or person/));
  assert.throws(() => parseDeleteWhereRequest(body({ prefix: '' })), refused(/prefix must not be empty/));
  assert.throws(() => parseDeleteWhereRequest(body({ person: '\t' })), refused(/person must not be empty/));
  assert.throws(() => parseDeleteWhereRequest(body({ ids: ['a'] })), refused(/ids/));
  assert.throws(() => parseDeleteWhereRequest(new Uint8Array()), refused(/empty message body/));
});

test('itemsWithinBytes: as many as fit one message, at least one', () => {
  const items = Array.from({ length: 10 }, () => ({ s: 'x'.repeat(1000) }));
  assert.equal(itemsWithinBytes(items, 1_000_000), 10);
  const fit = itemsWithinBytes(items, 6000);
  assert.ok(fit >= 1 && fit < 10);
  assert.ok(JSON.stringify(items.slice(0, fit)).length + 2048 <= 6000 + fit, 'what fits, fits');
  assert.equal(itemsWithinBytes(items, 10), 1);
});
