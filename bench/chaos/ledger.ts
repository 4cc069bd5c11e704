import { storedVector } from '../../libs/index/face-index/index.js';
import type { MinSeq } from '../../libs/protocol/index.js';

/**
 * Every write the load sent, per id, in order: when it was sent, when (if ever) it was
 * acknowledged, or that it failed. Append-only and timed on one monotonic clock, so the
 * states an id may be in during any query can be worked out afterwards.
 */
export interface WriteRecord {
  kind: 'upsert' | 'delete';
  /** For upserts: the vector as a shard stores it (on the int16 rows' grid). */
  vector?: Float32Array;
  sentAt: number;
  ackedAt?: number;
  /** The request failed or timed out: the write may or may not have happened, now or later. */
  failed?: boolean;
}

export type FinalState = { kind: 'live'; vector: Float32Array } | { kind: 'deleted' } | { kind: 'uncertain' };

export const now = () => performance.now();

export class Ledger {
  readonly histories = new Map<string, WriteRecord[]>();
  /** Highest acknowledged stream sequence per shard: a query's minSeq (read your acknowledged writes). */
  private readonly seq: Record<string, number> = {};
  /** Ids whose last write was an acknowledged upsert and that nothing is writing now: what updates and deletes pick from. */
  private readonly settled: string[] = [];
  private readonly settledIndex = new Map<string, number>();

  begin(id: string, kind: 'upsert' | 'delete', vector?: ArrayLike<number>): WriteRecord {
    this.unsettle(id);
    const record: WriteRecord = { kind, sentAt: now(), ...(vector ? { vector: storedVector(Float32Array.from(vector)) } : {}) };
    const history = this.histories.get(id);
    if (history) history.push(record);
    else this.histories.set(id, [record]);
    return record;
  }

  acknowledge(id: string, record: WriteRecord, seq: Record<string, number>): void {
    record.ackedAt = now();
    for (const [shard, s] of Object.entries(seq)) this.seq[shard] = Math.max(this.seq[shard] ?? 0, s);
    if (record.kind === 'upsert' && this.histories.get(id)?.at(-1) === record) this.settle(id);
  }

  fail(record: WriteRecord): void {
    record.failed = true; // its id stays unsettled: never written again, checked as uncertain
  }

  minSeq(): MinSeq {
    return { ...this.seq };
  }

  /** A random settled id (for an update or a delete), or undefined. */
  pickSettled(random: () => number): string | undefined {
    if (this.settled.length === 0) return undefined;
    return this.settled[Math.floor(random() * this.settled.length)];
  }

  /** The latest acknowledged vector of a settled id. */
  latestVector(id: string): Float32Array | undefined {
    return this.histories.get(id)?.at(-1)?.vector;
  }

  get settledCount(): number {
    return this.settled.length;
  }

  /** After the run: live with its latest vector, deleted, or uncertain (a failed write, or one never answered). */
  finalState(id: string): FinalState {
    const history = this.histories.get(id) ?? [];
    if (history.some((r) => r.failed || r.ackedAt === undefined)) return { kind: 'uncertain' };
    const last = history.at(-1);
    if (!last) return { kind: 'uncertain' };
    return last.kind === 'delete' ? { kind: 'deleted' } : { kind: 'live', vector: last.vector! };
  }

  private settle(id: string): void {
    if (this.settledIndex.has(id)) return;
    this.settledIndex.set(id, this.settled.length);
    this.settled.push(id);
  }

  private unsettle(id: string): void {
    const i = this.settledIndex.get(id);
    if (i === undefined) return;
    const last = this.settled.pop()!;
    if (i < this.settled.length) {
      this.settled[i] = last;
      this.settledIndex.set(last, i);
    }
    this.settledIndex.delete(id);
  }
}

/**
 * The states an id may show to a query sent at `sentAt` and answered at `answeredAt`: the
 * last write acknowledged before it was sent (or "absent" when none), plus every write sent
 * before it was answered that was not acknowledged before it was sent (in flight, failed,
 * or acknowledged meanwhile). `certain` when that is one state only.
 */
export function possibleStates(history: WriteRecord[], sentAt: number, answeredAt: number): { states: Array<Float32Array | null>; certain: boolean } {
  let base: Float32Array | null = null;
  const inFlight: Array<Float32Array | null> = [];
  for (const r of history) {
    if (r.sentAt >= answeredAt) break;
    const value = r.kind === 'upsert' ? r.vector! : null;
    if (r.ackedAt !== undefined && r.ackedAt < sentAt && !r.failed) {
      base = value;
      inFlight.length = 0; // an acknowledged later write settles everything before it
    } else inFlight.push(value);
  }
  return { states: [base, ...inFlight], certain: inFlight.length === 0 };
}
