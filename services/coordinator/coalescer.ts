import { expectedReplyBytes, MAX_QUERY_VECTORS, ProtocolError, VECTOR_BYTES, type Query, type QueryReply } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import type { LegOutcome } from './scatter.js';

export type Answer = { reply: QueryReply; legs: LegOutcome[] };
type Pending = { query: Query; resolve(a: Answer): void; reject(e: unknown): void; arrived: number };

/** How big a merged batch may grow: its leg's bytes, and its reply's expected bytes (limits.ts). */
export interface BatchLimits {
  maxLegBytes: number;
  maxReplyBytes: number;
  matchBytes: number;
  /**
   * Time budget of one merged scatter (ms): a batch grows only while its vectors, at the
   * recent scatter time per vector, fit in it. Under overload the waiting list is long,
   * and one batch of everything waiting takes longer than any leg may wait: every member
   * would time out together (the congestion collapse measured in bench/results/overload-before.md).
   */
  maxBatchMs?: number;
}

const UNBOUNDED: BatchLimits = { maxLegBytes: MAX_QUERY_VECTORS * VECTOR_BYTES, maxReplyBytes: Infinity, matchBytes: 0 };

/** How much may wait for a scatter slot: queries, and the vectors they carry. */
export interface QueueBound {
  maxQueries: number;
  maxVectors: number;
}

const NO_BOUND: QueueBound = { maxQueries: Infinity, maxVectors: Infinity };
/** Weight of the newest scatter in the running averages behind the retry hint. */
const AVERAGE_WEIGHT = 0.1;

/**
 * Adaptive batching of queries into scatters. While fewer than `maxInFlight` scatters are
 * running, a query goes out at once (no added latency when idle); otherwise it waits and
 * every query that arrived meanwhile leaves together in one scatter, so each shard reads
 * its vectors once for the whole batch and NATS carries one message per shard, not one per
 * query. Queries that ask for read-your-writes, or differ in search mode, are not mixed.
 * A batch grows only while its leg and its expected reply fit in one message each, and
 * its vectors fit the scatter time budget at the recent pace (`limits`); a query larger
 * than that goes alone (and is sliced by answer-query.ts).
 * A query whose deadline passed while it waited is answered `deadline`, not searched.
 *
 * The wait is bounded (`bound`: queries and vectors waiting): past it, `submit` refuses
 * at once with `busy` and a retry hint (how long the queue ahead takes to drain, from
 * recent scatter times), rather than queueing work that would only time out; so is a
 * query whose deadline comes before the queue ahead of it would drain. An empty queue
 * always takes a query, however large, so nothing is refused forever.
 */
export class QueryCoalescer {
  private inFlight = 0;
  private readonly waiting = new Map<string, Pending[]>();
  private waitingQueries = 0;
  private waitingVectors = 0;
  /** Running averages of a scatter's time (ms) and of the queries it carried (for the retry hint). */
  private scatterMs = 0;
  private queriesPerScatter = 1;
  /** Running average of a scatter's time per query vector it carried (ms); undefined until one ended. */
  private msPerVector: number | undefined;

  constructor(
    private readonly run: (query: Query) => Promise<Answer>,
    /** A number, or asked at each decision (the coordinator scales it with the replicas it routes to). */
    maxInFlight: number | (() => number),
    private readonly limits: BatchLimits = UNBOUNDED,
    private readonly bound: QueueBound = NO_BOUND,
  ) {
    this.inFlightLimit = typeof maxInFlight === 'number' ? () => maxInFlight : maxInFlight;
  }

  private readonly inFlightLimit: () => number;

  /** Queries and vectors waiting for a scatter slot now. */
  get queued(): { queries: number; vectors: number } {
    return { queries: this.waitingQueries, vectors: this.waitingVectors };
  }

  submit(query: Query): Promise<Answer> {
    if (query.deadline !== undefined && query.deadline <= Date.now()) return Promise.reject(expired(0));
    const maxInFlight = this.inFlightLimit();
    if (query.minSeq !== undefined || maxInFlight <= 0) return this.run(query);
    const refusal = this.inFlight >= maxInFlight && this.waitingQueries > 0 ? this.refusal(query, maxInFlight) : undefined;
    if (refusal) return Promise.reject(refusal);
    this.waitingQueries++;
    this.waitingVectors += query.count;
    return new Promise<Answer>((resolve, reject) => {
      const key = modeKey(query);
      let list = this.waiting.get(key);
      if (!list) this.waiting.set(key, (list = []));
      list.push({ query, resolve, reject, arrived: performance.now() });
      this.pump();
    });
  }

