/** The paused-replica arithmetic on a made-up run. Run: node --test dist/bench/overload/pause-analysis.test.js */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outcome, type OverloadRecord } from './load.js';
import { analysePause } from './pause-analysis.js';

const T0 = 1_000_000;

/** 100 complete answers/s for 16 s, none from 6 s to 8 s (the paused replica's legs waiting out their timeout). */
function clients(): OverloadRecord {
  const ends: number[] = [];
  for (let at = 5; at < 16_000; at += 10) if (at < 6000 || at >= 8000) ends.push(at);
  return {
    startedAt: T0,
    endedAt: T0 + 16_000,
    endedAtMs: Float64Array.from(ends),
    latencyMs: Float64Array.from(ends, () => 20),
    outcome: Uint8Array.from(ends, () => Outcome.complete),
    otherCodes: {},
    otherSamples: [],
  };
}

test('the twin carries the shard from the first 1 s window at ≥ 90% of the rate before; windows of low goodput are counted', () => {
  const buckets = 64; // 16 s of 250 ms
  // Rates polled from 500 ms before the load started: two buckets of nothing first.
  const pausedRates = Array.from({ length: buckets + 2 }, (_, b) => (b < 2 ? 0 : b - 2 < 24 || b - 2 >= 44 ? 50 : 0));
  const twinRates = Array.from({ length: buckets + 2 }, (_, b) => (b < 2 ? 0 : b - 2 < 24 || b - 2 >= 44 ? 50 : b - 2 < 32 ? 0 : 100));
  const a = analysePause({
    record: clients(),
    stoppedAt: T0 + 6000,
    resumedAt: T0 + 11_000,
    pausedRates,
    twinRates,
    ratesStartedAt: T0 - 500,
    legTimeoutMs: 2000,
  });
  assert.equal(a.shardRateBefore, 100);
  assert.equal(a.completeBefore, 100);
  assert.equal(a.takeoverMs, 3000); // the window 8-9 s
  assert.equal(a.pauseWindows, 5);
  assert.equal(a.lowGoodputWindows, 2); // 6-7 s and 7-8 s
  assert.equal(a.twinRate[32], 100);
  assert.equal(a.pausedRate[30], 0);
  assert.equal(a.before.complete, 500); // 1-6 s
  assert.equal(a.pause.complete, 500); // 6-13 s: 8-13 s answered
  assert.equal(a.whole.partial + a.whole.timeouts + a.whole.other, 0);
});

test('a twin that never carries the shard has no takeover time', () => {
  const flat = Array.from({ length: 70 }, (_, b) => (b < 24 ? 50 : 0));
  const a = analysePause({
    record: clients(),
    stoppedAt: T0 + 6000,
    resumedAt: T0 + 11_000,
    pausedRates: flat,
    twinRates: flat,
    ratesStartedAt: T0,
    legTimeoutMs: 2000,
  });
  assert.equal(a.takeoverMs, null);
});
