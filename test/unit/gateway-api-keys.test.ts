import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKeys, ApiKeysError, parseApiKeys, roleAllows } from '../../services/gateway/api-keys.js';

const READER = 'r'.repeat(20);
const WRITER = 'w'.repeat(20);
const ADMIN = 'a'.repeat(20);

test('a keys file as lines (comments, names) and as JSON gives the same keys', () => {
  const lines = parseApiKeys(`# keys\n${READER} reader ci job\n\n${WRITER} writer # loader\n${ADMIN} admin\n`, 'keys.txt');
  const json = parseApiKeys(
    JSON.stringify([
      { key: READER, role: 'reader', name: 'ci job' },
      { key: WRITER, role: 'writer' },
      { key: ADMIN, role: 'admin' },
    ]),
    'k.json',
  );
  assert.deepEqual(lines, json);
  assert.equal(lines[0].name, 'ci job');
});

test('a key finds its role; an unknown, a longer or a shorter key finds nothing', () => {
  const keys = new ApiKeys(parseApiKeys(`${READER} reader\n${WRITER} writer alice\n`, 'keys.txt'));
  assert.equal(keys.size, 2);
  assert.deepEqual(keys.lookup(READER), { role: 'reader', name: undefined });
  assert.deepEqual(keys.lookup(WRITER), { role: 'writer', name: 'alice' });
  assert.equal(keys.lookup(ADMIN), undefined);
  assert.equal(keys.lookup(`${READER}x`), undefined);
  assert.equal(keys.lookup(READER.slice(1)), undefined);
  assert.equal(keys.lookup(''), undefined);
});

test('bad files are refused naming the entry, never repeating the key', () => {
  const refused = (text: string, pattern: RegExp) =>
    assert.throws(
      () => parseApiKeys(text, 'keys.txt'),
      (err: Error) => err instanceof ApiKeysError && pattern.test(err.message) && !err.message.includes('short-key'),
    );
  refused('short-key reader\n', /keys\.txt: entry 0\.key: a key must have at least 16 characters/);
  refused(`${READER} owner\n`, /entry 0\.role/);
  refused(`${READER}\n`, /entry 0\.role/);
  refused('# nothing\n', /the file holds no keys/);
  refused(`${READER} reader\n${READER} admin\n`, /entry 1: the same key is listed twice/);
  refused('[{"key": ', /not valid JSON/);
  assert.throws(() => ApiKeys.fromFile('/no/such/keys.txt'), /cannot read the API keys file \/no\/such\/keys\.txt/);
});

test('roles: a writer may do what a reader may, an admin everything, not the other way round', () => {
  assert.ok(roleAllows('reader', 'reader'));
  assert.ok(roleAllows('writer', 'reader'));
  assert.ok(roleAllows('admin', 'writer'));
  assert.ok(!roleAllows('reader', 'writer'));
  assert.ok(!roleAllows('writer', 'admin'));
});