  private pump(): void {
    const maxInFlight = this.inFlightLimit();
    while (this.inFlight < maxInFlight && this.waiting.size > 0) {
      const [key, list] = this.waiting.entries().next().value as [string, Pending[]];
      const batch: Pending[] = [];
      let vectors = 0;
      let k = 0;
      const now = Date.now();
      while (list.length && (batch.length === 0 || this.fits(vectors + list[0].query.count, Math.max(k, list[0].query.k)))) {
        const next = list.shift()!;
        this.waitingQueries--;
        this.waitingVectors -= next.query.count;
        if (next.query.deadline !== undefined && next.query.deadline <= now) {
          next.reject(expired(performance.now() - next.arrived));
          continue;
        }
        batch.push(next);
        vectors += next.query.count;
        k = Math.max(k, next.query.k);
      }
      if (list.length === 0) this.waiting.delete(key);
      if (batch.length === 0) continue;
      this.inFlight++;
      const started = performance.now();
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        const elapsed = performance.now() - started;
        this.scatterMs += AVERAGE_WEIGHT * (elapsed - this.scatterMs);
        const perVector = elapsed / Math.max(1, vectors);
        this.msPerVector = this.msPerVector === undefined ? perVector : this.msPerVector + AVERAGE_WEIGHT * (perVector - this.msPerVector);
        this.queriesPerScatter += AVERAGE_WEIGHT * (batch.length - this.queriesPerScatter);
        this.pump();
      });
    }
  }

  /** Why a query that would wait is refused `busy` now (undefined: it waits its turn). */
  private refusal(query: Query, maxInFlight: number): ProtocolError | undefined {
    const retryAfterMs = this.retryAfterMs(maxInFlight);
    const waiting = `${this.waitingQueries} queries (${this.waitingVectors} vectors) wait for a scatter`;
    // What waits ahead would make this query miss its deadline: refused now, while the asker can still go elsewhere or come back.
    if (query.deadline !== undefined && this.scatterMs > 0 && Date.now() + retryAfterMs > query.deadline) {
      return new ProtocolError(
        'busy',
        `the coordinator is busy: ${waiting}, about ${retryAfterMs} ms at the recent pace, past this query's deadline; try again later`,
        retryAfterMs,
      );
    }
    if (this.waitingQueries >= this.bound.maxQueries || this.waitingVectors + query.count > this.bound.maxVectors) {
      return new ProtocolError(
        'busy',
        `the coordinator is busy: ${waiting}, the bound is ${this.bound.maxQueries} (${this.bound.maxVectors} vectors); try again later`,
        retryAfterMs,
      );
    }
    return undefined;
  }

  /** About how long the queries waiting now take to leave: scatters ahead, maxInFlight at a time, at the recent scatter time. */
  private retryAfterMs(maxInFlight: number): number {
    const scattersAhead = this.waitingQueries / Math.max(1, this.queriesPerScatter) / maxInFlight;
    return Math.max(1, Math.ceil(this.scatterMs * (1 + scattersAhead)));
  }

  private fits(vectors: number, k: number): boolean {
    const { maxLegBytes, maxReplyBytes, matchBytes, maxBatchMs = Infinity } = this.limits;
    const inTime = this.msPerVector === undefined || vectors * this.msPerVector <= maxBatchMs;
    return inTime && vectors * VECTOR_BYTES <= maxLegBytes && expectedReplyBytes(vectors, k, matchBytes) <= maxReplyBytes;
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

function expired(waitedMs: number): ProtocolError {
  return new ProtocolError('deadline', `the query's deadline passed${waitedMs ? ` after ${Math.round(waitedMs)} ms waiting for a scatter` : ''}; not searched`);
}

function modeKey(query: Query): string {
  return query.approximate ? `approximate:${query.effort ?? 1}` : 'exact';
}

/** One query for the whole batch: the largest k, the loosest maxDistance and the latest deadline, so every member's answer is inside it. */
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
  // The batch runs until its latest member's deadline; earlier members' askers stop waiting sooner.
  const deadline = queries.some((q) => q.deadline === undefined) ? undefined : Math.max(...queries.map((q) => q.deadline!));
  return { ...queries[0], vectors, count, k, maxDistance, deadline };
}

function trim(list: QueryReply['results'][number], query: Query): QueryReply['results'][number] {
  const within = query.maxDistance === undefined ? list : list.filter((m) => m.distance <= query.maxDistance!);
  return within.length > query.k ? within.slice(0, query.k) : within;
}

/** tookMs as the client lived it: waiting for a batch slot included. */
function withWait(answer: Answer, arrived: number): Answer {
  return { ...answer, reply: { ...answer.reply, tookMs: Math.round((performance.now() - arrived) * 1000) / 1000 } };
}
