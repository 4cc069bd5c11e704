// When a shard's look at its log reads the applied records back: first, on trouble, on a new leader or server, else at most once a full interval while the log moves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBackDue, servedBy, type LookNow, type MatchedReadBack } from '../../services/shard/read-back-rule.js';

const stream = { stream: 'FACES', created: '2026-12-08T00:00:00Z', firstSeq: 1, lastSeq: 100, lastWrittenAt: '2026-12-08T00:01:00Z' };
const matched: MatchedReadBack = { stream, appliedSeq: 100, servedBy: servedBy('n1', 'S1'), atMs: 1000 };
const look = (change: Partial<LookNow>): LookNow => ({ stream, appliedSeq: 100, servedBy: servedBy('n1', 'S1'), nowMs: 2000, periodic: true, ...change });
const FULL = 60_000;

test('the first look, and any look asked for by consumer trouble, read back', () => {
  assert.equal(readBackDue(undefined, look({}), FULL), true);
  assert.equal(readBackDue(matched, look({ periodic: false }), FULL), true);
});

test('a still log served by the same leader and server is not read back, however long', () => {
  assert.equal(readBackDue(matched, look({}), FULL), false);
  assert.equal(readBackDue(matched, look({ nowMs: 10 * FULL }), FULL), false);
});

test('a growing log is read back at most once a full interval while the same leader and server serve it', () => {
  const grown = { ...stream, lastSeq: 180, lastWrittenAt: '2026-12-08T00:01:05Z' };
  assert.equal(readBackDue(matched, look({ stream: grown, appliedSeq: 180 }), FULL), false);
  assert.equal(readBackDue(matched, look({ appliedSeq: 101, nowMs: 1000 + FULL - 1 }), FULL), false);
  assert.equal(readBackDue(matched, look({ stream: grown, appliedSeq: 180, nowMs: 1000 + FULL }), FULL), true);
});

test('another stream leader or another server process reads back at once, even at a still log', () => {
  assert.equal(readBackDue(matched, look({ servedBy: servedBy('n2', 'S1') }), FULL), true);
  assert.equal(readBackDue(matched, look({ servedBy: servedBy('n1', 'S2') }), FULL), true);
  assert.equal(readBackDue(matched, look({ servedBy: servedBy(undefined, 'S1') }), FULL), true);
  assert.notEqual(servedBy(undefined, undefined), servedBy('n1', undefined));
});
