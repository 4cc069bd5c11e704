import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdTable } from '../../libs/index/face-index/id-table.js';
import { compareIds } from '../../libs/index/topk/index.js';
import { seededRandom } from '../helpers/random.js';

/** Ids of every shape: ASCII, Latin-1, beyond a byte, surrogate pairs, lone surrogates, '' and long. */
function randomId(rand: () => number): string {
  const pick = rand();
  const length = pick < 0.02 ? 0 : pick < 0.05 ? 300 + Math.floor(rand() * 300) : 1 + Math.floor(rand() * 24);
  const alphabets = [
    () => 97 + Math.floor(rand() * 4), // few letters: many shared prefixes
    () => 0xe0 + Math.floor(rand() * 0x1f),
    () => 0x100 + Math.floor(rand() * 0x80),
    () => 0xd800 + Math.floor(rand() * 0x800), // lone surrogates, either half
    () => 0xfff0 + Math.floor(rand() * 0x10),
  ];
  const wide = rand() < 0.3;
  let id = '';
  for (let i = 0; i < length; i++) id += String.fromCharCode((wide ? alphabets[1 + Math.floor(rand() * 4)] : alphabets[0])());
  return id;
}

test('IdTable keeps ids by slot exactly as given and finds their slots, through removals, compactions and rehashes', () => {
  const rand = seededRandom(7);
  const table = new IdTable();
  const model = new Map<string, number>();
  const freeSlots: number[] = [];
  let nextSlot = 0;
  table.ensureSlots(64);
  for (let step = 0; step < 40_000; step++) {
    const id = rand() < 0.5 && model.size > 0 ? [...model.keys()][Math.floor(rand() * Math.min(model.size, 64))] : randomId(rand);
    if (model.has(id) && rand() < 0.7) {
      assert.equal(table.remove(id), model.get(id));
      freeSlots.push(model.get(id)!);
      model.delete(id);
    } else if (!model.has(id)) {
      const slot = freeSlots.pop() ?? nextSlot++;
      table.ensureSlots(nextSlot * 2);
      table.insert(id, slot);
      model.set(id, slot);
    }
    assert.equal(table.count, model.size);
    if (step % 997 === 0) {
      for (const [held, slot] of model) {
        assert.equal(table.find(held), slot);
        assert.equal(table.idOf(slot), held);
      }
    }
  }
  for (const [held, slot] of model) assert.equal(table.idOf(slot), held);
  assert.equal(table.find('never inserted'), -1);
  assert.equal(table.remove('never inserted'), -1);
  // Lookalikes that a lossy encoding would merge stay apart.
  const twins = new IdTable();
  twins.ensureSlots(4);
  ['\ud800', '\ufffd', '\u00e9', 'e\u0301'].forEach((id, slot) => twins.insert(id, slot));
  assert.deepEqual(
    ['\ud800', '\ufffd', '\u00e9', 'e\u0301'].map((id) => twins.find(id)),
    [0, 1, 2, 3],
  );
  assert.equal(twins.idOf(0), '\ud800');
});

test('IdTable.compare orders slots as `a < b` orders the strings (UTF-16 code units)', () => {
  const rand = seededRandom(11);
  const ids = [...new Set(Array.from({ length: 400 }, () => randomId(rand)).concat(['', 'a', 'ab', 'b', '\u00ff', '\u0100', '\ud83d\ude00', '\uffff']))];
  const table = new IdTable();
  table.ensureSlots(ids.length);
  ids.forEach((id, slot) => table.insert(id, slot));
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < ids.length; j += 7)
      assert.equal(Math.sign(table.compare(i, j)), compareIds(ids[i], ids[j]), `${JSON.stringify(ids[i])} vs ${JSON.stringify(ids[j])}`);
  }
});

test('IdTable refuses a slot it has no room for, and holds far fewer bytes than strings and a Map would', () => {
  const table = new IdTable();
  table.ensureSlots(2);
  assert.throws(() => table.insert('x', 2), /slot 2 beyond the 2 slots/);
  const big = new IdTable();
  const n = 100_000;
  big.ensureSlots(n);
  for (let i = 0; i < n; i++) big.insert(`people/${String(i).padStart(8, '0')}.jpg#0`, i);
  // A JS string (40 bytes for 21 one-byte characters), a Map entry and a row array slot
  // measured ~100 bytes a face in a shard's heap; here the 21 bytes, a share of the table
  // and 12 bytes of slot columns, with the arena's doubling slack.
  assert.ok(big.bytes / n < 72, `${(big.bytes / n).toFixed(1)} bytes an id`);
});

test('IdTable.findOrInsert: the slot of an id held, else stored in the slot given (reusing tombstones); reserve leaves room', () => {
  const rand = seededRandom(11);
  const table = new IdTable();
  const model = new Map<string, number>();
  const freeSlots: number[] = [];
  let nextSlot = 0;
  table.ensureSlots(8192);
  table.reserve(2000, 2000 * 12);
  for (let step = 0; step < 20_000; step++) {
    const id = rand() < 0.5 && model.size > 0 ? [...model.keys()][Math.floor(rand() * Math.min(model.size, 64))] : randomId(rand);
    if (model.has(id) && rand() < 0.4) {
      // Removals leave tombstones that later inserts reuse.
      assert.equal(table.remove(id), model.get(id));
      freeSlots.push(model.get(id)!);
      model.delete(id);
      continue;
    }
    const slot = freeSlots.length > 0 ? freeSlots[freeSlots.length - 1] : nextSlot;
    table.ensureSlots(nextSlot + 1);
    const held = table.findOrInsert(id, slot);
    if (model.has(id)) assert.equal(held, model.get(id), `${JSON.stringify(id)} was held`);
    else {
      assert.equal(held, -1, `${JSON.stringify(id)} was not held`);
      if (freeSlots.length > 0) freeSlots.pop();
      else nextSlot++;
      model.set(id, slot);
    }
    assert.equal(table.count, model.size);
  }
  for (const [id, slot] of model) {
    assert.equal(table.find(id), slot);
    assert.equal(table.idOf(slot), id);
  }
  assert.throws(() => table.findOrInsert('new', 1 << 20), /beyond/);
});
