/**
 * The query measurements of the scale bench, through the cluster from the load worker
 * (bench/query-load.ts: its own thread and connection, holding only the queries).
 */
import type { QueryOptions } from '../../libs/nats/client/index.js';
import { percentile } from '../percentile.js';
import type { QueryLoad } from '../query-load.js';

/**
 * Before each measured run, a warm-up at its mode and concurrency, not counted: this long
 * or 200 queries a connection (as bench/search/run.ts: the first queries of a mode run
 * cold code, and heaps resize after a heavy run).
 */
export const WARMUP_MS = 3_000;

export interface Throughput {
  concurrency: number;
  queries: number;
  seconds: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers missing a shard (it timed out). */
  partial: number;
}

/** Every query once, `concurrency` at a time, with no time limit: the answers (ids by query) and how long they took. */
export async function answerEvery(
  load: QueryLoad,
  count: number,
  options: QueryOptions,
  concurrency: number,
): Promise<{ ids: (string[] | undefined)[]; seconds: number }> {
  const run = await load.run({ concurrency, maxQueries: count, limitMs: Infinity, options, order: 'forward', keepIds: count });
  return { ids: run.ids, seconds: run.seconds };
}

/** A warm-up, then queries at `concurrency` until max(3,000, 200 a connection) are sent or `limitMs` passed. */
export async function measureThroughput(load: QueryLoad, options: QueryOptions, concurrency: number, limitMs: number): Promise<Throughput> {
  await load.run({ concurrency, maxQueries: 200 * concurrency, limitMs: WARMUP_MS, options, order: 'reverse', keepIds: 0 });
  const run = await load.run({ concurrency, maxQueries: Math.max(3000, 200 * concurrency), limitMs, options, order: 'forward', keepIds: 0 });
  const queries = run.latenciesMs.length;
  return {
    concurrency,
    queries,
    seconds: run.seconds,
    qps: queries / run.seconds,
    p50Ms: percentile(run.latenciesMs, 50),
    p99Ms: percentile(run.latenciesMs, 99),
    partial: run.partial,
  };
}
