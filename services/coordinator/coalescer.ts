import type { Query, QueryReply } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/vector/index.js';
import type { LegOutcome } from './scatter.js';

export type Answer = { reply: QueryReply; legs: LegOutcome[] };
type Pending = { query: Query; resolve(a: Answer): void; reject(e: unknown): void; arrived: number };

const MAX_BATCH_VECTORS = 4096;

/**
 * Adaptive batching of queries into scatters. While fewer than `maxInFlight` scatters are
 * running, a query goes out at once (no added latency when idle); otherwise it waits and
 * every query that arrived meanwhile leaves together in one scatter, so each shard reads
 * its vectors once for the whole batch and NATS carries one message per shard, not one per
 * query. Queries that ask for read-your-writes, or differ in search mode, are not mixed.
 */
export class QueryCoalescer {
  private inFlight = 0;
  private readonly waiting = new Map<string, Pending[]>();

  constructor(
    private readonly run: (query: Query) => Promise<Answer>,
    private readonly maxInFlight: number,
  ) {}

  submit(query: Query): Promise<Answer> {
    if (query.minSeq !== undefined || this.maxInFlight <= 0) return this.run(query);
    return new Promise<Answer>((resolve, reject) => {
      const key = modeKey(query);
      let list = this.waiting.get(key);
      if (!list) this.waiting.set(key, (list = []));
      list.push({ query, resolve, reject, arrived: performance.now() });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.size > 0) {
      const [key, list] = this.waiting.entries().next().value as [string, Pending[]];
      const batch: Pending[] = [];
      let vectors = 0;
      while (list.length && (batch.length === 0 || vectors + list[0].query.count <= MAX_BATCH_VECTORS)) {
        const next = list.shift()!;
        batch.push(next);
        vectors += next.query.count;
      }
      if (list.length === 0) this.waiting.delete(key);
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    try {
      if (batch.length === 1) {
        batch[0].resolve(withWait(await this.run(batch[0].query), batch[0].arrived));
        return;
      }
      const merged = mergeQueries(batch.map((p) => p.query));
      const answer = await this.run(merged);
      let offset = 0;
      for (const p of batch) {
        const results = answer.reply.results.slice(offset, offset + p.query.count).map((list) => trim(list, p.query));
        offset += p.query.count;
        p.resolve(withWait({ reply: { ...answer.reply, results }, legs: answer.legs }, p.arrived));
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}

function modeKey(query: Query): string {
  return query.approximate ? `approximate:${query.effort ?? 1}` : 'exact';
}

/** One query for the whole batch: the largest k and the loosest maxDistance, so every member's answer is inside it. */
function mergeQueries(queries: Query[]): Query {
  const count = queries.reduce((n, q) => n + q.count, 0);
  const vectors = new Float32Array(count * FACE_DIMENSIONS);
  let offset = 0;
  for (const q of queries) {
    vectors.set(q.vectors.subarray(0, q.count * FACE_DIMENSIONS), offset);
    offset += q.count * FACE_DIMENSIONS;
  }
  const k = Math.max(...queries.map((q) => q.k));
  const maxDistance = queries.some((q) => q.maxDistance === undefined) ? undefined : Math.max(...queries.map((q) => q.maxDistance!));
  return { ...queries[0], vectors, count, k, maxDistance };
}

function trim(list: QueryReply['results'][number], query: Query): QueryReply['results'][number] {
  const within = query.maxDistance === undefined ? list : list.filter((m) => m.distance <= query.maxDistance!);
  return within.length > query.k ? within.slice(0, query.k) : within;
}

/** tookMs as the client lived it: waiting for a batch slot included. */
function withWait(answer: Answer, arrived: number): Answer {
  return { ...answer, reply: { ...answer.reply, tookMs: Math.round((performance.now() - arrived) * 1000) / 1000 } };
}
