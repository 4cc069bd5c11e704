/**
 * The shard process's one search queue. Every replica in the process and every group
 * leg share one thread, so they share one queue: searches run one at a time in arrival
 * order, in slices of a few vectors with a turn of the event loop between slices, so
 * /healthz, /readyz, NATS pings and refusals are answered while a 2,000-vector leg is
 * searched. The queue is bounded in legs and in query vectors waiting; past either
 * bound a leg is refused at once with `busy` and an estimate of the time to drain.
 */
import type { Neighbor } from '../../libs/index/face-index/index.js';
import { ProtocolError } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';

export interface SearchQueueOptions {
  /** Legs admitted and not yet answered (the running one included). */
  maxLegs: number;
  /** Query vectors admitted and not yet searched. A leg larger than this alone is still taken when the queue is empty. */
  maxVectors: number;
  /** Target time of one slice, i.e. the longest the loop is held by a search. */
  sliceMs: number;
  /** Floats per vector (default 128). */
  dimensions?: number;
  /** Ms per vector assumed for retry hints before anything was measured. */
  initialMsPerVector?: number;
  /** Where the queue's state is reported (metrics). */
  observer?: SearchQueueObserver;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface SearchQueueObserver {
  queued(legs: number, vectors: number): void;
  refused(): void;
  /** A leg's time from admission to its first slice. */
  waited(seconds: number): void;
}

export interface SearchJob {
  /** The leg's query vectors, `dimensions` floats each. */
  vectors: Float32Array;
  /** Searches some of the vectors (a subarray); must give one list per vector, as one search over all of them would. */
  search(vectors: Float32Array): Neighbor[][];
  /**
   * Called before each slice with the vectors searched so far: throwing drops the leg
   * (its deadline passed while it waited, or while it was searched: nobody waits for the rest).
   */
  beforeSlice?(searched: number): void;
  /**
   * Legs with the same `target` (the index) and `key` (k, max distance, mode) give each
   * vector the same list whether searched alone or together: waiting ones that fit in one
   * slice are searched in one call (a busy replica's legs shrink as replicas are added;
   * one scan shares its pass over the rows among all their vectors).
   */
  batch?: { target: object; key: string };
}

interface Pending {
  job: SearchJob;
  /** Set when the leg was dropped before a search it would have shared. */
  error?: unknown;
  count: number;
  /** Vectors searched so far. */
  done: number;
  results: Neighbor[][];
  admittedAt: number;
  /** Vectors of the next slice; grows or shrinks with this leg's measured time per vector. */
  sliceVectors: number;
  resolve(results: Neighbor[][]): void;
  reject(err: unknown): void;
}

/**
 * The ms-per-vector estimate is recent time over recent vectors, older slices fading by
 * e^(-vectors since / RATE_MEMORY_VECTORS): weighted by vectors, so a cold one-vector
 * first slice does not count as much as a slice of hundreds.
 */
const RATE_MEMORY_VECTORS = 512;
/** A slice grows at most this much over the last (one fast measurement is not a trend). */
const MAX_SLICE_GROWTH = 4;

export class SearchQueue {
  private readonly pending: Pending[] = [];
  private head = 0;
  private vectorsWaiting = 0;
  private running = false;
  /** Measured recent ms per query vector (undefined until the first slice): recentMs / recentVectors. */
  private msPerVector: number | undefined;
  private recentMs = 0;
  private recentVectors = 0;
  private readonly dims: number;
  private readonly now: () => number;
  /** The vectors of legs searched together, copied end to end (grown, never shrunk). */
  private batchVectors = new Float32Array(0);

  constructor(private readonly options: SearchQueueOptions) {
    if (!(options.maxLegs >= 1) || !(options.maxVectors >= 1) || !(options.sliceMs > 0)) {
      throw new RangeError(
        `search queue: maxLegs and maxVectors must be >= 1 and sliceMs > 0 (got ${options.maxLegs}, ${options.maxVectors}, ${options.sliceMs})`,
      );
    }
    this.dims = options.dimensions ?? FACE_DIMENSIONS;
    this.now = options.now ?? Date.now;
  }

  get legs(): number {
    return this.pending.length - this.head;
  }

  get vectors(): number {
    return this.vectorsWaiting;
  }

  /** Ms to search everything admitted, from recent measurements: what a refused leg is told to wait. */
  drainEstimateMs(): number {
    return Math.ceil(this.vectorsWaiting * (this.msPerVector ?? this.options.initialMsPerVector ?? 1));
  }

  /** Admits the leg (or refuses it at once with `busy`); resolves with its results once its turn came and all its slices ran. */
  submit(job: SearchJob): Promise<Neighbor[][]> {
    if (job.vectors.length % this.dims !== 0) {
      return Promise.reject(new ProtocolError('bad_request', `query vectors hold ${job.vectors.length} floats, not a multiple of ${this.dims}`));
    }
    const count = job.vectors.length / this.dims;
    const refusal = this.refusal(count);
    if (refusal) {
      this.options.observer?.refused();
      return Promise.reject(refusal);
    }
    return new Promise<Neighbor[][]>((resolve, reject) => {
      this.pending.push({ job, count, done: 0, results: [], admittedAt: this.now(), sliceVectors: 1, resolve, reject });
      this.vectorsWaiting += count;
      this.report();
      if (!this.running) {
        this.running = true;
        setImmediate(() => this.runSlice());
      }
    });
  }

