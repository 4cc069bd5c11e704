import { FaceshardError, type FaceshardClient } from '../../libs/nats/client/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { gaussian, seededRandom } from '../../libs/index/seeded-random/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import type { AnsweredQuery } from './answer-check.js';
import { now, type Ledger } from './ledger.js';

export interface LoadOptions {
  /** New faces per ingest request, and the pause between requests. */
  ingestBatch: number;
  ingestPauseMs: number;
  /** Updates (a new vector for an acknowledged id) per request, and the pause. */
  updateBatch: number;
  updatePauseMs: number;
  deleteBatch: number;
  deletePauseMs: number;
  queryLoops: number;
  queryPauseMs: number;
  /** Query vectors per request (noisy copies of stored faces, and one stranger) and k. */
  queryVectors: number;
  k: number;
  writeTimeoutMs: number;
  queryTimeoutMs: number;
  seed: number;
}

export type QueryOutcome = { phase: string; outcome: 'answered'; answer: AnsweredQuery } | { phase: string; outcome: 'refused' | 'failed'; error: string };

export interface WriteOutcome {
  phase: string;
  kind: 'ingest' | 'update' | 'delete';
  faces: number;
  ok: boolean;
  error?: string;
}

/** Which fault the run is in now: every outcome is booked to the phase current when its request left. */
export class PhaseClock {
  current = 'warm-up';
}

const POOL_SIZE = 20_000;
/** Per-axis noise: a fresh vector near a pool face (~0.2 away), and a query near a stored face. */
const FRESH_SPREAD = 0.012;
const QUERY_SPREAD = 0.02;

/**
 * Continuous writes and queries through the client, each recorded: writes in the ledger
 * (acknowledged or failed), answers with their send and answer times, refusals and
 * failures with their error.
 */
export class ChaosLoad {
  readonly queries: QueryOutcome[] = [];
  readonly writes: WriteOutcome[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly pool: Float32Array;
  private readonly random: () => number;
  private readonly normal: () => number;
  private nextId = 0;

  constructor(
    private readonly client: FaceshardClient,
    private readonly ledger: Ledger,
    private readonly phases: PhaseClock,
    private readonly options: LoadOptions,
  ) {
    this.pool = syntheticFaces({ identities: POOL_SIZE, photosPerIdentity: 1, seed: options.seed }).vectors;
    this.random = seededRandom(options.seed + 1);
    this.normal = gaussian(seededRandom(options.seed + 2));
  }

  start(): void {
    this.loops = [
      this.loop(() => this.ingestOnce(), this.options.ingestPauseMs),
      this.loop(() => this.updateOnce(), this.options.updatePauseMs),
      this.loop(() => this.deleteOnce(), this.options.deletePauseMs),
      ...Array.from({ length: this.options.queryLoops }, () => this.loop(() => this.queryOnce(), this.options.queryPauseMs)),
    ];
  }

  /** Stops sending and waits for what is in flight (each request is bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(step: () => Promise<void>, pauseMs: number): Promise<void> {
    while (!this.stopped) {
      await step();
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** A face-like vector no one has used: a pool face moved a little at random. */
  private freshVector(): Float32Array {
    const base = (Math.floor(this.random() * POOL_SIZE) * FACE_DIMENSIONS) | 0;
    const v = new Float32Array(FACE_DIMENSIONS);
    for (let d = 0; d < FACE_DIMENSIONS; d++) v[d] = this.pool[base + d] + this.normal() * FRESH_SPREAD;
    return v;
  }

  private async write(kind: WriteOutcome['kind'], ids: string[], vectors: Float32Array[] | undefined): Promise<void> {
    const phase = this.phases.current;
    const records = ids.map((id, i) => this.ledger.begin(id, kind === 'delete' ? 'delete' : 'upsert', vectors?.[i]));
    try {
      const reply = vectors
        ? await this.client.ingestBinary(
            ids.map((id, i) => ({ id, vector: vectors[i] })),
            { timeoutMs: this.options.writeTimeoutMs },
          )
        : await this.client.delete(ids, this.options.writeTimeoutMs);
      const rejected = 'rejected' in reply ? reply.rejected : [];
      if (rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(rejected.slice(0, 3))}`);
      ids.forEach((id, i) => this.ledger.acknowledge(id, records[i], reply.seq));
      this.writes.push({ phase, kind, faces: ids.length, ok: true });
    } catch (err) {
      records.forEach((r) => this.ledger.fail(r));
      this.writes.push({ phase, kind, faces: ids.length, ok: false, error: describe(err) });
    }
  }

  private ingestOnce(): Promise<void> {
    const ids = Array.from({ length: this.options.ingestBatch }, () => `f${this.nextId++}`);
    return this.write(
      'ingest',
      ids,
      ids.map(() => this.freshVector()),
    );
  }

  private pickSettled(count: number): string[] {
    const ids = new Set<string>();
    for (let tries = 0; ids.size < count && tries < count * 4; tries++) {
      const id = this.ledger.pickSettled(this.random);
      if (id) ids.add(id);
    }
    return [...ids];
  }

  private async updateOnce(): Promise<void> {
    const ids = this.pickSettled(this.options.updateBatch);
    if (ids.length > 0)
      await this.write(
        'update',
        ids,
        ids.map(() => this.freshVector()),
      );
  }

  private async deleteOnce(): Promise<void> {
    // keep most faces: delete only while there are plenty
    if (this.ledger.settledCount < 50) return;
    const ids = this.pickSettled(this.options.deleteBatch);
    if (ids.length > 0) await this.write('delete', ids, undefined);
  }

  private async queryOnce(): Promise<void> {
    const phase = this.phases.current;
    const count = this.options.queryVectors;
    const vectors = new Float32Array(count * FACE_DIMENSIONS);
    for (let q = 0; q < count; q++) {
      const near = q < count - 1 ? this.ledger.latestVector(this.ledger.pickSettled(this.random) ?? '') : undefined;
      const base = near ?? this.freshVector();
      for (let d = 0; d < FACE_DIMENSIONS; d++) vectors[q * FACE_DIMENSIONS + d] = base[d] + this.normal() * QUERY_SPREAD;
    }
    const minSeq = this.ledger.minSeq();
    const sentAt = now();
    try {
      const reply = await this.client.queryBinary(vectors, { k: this.options.k, minSeq, timeoutMs: this.options.queryTimeoutMs });
      const answeredAt = now();
      this.queries.push({
        phase,
        outcome: 'answered',
        answer: {
          vectors,
          k: this.options.k,
          sentAt,
          answeredAt,
          results: reply.results,
          partial: reply.partial,
          missingShards: (reply.missing ?? []).map((m) => m.shard),
          missingReasons: (reply.missing ?? []).map((m) => m.reason),
        },
      });
    } catch (err) {
      const refused = err instanceof FaceshardError && (err.code === 'busy' || err.code === 'too_large');
      this.queries.push({ phase, outcome: refused ? 'refused' : 'failed', error: describe(err) });
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof FaceshardError) return `${err.code}: ${err.message}`;
  return (err as Error)?.message ?? String(err);
}
