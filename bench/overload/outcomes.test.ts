/** The overload bench's arithmetic: windows, buckets, the saturating concurrency. Run: node --test dist/bench/overload/outcomes.test.js */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outcome, type OverloadRecord } from './load.js';
import { bucketOutcomes, saturatingConcurrency, saturationConfirmed, summarize } from './outcomes.js';

function record(rows: [endedAtMs: number, latencyMs: number, outcome: Outcome][]): OverloadRecord {
  return {
    startedAt: 1_000_000,
    endedAt: 1_000_000 + 1000,
    endedAtMs: Float64Array.from(rows.map((r) => r[0])),
    latencyMs: Float64Array.from(rows.map((r) => r[1])),
    outcome: Uint8Array.from(rows.map((r) => r[2])),
    otherCodes: {},
    otherSamples: [],
  };
}

test('summarize counts only what ended inside the window, and splits accepted from refused latencies', () => {
  const r = record([
    [100, 999, Outcome.complete], // before the window
    [300, 10, Outcome.complete],
    [400, 20, Outcome.partial],
    [500, 2, Outcome.busy],
    [600, 4, Outcome.busy],
    [700, 5000, Outcome.timeout],
    [800, 1, Outcome.other],
    [900, 30, Outcome.complete], // the window's end is excluded
  ]);
  const s = summarize(r, 200, 900);
  assert.deepEqual([s.complete, s.partial, s.busy, s.timeouts, s.other], [1, 1, 2, 1, 1]);
  assert.equal(s.seconds, 0.7);
  assert.equal(s.goodput, 1 / 0.7);
  assert.equal(s.answered, 2 / 0.7);
  assert.equal(s.acceptedMaxMs, 20);
  assert.equal(s.refusalP99Ms, 4);
  assert.equal(s.refusalP50Ms, 4);
});

test('a window with no answer has NaN latencies, not zero', () => {
  const s = summarize(record([[100, 5, Outcome.busy]]), 0, 1000);
  assert.ok(Number.isNaN(s.acceptedP99Ms));
  assert.ok(Number.isNaN(s.acceptedMaxMs));
});

test('bucketOutcomes puts timeouts and other errors together as failed', () => {
  const b = bucketOutcomes(
    record([
      [10, 1, Outcome.complete],
      [260, 1, Outcome.timeout],
      [270, 1, Outcome.other],
      [990, 1, Outcome.busy],
    ]),
    250,
  );
  assert.deepEqual(b.complete, [1, 0, 0, 0]);
  assert.deepEqual(b.failed, [0, 2, 0, 0]);
  assert.deepEqual(b.busy, [0, 0, 0, 1]);
});

test('saturatingConcurrency: the lowest level no later level beats by more than 10%', () => {
  const steps = [1, 2, 4, 8, 16, 32].map((concurrency, i) => ({ concurrency, qps: [50, 100, 180, 195, 300, 310][i] }));
  assert.equal(saturatingConcurrency(steps), 16); // the plateau at 4-8 rose again at 16
  assert.equal(saturatingConcurrency(steps.slice(0, 4)), 4);
  assert.equal(saturatingConcurrency(steps.slice(0, 3)), 4); // rose at every step: the last
  assert.throws(() => saturatingConcurrency([]), /no steps/);
});

test('saturationConfirmed once three levels past the saturating one have not beaten it', () => {
  const qps = [50, 100, 105, 108, 109, 300, 305, 310, 312];
  const steps = qps.map((q, i) => ({ concurrency: 2 ** i, qps: q }));
  assert.equal(saturationConfirmed(steps.slice(0, 4)), false);
  assert.equal(saturationConfirmed(steps.slice(0, 5)), true); // 100, then 105, 108 and 109
  assert.equal(saturationConfirmed(steps.slice(0, 6)), false); // 300 beat them
  assert.equal(saturationConfirmed(steps), true);
});
