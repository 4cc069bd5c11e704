/**
 * When a look at the shard's log reads the applied records back (replica.ts). A read-back
 * reads whole records (a few hundred KB each at bulk-load sizes) through a fresh filtered
 * consumer: at 3,000,000 faces, four shards reading back their last 1,000 records every
 * 5 s while the log grew cut the ingest from ~100,000 to ~36,000 faces/s and kept
 * nats-server busy (bench/results/scale.md). Records are taken back only when a stream
 * leader changes or a server comes back with an older store, so a read-back runs:
 *  - at the first look, and after consumer trouble (a look that is not the periodic one);
 *  - when whoever serves the log changed since the last read-back that matched (another
 *    stream leader, or another server process: a restart or a reconnect);
 *  - otherwise, when the log or the applied sequence moved, at most once every
 *    `fullIntervalMs` (the net under what the signs above miss).
 */
import { sameStreamState, type StreamNow } from './log-origin.js';

/** The last read-back that found the applied records as they were. */
export interface MatchedReadBack {
  stream: StreamNow;
  appliedSeq: number;
  /** Who served the log then (`servedBy`). */
  servedBy: string;
  /** When it ran (ms, performance.now()). */
  atMs: number;
}

export interface LookNow {
  stream: StreamNow;
  appliedSeq: number;
  servedBy: string;
  nowMs: number;
  /** The periodic look (not one asked for by consumer trouble). */
  periodic: boolean;
}

/** Who serves the log: the stream's leader (clustered JetStream) and the server this connection talks to. */
export function servedBy(leader: string | undefined, serverId: string | undefined): string {
  return `${leader ?? '-'}@${serverId ?? '-'}`;
}

export function readBackDue(matched: MatchedReadBack | undefined, look: LookNow, fullIntervalMs: number): boolean {
  if (!matched || !look.periodic || matched.servedBy !== look.servedBy) return true;
  if (matched.appliedSeq === look.appliedSeq && sameStreamState(matched.stream, look.stream)) return false;
  return look.nowMs - matched.atMs >= fullIntervalMs;
}
