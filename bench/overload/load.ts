/**
 * Query load that keeps every query's outcome (complete, partial, refused busy, timed out,
 * other error), its latency and when it ended, on its own thread (see ../query-load.ts
 * for why a worker). A client refused `busy` waits the retry hint (capped) before its
 * next query, as a well-behaved client does.
 */
import { Worker } from 'node:worker_threads';
import type { TimedLoadRun } from '../replicas/timed-load.js';

export interface OverloadRun extends TimedLoadRun {
  /** A client refused `busy` waits its retry hint, at most this long. */
  retryCapMs: number;
}

/** What happened to one query. */
export const Outcome = { complete: 0, partial: 1, busy: 2, timeout: 3, other: 4 } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** One run's queries in columns: entry i is one query. */
export interface OverloadRecord {
  /** Epoch ms. */
  startedAt: number;
  endedAt: number;
  /** Ms from startedAt at which the query's answer or error came. */
  endedAtMs: Float64Array;
  latencyMs: Float64Array;
  outcome: Uint8Array;
  /** Error codes of the `other` outcomes, with how many of each. */
  otherCodes: Record<string, number>;
  /** The first few `other` messages, to say what failed. */
  otherSamples: string[];
}

export function runOverloadLoad(run: OverloadRun): Promise<OverloadRecord> {
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: { ...run, queries: run.queries.slice() } });
  return new Promise<OverloadRecord>((resolve, reject) => {
    worker.once('message', (message: { record: OverloadRecord } | { error: string }) => {
      void worker.terminate();
      if ('error' in message) reject(new Error(`overload load: ${message.error}`));
      else resolve(message.record);
    });
    worker.once('error', reject);
  });
}
