/** Counts, rates and latency percentiles of an overload run's queries, within a time window or per bucket. */
import { percentile } from '../percentile.js';
import { Outcome, type OverloadRecord } from './load.js';

export interface LevelSummary {
  seconds: number;
  complete: number;
  partial: number;
  busy: number;
  timeouts: number;
  other: number;
  /** Complete answers a second. */
  goodput: number;
  /** Answers (complete or partial) a second. */
  answered: number;
  /** Latency of answered queries (complete or partial). */
  acceptedP50Ms: number;
  acceptedP99Ms: number;
  acceptedMaxMs: number;
  /** Latency of `busy` refusals. */
  refusalP50Ms: number;
  refusalP99Ms: number;
  otherCodes: Record<string, number>;
}

/** The queries that ended in [fromMs, toMs) from the run's start. */
export function summarize(record: OverloadRecord, fromMs: number, toMs: number): LevelSummary {
  const counts = new Array<number>(5).fill(0);
  const accepted: number[] = [];
  const refusals: number[] = [];
  for (let i = 0; i < record.outcome.length; i++) {
    const at = record.endedAtMs[i];
    if (at < fromMs || at >= toMs) continue;
    const what = record.outcome[i];
    counts[what]++;
    if (what === Outcome.complete || what === Outcome.partial) accepted.push(record.latencyMs[i]);
    else if (what === Outcome.busy) refusals.push(record.latencyMs[i]);
  }
  const seconds = (toMs - fromMs) / 1000;
  return {
    seconds,
    complete: counts[Outcome.complete],
    partial: counts[Outcome.partial],
    busy: counts[Outcome.busy],
    timeouts: counts[Outcome.timeout],
    other: counts[Outcome.other],
    goodput: counts[Outcome.complete] / seconds,
    answered: (counts[Outcome.complete] + counts[Outcome.partial]) / seconds,
    acceptedP50Ms: percentile(accepted, 50),
    acceptedP99Ms: percentile(accepted, 99),
    acceptedMaxMs: accepted.length ? accepted.reduce((a, b) => Math.max(a, b)) : NaN,
    refusalP50Ms: percentile(refusals, 50),
    refusalP99Ms: percentile(refusals, 99),
    otherCodes: record.otherCodes,
  };
}

/** Per bucketMs bucket from the run's start: complete answers, partial, busy, failed (timeouts and other errors). */
export interface OutcomeBuckets {
  bucketMs: number;
  complete: number[];
  partial: number[];
  busy: number[];
  failed: number[];
}

export function bucketOutcomes(record: OverloadRecord, bucketMs: number): OutcomeBuckets {
  const n = Math.max(1, Math.ceil((record.endedAt - record.startedAt) / bucketMs));
  const buckets: OutcomeBuckets = {
    bucketMs,
    complete: new Array(n).fill(0),
    partial: new Array(n).fill(0),
    busy: new Array(n).fill(0),
    failed: new Array(n).fill(0),
  };
  const column = [buckets.complete, buckets.partial, buckets.busy, buckets.failed, buckets.failed];
  for (let i = 0; i < record.outcome.length; i++) column[record.outcome[i]][Math.min(n - 1, Math.floor(record.endedAtMs[i] / bucketMs))]++;
  return buckets;
}

/**
 * The saturating concurrency: the lowest measured level that no later (higher) level
 * beats by more than `gain` (0.10: 10%) in q/s, so a plateau that later rises again (the
 * coordinator's batches grow with concurrency) is not taken for saturation; the last
 * level if q/s rose at every step.
 */
export const SATURATION_GAIN = 0.1;

export function saturatingConcurrency(steps: readonly { concurrency: number; qps: number }[], gain = SATURATION_GAIN): number {
  return steps[saturatedStep(steps, gain)].concurrency;
}

/** Levels measured past the saturating one before the search stops. */
export const CONFIRMING_STEPS = 3;

/** Whether the search has confirmed saturation: CONFIRMING_STEPS levels past the saturating one. */
export function saturationConfirmed(steps: readonly { concurrency: number; qps: number }[], gain = SATURATION_GAIN): boolean {
  return steps.length > 0 && steps.length - 1 - saturatedStep(steps, gain) >= CONFIRMING_STEPS;
}

function saturatedStep(steps: readonly { qps: number }[], gain: number): number {
  if (steps.length === 0) throw new Error('saturatingConcurrency: no steps measured');
  for (let i = 0; i < steps.length; i++) if (steps.slice(i + 1).every((later) => later.qps <= steps[i].qps * (1 + gain))) return i;
  return steps.length - 1; // unreachable: the last step has no later one
}
