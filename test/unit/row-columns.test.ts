import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NumberColumn, ValueColumn, type RowColumn } from '../../libs/index/row-columns/index.js';
import { FourBitCodeArena, Int16RowArena, Int8CodeArena, wasmSimdSupported } from '../../libs/index/simd-kernel/index.js';
import { RowStore, type MovePlan } from '../../libs/index/face-index/row-store.js';

/** A column under test: how to give row `row` the content of label `label`, and read a row's label back. */
interface ColumnCase {
  name: string;
  column: RowColumn;
  write(row: number, label: number): void;
  read(row: number): number;
}

const ROWS = 40;

function columnCases(): ColumnCase[] {
  const numbers = new NumberColumn(new Int32Array(ROWS), -1);
  const flags = new NumberColumn(new Uint8Array(ROWS));
  const values = new ValueColumn<{ label: number }>();
  const vectors = new Int16RowArena(12, ROWS, { forceJs: true });
  const vector = new Float32Array(12);
  const cases: ColumnCase[] = [
    { name: 'NumberColumn<Int32Array>', column: numbers, write: (row, label) => (numbers.values[row] = label), read: (row) => numbers.values[row] },
    { name: 'NumberColumn<Uint8Array>', column: flags, write: (row, label) => (flags.values[row] = label), read: (row) => flags.values[row] },
    { name: 'ValueColumn', column: values, write: (row, label) => values.set(row, { label }), read: (row) => values.at(row).label },
    {
      name: 'Int16RowArena',
      column: vectors,
      // Every component differs, so a row moved by one value is caught.
      write: (row, label) =>
        vectors.setRow(
          row,
          vector.map((_, d) => (label * 12 + d) / 1024),
        ),
      read: (row) => {
        vectors.readRows(row, 1, vector);
        const label = Math.round(vector[0] * 1024) / 12;
        vector.forEach((x, d) => assert.equal(x, (label * 12 + d) / 1024, `row ${row} component ${d}`));
        return label;
      },
    },
  ];
  if (wasmSimdSupported()) {
    const codes = new Int8CodeArena(16, ROWS);
    const fourBit = new FourBitCodeArena(4, ROWS);
    cases.push(
      {
        name: 'Int8CodeArena',
        column: codes,
        write: (row, label) => {
          for (let d = 0; d < 16; d++) codes.codes[row * 16 + d] = (label + d) % 100;
          codes.residuals[row] = label;
          codes.setNorm(row);
        },
        read: (row) => {
          const label = codes.residuals[row];
          let norm = 0;
          for (let d = 0; d < 16; d++) {
            assert.equal(codes.codes[row * 16 + d], (label + d) % 100, `row ${row} code ${d} moved with its residual`);
            norm += ((label + d) % 100) ** 2;
          }
          assert.equal(codes.norms[row], norm, 'norm moved with its codes');
          return label;
        },
      },
      {
        name: 'FourBitCodeArena',
        column: fourBit,
        write: (row, label) => fourBit.setRow(row, [label & 15, (label >> 4) & 15, 0, 7]),
        read: (row) => fourBit.code(row, 0) | (fourBit.code(row, 1) << 4),
      },
    );
  }
  return cases;
}

/** What the moves do to a plain array of labels: the model every column must follow. */
function modelCarryOut(labels: number[], plan: MovePlan): number[] {
  const out = labels.slice();
  const aside = Array.from(plan.aside, (row) => labels[row]);
  for (const move of plan.moves) {
    const source = move.aside ? aside.slice(move.from, move.from + move.count) : out.slice(move.from, move.from + move.count);
    for (let i = 0; i < move.count; i++) out[move.to + i] = source[i];
  }
  return out.slice(0, plan.rowCount);
}

function carryOut(column: RowColumn, plan: MovePlan): void {
  if (plan.aside.length > 0) column.takeRows(plan.aside, plan.aside.length);
  for (const move of plan.moves) {
    if (move.aside) column.putRows(move.from, move.to, move.count);
    else column.copyRows(move.to, move.from, move.from + move.count);
  }
  column.releaseTaken();
}

