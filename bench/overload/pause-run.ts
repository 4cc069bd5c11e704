/**
 * Part 3: load at C_sat while one replica of shard 0 is paused (SIGSTOP) then resumed
 * (SIGCONT); what the clients saw before, during and after, and per 250 ms bucket the
 * query vectors/s of the paused replica and of its twin.
 */
import { startHealthProbes, type ProbeSummary, type ProbeTarget } from './health-probe.js';
import type { OverloadRecord } from './load.js';
import { bucketOutcomes, summarize, type LevelSummary, type OutcomeBuckets } from './outcomes.js';
import { startReplicaRates } from './replica-rates.js';

const BUCKET_MS = 250;
const BEFORE_MS = 5000;
const AFTER_MS = 5000;
/** Not counted before the pause: the load's first second (connections, the coalescer's batch size). */
const WARMUP_MS = 1000;
/** A replica's rate counts as "carrying the shard" at this share of the shard's rate before the pause. */
const TAKEOVER_SHARE = 0.9;

export interface PauseOptions {
  load(durationMs: number): Promise<OverloadRecord>;
  concurrency: number;
  paused: ProbeTarget & { pid: number };
  twin: ProbeTarget;
  probeTargets: ProbeTarget[];
  pauseMs: number;
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
  /** From SIGSTOP to the end of the first bucket wholly after it in which the twin answered ≥ 90% of shard 0's rate before; null: none during the pause. */
  takeoverMs: number | null;
  /** The clients' complete answers/s before the pause. */
  completeBefore: number;
  /** Buckets wholly within the pause (of `pauseBuckets`) in which the clients got less than 90% of `completeBefore`. */
  lowGoodputBuckets: number;
  pauseBuckets: number;
  health: ProbeSummary[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function pauseRun(options: PauseOptions): Promise<PauseResult> {
  const rates = startReplicaRates([options.paused, options.twin], BUCKET_MS);
  const probes = startHealthProbes(options.probeTargets);
  const durationMs = BEFORE_MS + options.pauseMs + AFTER_MS;
  const running = options.load(durationMs);
  let stoppedAt = 0;
  let resumedAt = 0;
  await sleep(BEFORE_MS);
  try {
    process.kill(options.paused.pid, 'SIGSTOP');
    stoppedAt = Date.now();
    await sleep(options.pauseMs);
  } finally {
    process.kill(options.paused.pid, 'SIGCONT');
    resumedAt = Date.now();
  }
  const record = await running;
  const health = await probes.stop();
  const [pausedRates, twinRates] = await rates.stop();

  const stoppedAtMs = stoppedAt - record.startedAt;
  const resumedAtMs = resumedAt - record.startedAt;
  const buckets = bucketOutcomes(record, BUCKET_MS);
  const shift = Math.round((record.startedAt - rates.startedAt) / BUCKET_MS);
  const align = (perSecond: number[]) => Array.from({ length: buckets.complete.length }, (_, b) => perSecond[b + shift] ?? 0);
  const pausedRate = align(pausedRates.perSecond);
  const twinRate = align(twinRates.perSecond);

  const firstBefore = Math.ceil(WARMUP_MS / BUCKET_MS);
  const stopBucket = Math.floor(stoppedAtMs / BUCKET_MS);
  const firstAfterStop = Math.ceil(stoppedAtMs / BUCKET_MS); // the first bucket wholly after SIGSTOP
  const resumeBucket = Math.floor(resumedAtMs / BUCKET_MS); // the bucket SIGCONT fell in
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const shardRateBefore = mean(pausedRate.slice(firstBefore, stopBucket).map((r, i) => r + twinRate[firstBefore + i]));
  const completeBefore = mean(buckets.complete.slice(firstBefore, stopBucket)) * (1000 / BUCKET_MS);
  let takeoverMs: number | null = null;
  for (let b = firstAfterStop; b < resumeBucket && takeoverMs === null; b++) if (twinRate[b] >= TAKEOVER_SHARE * shardRateBefore) takeoverMs = (b + 1) * BUCKET_MS - stoppedAtMs;
  let lowGoodputBuckets = 0;
  for (let b = firstAfterStop; b < resumeBucket; b++) if (buckets.complete[b] * (1000 / BUCKET_MS) < TAKEOVER_SHARE * completeBefore) lowGoodputBuckets++;

  const pauseEndMs = resumedAtMs + options.legTimeoutMs;
  return {
    concurrency: options.concurrency,
    pausedReplica: options.paused.name,
    twinReplica: options.twin.name,
    pauseMs: options.pauseMs,
    legTimeoutMs: options.legTimeoutMs,
    stoppedAtMs,
    resumedAtMs,
    before: summarize(record, WARMUP_MS, stoppedAtMs),
    pause: summarize(record, stoppedAtMs, pauseEndMs),
    after: summarize(record, pauseEndMs, durationMs),
    whole: summarize(record, 0, record.endedAt - record.startedAt + 1),
    otherSamples: record.otherSamples,
    buckets,
    pausedRate,
    twinRate,
    shardRateBefore,
    takeoverMs,
    completeBefore,
    lowGoodputBuckets,
    pauseBuckets: Math.max(0, resumeBucket - firstAfterStop),
    health,
  };
}
