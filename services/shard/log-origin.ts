import type { StreamInfo } from 'nats';

/** The log a replica's index was built from: the stream, its creation time, and its first sequence then (unknown in older snapshots). */
export interface LogOrigin {
  stream: string;
  created: string;
  firstSeq?: number;
}

/** The stream's first and last sequence (what `logChange` compares). */
export interface StreamSequences extends LogOrigin {
  firstSeq: number;
  lastSeq: number;
}

/** Where the stream stands now. */
export interface StreamNow extends StreamSequences {
  /** When its last record was written (the server's timestamp). */
  lastWrittenAt: string;
}

export function streamNow(info: StreamInfo): StreamNow {
  // A new, empty stream reports first sequence 0; its first record will be 1: the same log.
  return {
    stream: info.config.name,
    created: info.created,
    firstSeq: Math.max(1, info.state.first_seq),
    lastSeq: info.state.last_seq,
    lastWrittenAt: info.state.last_ts,
  };
}

/**
 * Whether the stream is where it stood before: same creation, first and last sequence,
 * and last record. A log that lost records and grew again past them has a last record
 * written later, so between two equal states no record was taken back or rewritten.
 */
export function sameStreamState(a: StreamNow, b: StreamNow): boolean {
  return a.stream === b.stream && a.created === b.created && a.firstSeq === b.firstSeq && a.lastSeq === b.lastSeq && a.lastWrittenAt === b.lastWrittenAt;
}

export type LogResetReason = 'recreated' | 'purged' | 'truncated';
export interface LogChange {
  reason: LogResetReason;
  detail: string;
}

/**
 * Whether the log is still the one an index that applied it up to `appliedSeq` came from.
 * The stream is made with deny_delete and deny_purge and no limits, so its first
 * sequence never moves and its last never falls in a healthy cluster: any such change,
 * or a new creation time (the admin's purge deletes and recreates it), means the index
 * holds faces (or lacks records) that a replica replaying the log now would not.
 */
export function logChange(origin: LogOrigin, appliedSeq: number, now: StreamSequences): LogChange | undefined {
  if (now.stream !== origin.stream || now.created !== origin.created) {
    return {
      reason: 'recreated',
      detail: `stream ${now.stream} was created at ${now.created}; the index came from ${origin.stream} created at ${origin.created}`,
    };
  }
  if (now.lastSeq < appliedSeq) return { reason: 'truncated', detail: `the stream ends at sequence ${now.lastSeq}; the index applied it up to ${appliedSeq}` };
  // First sequence unknown (an older snapshot): at least no record after the ones applied may be gone.
  if (origin.firstSeq === undefined ? now.firstSeq > appliedSeq + 1 : now.firstSeq > origin.firstSeq) {
    return {
      reason: 'purged',
      detail: `the stream starts at sequence ${now.firstSeq}; the index came from it starting at ${origin.firstSeq ?? 'an unknown sequence'} and applied it up to ${appliedSeq}`,
    };
  }
  return undefined;
}
