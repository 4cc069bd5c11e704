import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergePages } from '../../services/coordinator/merge-pages.js';

const key = (s: string) => s;

describe('mergePages (a listing page from shard pages)', () => {
  test('the first `limit` keys of all shards, in order; the cursor when more remain', () => {
    const pages = [
      { items: ['a', 'd', 'g'], more: false },
      { items: ['b', 'e'], more: false },
      { items: ['c', 'f'], more: false },
    ];
    assert.deepEqual(mergePages(pages, key, 4), { items: ['a', 'b', 'c', 'd'], next: 'd' });
    assert.deepEqual(mergePages(pages, key, 7), { items: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    assert.deepEqual(mergePages([], key, 7), { items: [] });
  });

  test('a shard with more (its page cut short by the message size) bounds the page at its last key: past it, that shard is unknown', () => {
    const pages = [
      { items: ['a', 'c'], more: true },
      { items: ['b', 'd', 'e', 'f'], more: false },
    ];
    // Without the bound, 'd' would come before shard 0's next key (maybe 'c2'), which the next page would then skip.
    assert.deepEqual(mergePages(pages, key, 10), { items: ['a', 'b', 'c'], next: 'c' });
  });

  test('equal keys from several shards are combined (persons counted on each)', () => {
    type Count = { person: string; faces: number };
    const pages = [
      {
        items: [
          { person: 'ann', faces: 2 },
          { person: 'bob', faces: 1 },
        ],
        more: false,
      },
      { items: [{ person: 'ann', faces: 3 }], more: false },
    ];
    const sum = (a: Count, b: Count) => ({ person: a.person, faces: a.faces + b.faces });
    assert.deepEqual(
      mergePages<Count>(pages, (c) => c.person, 10, sum),
      {
        items: [
          { person: 'ann', faces: 5 },
          { person: 'bob', faces: 1 },
        ],
      },
    );
  });
});
