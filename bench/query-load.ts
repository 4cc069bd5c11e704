/**
 * A load generator on its own thread: a worker with its own NATS connection and heap,
 * holding only the queries. The bench process holds the whole dataset (a million id
 * strings, the truth lists); measured from its thread, that heap's collections (a
 * scavenge there took 4-5 ms, a major one also eats a core) landed in the cluster's p99
 * at concurrency 1. A real client holds its queries, not the index's data.
 */
import { Worker } from 'node:worker_threads';
import type { QueryOptions } from '../libs/nats/client/index.js';
import type { NatsSecurity } from '../libs/nats/nats-auth/index.js';

export interface LoadRun {
  concurrency: number;
  /** Stop starting queries after this many or after limitMs, whichever first. */
  maxQueries: number;
  limitMs: number;
  options: QueryOptions;
  /** Query n sends queries[n % count] ('forward') or queries[count - 1 - n % count] ('reverse'). */
  order: 'forward' | 'reverse';
  /** Keep the answered ids of the first this many queries (for recall). */
  keepIds: number;
}

export interface LoadResult {
  seconds: number;
  latenciesMs: number[];
  /** ids[n]: the first query vector's neighbours of query n (n < keepIds), when it was answered. */
  ids: (string[] | undefined)[];
  partial: number;
}

export type LoadRequest = LoadRun & { id: number };
export type LoadResponse = { id: number; result: LoadResult } | { id: number; error: string };

export class QueryLoad {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: LoadResponse) => {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      if ('error' in message) waiter.reject(new Error(`query load: ${message.error}`));
      else waiter.resolve(message.result);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`query load worker exited (${code})`)));
  }

  /** Starts the worker: connected to `natsUrl` as `security`, with a copy of `queries` (dims floats each). */
  static async start(natsUrl: string, security: NatsSecurity, queries: Float32Array, dims: number): Promise<QueryLoad> {
    const worker = new Worker(new URL('./query-load-worker.js', import.meta.url), { workerData: { natsUrl, security, queries: queries.slice(), dims } });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    return new QueryLoad(worker);
  }

  run(run: LoadRun): Promise<LoadResult> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...run, id } satisfies LoadRequest);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
