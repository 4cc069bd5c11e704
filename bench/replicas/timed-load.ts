/**
 * Saturating query load on its own thread (see ../query-load.ts for why a worker) that
 * keeps when each answer came back, so a run can be cut into time buckets (a replica
 * added while queries run).
 */
import { Worker } from 'node:worker_threads';
import type { QueryOptions } from '../../libs/nats/client/index.js';
import type { NatsSecurity } from '../../libs/nats/nats-auth/index.js';

export interface TimedLoadRun {
  natsUrl: string;
  security: NatsSecurity;
  queries: Float32Array;
  dims: number;
  concurrency: number;
  /** At most; `stop` ends it sooner. */
  durationMs: number;
  options: QueryOptions;
}

export interface TimedLoadResult {
  /** Epoch ms. */
  startedAt: number;
  endedAt: number;
  /** Epoch ms at which each answer arrived. */
  doneAt: number[];
  latenciesMs: number[];
  partial: number;
  errors: number;
}

export function runTimedLoad(run: TimedLoadRun): Promise<TimedLoadResult> {
  return startTimedLoad(run).result;
}

/** A run that can be ended early: `stop` lets the queries in flight finish, then `result` resolves. */
export function startTimedLoad(run: TimedLoadRun): { result: Promise<TimedLoadResult>; stop(): void } {
  const worker = new Worker(new URL('./timed-load-worker.js', import.meta.url), { workerData: { ...run, queries: run.queries.slice() } });
  const result = new Promise<TimedLoadResult>((resolve, reject) => {
    worker.once('message', (message: { result: TimedLoadResult } | { error: string }) => {
      void worker.terminate();
      if ('error' in message) reject(new Error(`timed load: ${message.error}`));
      else resolve(message.result);
    });
    worker.once('error', reject);
  });
  return { result, stop: () => worker.postMessage('stop') };
}

/** Answers per second in consecutive bucketMs buckets from the run's start. */
export function bucketRates(result: TimedLoadResult, bucketMs: number): number[] {
  const counts = new Array<number>(Math.ceil((result.endedAt - result.startedAt) / bucketMs)).fill(0);
  for (const t of result.doneAt) counts[Math.min(counts.length - 1, Math.floor((t - result.startedAt) / bucketMs))]++;
  return counts.map((c) => c / (bucketMs / 1000));
}
