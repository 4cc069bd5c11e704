import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hash64, jumpConsistentHash, shardOf } from '../../libs/sharding/index.js';

test('hash64 is FNV-1a 64 (published test vectors)', () => {
  assert.equal(hash64('').toString(16), 'cbf29ce484222325');
  assert.equal(hash64('a').toString(16), 'af63dc4c8601ec8c');
  assert.equal(hash64('foobar').toString(16), '85944171f73967e8');
});

test('hash64 hashes UTF-8 bytes, not UTF-16 code units', () => {
  assert.notEqual(hash64('é'), hash64('e'));
  assert.equal(hash64('photos/zoë.jpg#0'), hash64('photos/zoë.jpg#0'));
});

test('jump hash: one bucket takes everything, results stay in range', () => {
  for (let i = 0; i < 1000; i++) {
    assert.equal(jumpConsistentHash(hash64(`id-${i}`), 1), 0);
    const b = jumpConsistentHash(hash64(`id-${i}`), 7);
    assert.ok(b >= 0 && b < 7);
  }
  assert.throws(() => jumpConsistentHash(1n, 0), /positive integer/);
});

test('shardOf is stable: same id, same shard, across calls', () => {
  const first = Array.from({ length: 500 }, (_, i) => shardOf(`people/p${i}.jpg#0`, 4));
  const again = Array.from({ length: 500 }, (_, i) => shardOf(`people/p${i}.jpg#0`, 4));
  assert.deepEqual(again, first);
});

test('shardOf is balanced: 100,000 ids over 4 and 16 shards within 5% of even (4 sigma of a fair split)', () => {
  for (const n of [4, 16]) {
    const counts = new Array(n).fill(0);
    for (let i = 0; i < 100_000; i++) counts[shardOf(`kaggle_faces/${i}.png#0`, n)]++;
    const even = 100_000 / n;
    for (const c of counts) assert.ok(Math.abs(c - even) / even < 0.05, `counts ${counts}`);
  }
});

test('growing from N to N+1 shards moves only ids to the new shard, about 1/(N+1) of them', () => {
  let moved = 0;
  const total = 20_000;
  for (let i = 0; i < total; i++) {
    const key = hash64(`face-${i}`);
    const before = jumpConsistentHash(key, 4);
    const after = jumpConsistentHash(key, 5);
    if (before !== after) {
      assert.equal(after, 4, 'a moved id goes to the new shard only');
      moved++;
    }
  }
  assert.ok(Math.abs(moved / total - 1 / 5) < 0.02, `moved ${moved}`);
});

test('the BigInt-free shardOf equals jumpConsistentHash(hash64(id), n) exactly', () => {
  const ids = ['', 'a', 'zoë/ü.jpg#3', 'x'.repeat(600), ...Array.from({ length: 20_000 }, (_, i) => `kaggle_faces/${i * 7919}.png#${i % 3}`)];
  for (const n of [1, 2, 3, 4, 7, 16, 100, 1000, 4096]) {
    for (const id of ids) assert.equal(shardOf(id, n), jumpConsistentHash(hash64(id), n), `${id} over ${n}`);
  }
  assert.throws(() => shardOf('a', 0), /positive integer/);
});