  /** Why a leg of `count` vectors is not admitted now, or undefined when it is. */
  private refusal(count: number): ProtocolError | undefined {
    const { maxLegs, maxVectors } = this.options;
    const retryAfterMs = this.drainEstimateMs();
    if (this.legs >= maxLegs) {
      return new ProtocolError(
        'busy',
        `shard search queue full: ${this.legs} of ${maxLegs} legs waiting (${this.vectorsWaiting} vectors); try again in ~${retryAfterMs} ms`,
        retryAfterMs,
      );
    }
    if (this.vectorsWaiting > 0 && this.vectorsWaiting + count > maxVectors) {
      return new ProtocolError(
        'busy',
        `shard search queue full: ${this.vectorsWaiting} of ${maxVectors} query vectors waiting, this leg adds ${count}; try again in ~${retryAfterMs} ms`,
        retryAfterMs,
      );
    }
    return undefined;
  }

  private firstSliceVectors(): number {
    return this.msPerVector === undefined ? 1 : Math.max(1, Math.floor(this.options.sliceMs / this.msPerVector));
  }

  /** One macrotask: one slice of the leg at the head (or drops it), then the next slice in a later turn. */
  private runSlice(): void {
    const item = this.pending[this.head];
    if (item === undefined) {
      this.running = false;
      this.pending.length = this.head = 0;
      this.report();
      return;
    }
    try {
      if (item.done === 0) {
        const together = this.legsToSearchWith(item);
        if (together.length > 1) {
          this.searchTogether(together);
          setImmediate(() => this.runSlice());
          return;
        }
        this.options.observer?.waited((this.now() - item.admittedAt) / 1000);
        item.sliceVectors = this.firstSliceVectors();
      }
      item.job.beforeSlice?.(item.done);
      this.searchSlice(item);
      if (item.done === item.count) this.finish(item, undefined);
    } catch (err) {
      this.finish(item, err);
    }
    setImmediate(() => this.runSlice());
  }

  /** The head leg and the legs right behind it that share its batch and fit with it in one slice. */
  private legsToSearchWith(head: Pending): Pending[] {
    const batch = head.job.batch;
    if (batch === undefined) return [head];
    const limit = this.firstSliceVectors();
    const together = [head];
    let vectors = head.count;
    for (let i = this.head + 1; i < this.pending.length; i++) {
      const next = this.pending[i];
      const same = next.job.batch?.target === batch.target && next.job.batch.key === batch.key;
      if (!same || vectors + next.count > limit) break;
      together.push(next);
      vectors += next.count;
    }
    return together;
  }

  /** One search for several whole legs at the head of the queue; each gets its own lists, in order. */
  private searchTogether(legs: Pending[]): void {
    const live: Pending[] = [];
    let vectors = 0;
    for (const leg of legs) {
      this.options.observer?.waited((this.now() - leg.admittedAt) / 1000);
      try {
        leg.job.beforeSlice?.(0);
        live.push(leg);
        vectors += leg.count;
      } catch (err) {
        leg.error = err;
      }
    }
    try {
      if (live.length > 0) {
        if (this.batchVectors.length < vectors * this.dims) this.batchVectors = new Float32Array(Math.max(vectors * this.dims, 2 * this.batchVectors.length));
        let offset = 0;
        for (const leg of live) {
          this.batchVectors.set(leg.job.vectors, offset);
          offset += leg.job.vectors.length;
        }
        const started = performance.now();
        const lists = live[0].job.search(this.batchVectors.subarray(0, offset));
        const elapsed = performance.now() - started;
        if (lists.length !== vectors) throw new Error(`search returned ${lists.length} lists for ${vectors} query vectors`);
        let first = 0;
        for (const leg of live) {
          leg.results = lists.slice(first, first + leg.count);
          first += leg.count;
          leg.done = leg.count;
        }
        this.vectorsWaiting -= vectors;
        this.noteRate(elapsed, vectors);
      }
    } catch (err) {
      for (const leg of live) leg.error ??= err;
    }
    for (const leg of legs) this.finish(leg, leg.error); // in queue order: each is at the head in turn
  }

  private searchSlice(item: Pending): void {
    const take = Math.min(item.sliceVectors, item.count - item.done);
    if (take === 0) return; // a leg of no vectors
    const started = performance.now();
    const lists = item.job.search(item.job.vectors.subarray(item.done * this.dims, (item.done + take) * this.dims));
    const elapsed = performance.now() - started;
    if (lists.length !== take) throw new Error(`search returned ${lists.length} lists for ${take} query vectors`);
    for (const list of lists) item.results.push(list);
    item.done += take;
    this.vectorsWaiting -= take;
    this.noteRate(elapsed, take);
    const rate = Math.max(elapsed, 0.001) / take;
    // This leg's own rate sizes its next slice (k, maxDistance and approximate change the cost).
    item.sliceVectors = Math.max(1, Math.min(item.sliceVectors * MAX_SLICE_GROWTH, Math.floor(this.options.sliceMs / rate)));
  }

  /** Folds a slice's time into the recent ms-per-vector estimate. */
  private noteRate(elapsed: number, vectors: number): void {
    const fade = Math.exp(-vectors / RATE_MEMORY_VECTORS);
    // One slice counts at most two slice targets: a first search compiling code, a GC or the OS pausing the process is not the rate.
    this.recentMs = this.recentMs * fade + Math.min(Math.max(elapsed, 0.001), 2 * this.options.sliceMs);
    this.recentVectors = this.recentVectors * fade + vectors;
    this.msPerVector = this.recentMs / this.recentVectors;
  }

  private finish(item: Pending, err: unknown): void {
    this.vectorsWaiting -= item.count - item.done;
    this.pending[this.head++] = undefined as unknown as Pending; // let the results go with the promise
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    this.report();
    if (err === undefined) item.resolve(item.results);
    else item.reject(err);
  }

  private report(): void {
    this.options.observer?.queued(this.legs, this.vectorsWaiting);
  }
}
