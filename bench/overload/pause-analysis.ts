/**
 * What a paused-replica run shows, from the clients' record and the two replicas' rates:
 * the clients before, during and after the pause, and how soon the twin carried the shard.
 */
import type { ProbeSummary } from './health-probe.js';
import type { OverloadRecord } from './load.js';
import { bucketOutcomes, summarize, type LevelSummary, type OutcomeBuckets } from './outcomes.js';

export const BUCKET_MS = 250;
/** Not counted before the pause: the load's first second (connections, the coalescer's batch size). */
const WARMUP_MS = 1000;
/** A replica "carries the shard" at this share of the shard's rate before the pause; the clients' goodput likewise. */
const TAKEOVER_SHARE = 0.9;
/**
 * Legs carry coalesced batches and answers come in bursts (a capped replica searches a
 * batch for most of a second): rates are judged over 1 s windows, not single buckets.
 */
const WINDOW_BUCKETS = 1000 / BUCKET_MS;

export interface PauseRecord {
  record: OverloadRecord;
  /** Epoch ms. */
  stoppedAt: number;
  resumedAt: number;
  /** Query vectors/s per BUCKET_MS bucket from `ratesStartedAt` (epoch ms). */
  pausedRates: number[];
  twinRates: number[];
  ratesStartedAt: number;
  /** The coordinator's SHARD_TIMEOUT_MS: the target is the twin carrying the queries within one. */
  legTimeoutMs: number;
}

export interface PauseResult {
  concurrency: number;
  pausedReplica: string;
  twinReplica: string;
  pauseMs: number;
  legTimeoutMs: number;
  /** Ms from the load's start. */
  stoppedAtMs: number;
  resumedAtMs: number;
  before: LevelSummary;
  /** From SIGSTOP to one leg timeout after SIGCONT (legs held by the paused process come back late). */
  pause: LevelSummary;
  after: LevelSummary;
  whole: LevelSummary;
  otherSamples: string[];
  buckets: OutcomeBuckets;
  /** Query vectors/s per bucket, aligned with `buckets`. */
  pausedRate: number[];
  twinRate: number[];
  /** Shard 0's vectors/s (both replicas) before the pause. */
  shardRateBefore: number;
  /** From SIGSTOP to the end of the first 1 s window (sliding by a bucket) wholly within the pause in which the twin answered ≥ 90% of shard 0's rate before; null: none. */
  takeoverMs: number | null;
  /** The clients' complete answers/s before the pause. */
  completeBefore: number;
  /** Consecutive 1 s windows wholly within the pause (of `pauseWindows`) in which the clients got less than 90% of `completeBefore`. */
  lowGoodputWindows: number;
  pauseWindows: number;
  health: ProbeSummary[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export function analysePause(run: PauseRecord): Omit<PauseResult, 'concurrency' | 'pausedReplica' | 'twinReplica' | 'pauseMs' | 'health'> {
  const { record } = run;
  const stoppedAtMs = run.stoppedAt - record.startedAt;
  const resumedAtMs = run.resumedAt - record.startedAt;
  const buckets = bucketOutcomes(record, BUCKET_MS);
  const shift = Math.round((record.startedAt - run.ratesStartedAt) / BUCKET_MS);
  const align = (perSecond: number[]) => Array.from({ length: buckets.complete.length }, (_, b) => perSecond[b + shift] ?? 0);
  const pausedRate = align(run.pausedRates);
  const twinRate = align(run.twinRates);

  const firstBefore = Math.ceil(WARMUP_MS / BUCKET_MS);
  const stopBucket = Math.floor(stoppedAtMs / BUCKET_MS); // the bucket SIGSTOP fell in
  const firstAfterStop = Math.ceil(stoppedAtMs / BUCKET_MS); // the first bucket wholly after SIGSTOP
  const resumeBucket = Math.floor(resumedAtMs / BUCKET_MS); // the bucket SIGCONT fell in
  const shardRateBefore = mean(pausedRate.slice(firstBefore, stopBucket).map((r, i) => r + twinRate[firstBefore + i]));
  const completeBefore = mean(buckets.complete.slice(firstBefore, stopBucket)) * (1000 / BUCKET_MS);
  const windowMean = (perBucket: number[], first: number) => mean(perBucket.slice(first, first + WINDOW_BUCKETS));
  let takeoverMs: number | null = null;
  for (let b = firstAfterStop; b + WINDOW_BUCKETS <= resumeBucket && takeoverMs === null; b++) {
    if (windowMean(twinRate, b) >= TAKEOVER_SHARE * shardRateBefore) takeoverMs = (b + WINDOW_BUCKETS) * BUCKET_MS - stoppedAtMs;
  }
  let lowGoodputWindows = 0;
  let pauseWindows = 0;
  for (let b = firstAfterStop; b + WINDOW_BUCKETS <= resumeBucket; b += WINDOW_BUCKETS, pauseWindows++) {
    if (windowMean(buckets.complete, b) * (1000 / BUCKET_MS) < TAKEOVER_SHARE * completeBefore) lowGoodputWindows++;
  }

  const pauseEndMs = resumedAtMs + run.legTimeoutMs;
  const endMs = record.endedAt - record.startedAt + 1;
  return {
    legTimeoutMs: run.legTimeoutMs,
    stoppedAtMs,
    resumedAtMs,
    before: summarize(record, WARMUP_MS, stoppedAtMs),
    pause: summarize(record, stoppedAtMs, pauseEndMs),
    after: summarize(record, pauseEndMs, endMs),
    whole: summarize(record, 0, endMs),
    otherSamples: record.otherSamples,
    buckets,
    pausedRate,
    twinRate,
    shardRateBefore,
    takeoverMs,
    completeBefore,
    lowGoodputWindows,
    pauseWindows,
  };
}
