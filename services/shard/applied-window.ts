/**
 * The last records a replica applied from its shard's log: their sequences and write
 * times, in a fixed ring (no allocation per record). A JetStream leader change can take
 * back records a replica already applied and write others at the same sequences; a
 * replica that moved past them sees no gap. Reading the same sequences back from the log
 * and comparing them with this window tells (replica.ts).
 */
export interface LoggedRecord {
  seq: number;
  writtenMs: number;
}

export class AppliedWindow {
  readonly capacity: number;
  private readonly seqs: Float64Array;
  private readonly times: Float64Array;
  /** Slot of the oldest entry. */
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`an applied window holds at least 1 record, not ${capacity}`);
    this.capacity = capacity;
    this.seqs = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** The oldest sequence held; 0 when empty. */
  get oldestSeq(): number {
    return this.count === 0 ? 0 : this.seqs[this.head];
  }

  /**
   * When the last record applied was written (stream time, ms); 0 when none was applied since
   * start or since the snapshot. A record at an applied sequence written later than this
   * means the log lost records and reused their sequences (log-replayer.ts).
   */
  get newestWrittenMs(): number {
    return this.count === 0 ? 0 : this.times[(this.head + this.count - 1) % this.capacity];
  }

  /** Records one applied record; sequences only grow. The oldest falls out when full. */
  push(seq: number, writtenMs: number): void {
    const slot = (this.head + this.count) % this.capacity;
    this.seqs[slot] = seq;
    this.times[slot] = writtenMs;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
  }

  /** A copy of the entries, oldest first (for a look, not per record). */
  entries(): LoggedRecord[] {
    const out: LoggedRecord[] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % this.capacity;
      out.push({ seq: this.seqs[slot], writtenMs: this.times[slot] });
    }
    return out;
  }
}

/**
 * How the shard's records read back from the log (from the window's oldest sequence on,
 * in order) differ from what was applied; undefined when the first `applied.length` of
 * them are the same records. Records past the last applied one are not compared.
 */
export function windowDifference(applied: readonly LoggedRecord[], inLog: readonly LoggedRecord[]): string | undefined {
  for (let i = 0; i < applied.length; i++) {
    const was = applied[i];
    const now = inLog[i];
    if (!now)
      return `the log has no record of this shard at or after sequence ${applied[i - 1] ? applied[i - 1].seq + 1 : was.seq}; the index applied one at sequence ${was.seq}`;
    if (now.seq < was.seq) return `the log has a record of this shard at sequence ${now.seq} that the index never applied`;
    if (now.seq > was.seq) return `the record at sequence ${was.seq}, which the index applied, is gone from the log`;
    if (now.writtenMs !== was.writtenMs)
      return `the record at sequence ${was.seq} was written at ${new Date(now.writtenMs).toISOString()}, not at ${new Date(was.writtenMs).toISOString()} as applied`;
  }
  return undefined;
}