describe('row columns: every kind moves rows the same way', () => {
  // A merge-like plan: rows 30, 5 and 33 parked aside, a block slid right over them, the parked rows put back elsewhere.
  const plan: MovePlan = {
    aside: Int32Array.of(30, 5, 33),
    moves: [
      { to: 12, from: 10, count: 20, aside: false },
      { to: 32, from: 0, count: 2, aside: true },
      { to: 10, from: 2, count: 1, aside: true },
      { to: 2, from: 3, count: 4, aside: false },
    ],
    rowCount: 34,
  };
  // A permutation of the 34 rows left (7 is prime to 34).
  const order = Int32Array.from({ length: 34 }, (_, i) => (i * 7 + 3) % 34);

  for (const c of columnCases()) {
    test(`${c.name}: grow, block moves with rows aside, permutation`, () => {
      const labels = Array.from({ length: ROWS }, (_, i) => i + 1);
      labels.forEach((label, row) => c.write(row, label));
      c.column.ensureRowCapacity(ROWS * 3);
      assert.deepEqual(
        labels.map((_, row) => c.read(row)),
        labels,
        'growing keeps the rows',
      );
      carryOut(c.column, plan);
      const moved = modelCarryOut(labels, plan);
      assert.deepEqual(
        moved.map((_, row) => c.read(row)),
        moved,
        'block moves',
      );
      c.column.permuteRows(order, moved.length);
      assert.deepEqual(
        moved.map((_, row) => c.read(row)),
        moved.map((_, pos) => moved[order[pos]]),
        'permutation',
      );
    });
  }
});

describe('RowStore carries every move out on the columns attached to it', () => {
  const dims = 8;
  /** A store of `count` faces f0.., with an attached column holding each row's face number. */
  function storeWithTags(count: number) {
    const store = new RowStore(dims, true);
    store.grow(count * 2);
    const tags = new NumberColumn(new Int32Array(4), -1);
    store.attach(tags);
    const vector = new Float32Array(dims);
    for (let i = 0; i < count; i++) {
      const row = store.append(`f${i}`, vector.fill(i / count), { i });
      tags.values[row] = i;
    }
    const check = (what: string) => {
      for (let row = 0; row < store.rowCount; row++) {
        if (store.deleted[row] !== 0) continue;
        const face = Number(store.idAt(row).slice(1));
        assert.equal(tags.values[row], face, `${what}: row ${row} carries its face's tag`);
        assert.deepEqual(store.metaAt(row), { i: face }, `${what}: row ${row}'s meta`);
      }
    };
    return { store, tags, check };
  }

  test('attach grows the column to the store; growth keeps the tags', () => {
    const { store, tags, check } = storeWithTags(100);
    assert.ok(tags.values.length >= store.capacity);
    store.grow(store.capacity * 4);
    assert.equal(tags.values.length, store.capacity);
    check('after growth');
  });

  test('compaction, a plan with rows aside, and a permutation keep every column in step', () => {
    const { store, check } = storeWithTags(100);
    for (let i = 0; i < 100; i += 3) store.remove(`f${i}`);
    assert.equal(store.deletedRows, 34);
    store.compact();
    assert.equal(store.rowCount, 66);
    assert.equal(store.deletedRows, 0);
    check('after compaction');
    // Reverse every row through a permutation, then park the first two and put them last.
    store.permute(Int32Array.from({ length: 66 }, (_, i) => 65 - i));
    check('after the permutation');
    store.remove(store.idAt(65));
    store.carryOut({
      aside: Int32Array.of(0, 1),
      moves: [
        { to: 0, from: 2, count: 63, aside: false },
        { to: 63, from: 0, count: 2, aside: true },
      ],
      rowCount: 65,
    });
    assert.equal(store.rowCount, 65);
    assert.equal(store.deletedRows, 0, 'the dropped row was the dead one');
    assert.equal(store.size, 65);
    check('after the plan');
  });

  test('a detached column no longer moves', () => {
    const { store, tags } = storeWithTags(10);
    store.detach(tags);
    store.permute(Int32Array.from({ length: 10 }, (_, i) => 9 - i));
    assert.deepEqual(Array.from(tags.values.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
