import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppliedWindow, windowDifference } from '../../services/shard/applied-window.js';

test('the applied window keeps the last records in order and drops the oldest when full', () => {
  const window = new AppliedWindow(3);
  assert.equal(window.oldestSeq, 0);
  assert.equal(window.newestWrittenMs, 0, 'nothing applied: no write time');
  assert.deepEqual(window.entries(), []);
  window.push(4, 40);
  window.push(7, 70);
  assert.deepEqual(window.entries(), [
    { seq: 4, writtenMs: 40 },
    { seq: 7, writtenMs: 70 },
  ]);
  window.push(8, 80);
  window.push(12, 120);
  window.push(13, 130);
  assert.equal(window.length, 3);
  assert.equal(window.oldestSeq, 8);
  assert.equal(window.newestWrittenMs, 130, 'the last record pushed, across the wrap of the ring');
  assert.deepEqual(
    window.entries().map((r) => r.seq),
    [8, 12, 13],
  );
  assert.throws(() => new AppliedWindow(0), /at least 1 record/);
});

test('a log that still holds the applied records, and more after them, shows no difference', () => {
  const applied = [
    { seq: 5, writtenMs: 50 },
    { seq: 9, writtenMs: 90 },
  ];
  assert.equal(windowDifference(applied, applied), undefined);
  assert.equal(windowDifference(applied, [...applied, { seq: 11, writtenMs: 110 }]), undefined);
  assert.equal(windowDifference([], []), undefined);
});

test('records taken back and written again at their sequences are told apart, whichever way they differ', () => {
  const applied = [
    { seq: 5, writtenMs: 50 },
    { seq: 6, writtenMs: 60 },
    { seq: 9, writtenMs: 90 },
  ];
  // Another record at an applied sequence (the chaos run's failure: the replica had moved past it).
  assert.match(
    windowDifference(applied, [
      { seq: 5, writtenMs: 50 },
      { seq: 6, writtenMs: 61 },
      { seq: 9, writtenMs: 90 },
    ])!,
    /sequence 6 was written at .* not at/,
  );
  // A record of this shard the replica never saw, between two it applied.
  assert.match(
    windowDifference(applied, [
      { seq: 5, writtenMs: 50 },
      { seq: 6, writtenMs: 60 },
      { seq: 7, writtenMs: 95 },
    ])!,
    /sequence 7 that the index never applied/,
  );
  // An applied record gone (its sequence now holds another shard's record).
  assert.match(
    windowDifference(applied, [
      { seq: 5, writtenMs: 50 },
      { seq: 9, writtenMs: 90 },
    ])!,
    /sequence 6, which the index applied, is gone/,
  );
  // The log ends before the last applied record.
  assert.match(
    windowDifference(applied, [
      { seq: 5, writtenMs: 50 },
      { seq: 6, writtenMs: 60 },
    ])!,
    /no record of this shard at or after sequence 7; the index applied one at sequence 9/,
  );
});
