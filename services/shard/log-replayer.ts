import type { JsMsg, NatsConnection } from 'nats';
import type { FaceIndex } from '../../libs/index/face-index/index.js';
import type { Logger } from '../../libs/observability/logger.js';
import { decodeLogRecord, LogRecordRefused, type Subjects } from '../../libs/protocol/index.js';
import { lastSequenceFor } from '../../libs/nats/cluster/stream.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { consumeShardLog } from './log-consumer.js';
import type { ShardMetrics } from './metrics.js';
import { AppliedWindow } from './applied-window.js';

export interface LogReplay {
  state: ReplayState;
  /** The last records applied (sequence and write time), for the replica's look at the log. */
  recent: AppliedWindow;
  caughtUp: Promise<void>;
  /** Resolves true once appliedSeq >= target, false after timeoutMs. */
  waitForSeq(target: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
  /** Told after each applied record: its face count, and the records still pending in the log for this replica. */
  onApplied?: (faces: number, pendingRecords: number) => void;
}

export interface ReplayState {
  appliedSeq: number;
  /** The shard's last sequence when replay started; caught up once appliedSeq reaches it. */
  targetSeq: number;
  caughtUp: boolean;
}

export interface LogReplayOptions {
  nc: NatsConnection;
  subjects: Subjects;
  shard: number;
  /** The cluster's shard count: a record holding an id of another shard is refused. */
  shardCount: number;
  index: FaceIndex;
  metrics: ShardMetrics;
  log: Logger;
  /** The sequence a snapshot already covers: replay starts after it. */
  fromSeq?: number;
  /** How many of the last applied records `recent` holds. */
  recentRecords: number;
  /** Told when the log's consumer runs into trouble (see log-consumer.ts). */
  onTrouble?(why: string): void;
  /**
   * Told (once) when a record arrives at a sequence already applied but written after the
   * last record applied: the log went back (truncated) and grew again past where it was,
   * which the stream's sequences alone no longer show. The record is not applied.
   */
  onRewind?(detail: string): void;
}

/**
 * Replays `faces.data.<i>` from the start with an ordered consumer (each replica reads
 * the whole log on its own), then keeps applying live records. Resolves `caughtUp`
 * once everything that existed at start is in the index. Every record is checked like
 * an ingest (anyone allowed to publish to the log can write one) and applied whole or
 * refused whole.
 */
export async function startLogReplay(options: LogReplayOptions): Promise<LogReplay> {
  const { nc, subjects, shard, shardCount, index, metrics, log, fromSeq = 0 } = options;
  const owner = { shard, shardCount };
  const state: ReplayState = { appliedSeq: fromSeq, targetSeq: await lastSequenceFor(nc, subjects, shard), caughtUp: false };
  metrics.targetSeq.set(state.targetSeq);
  metrics.appliedSeq.set(fromSeq);
  let rewound = false;
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const waiters = new Set<{ target: number; resolve(ok: boolean): void }>();
  const checkCaughtUp = () => {
    if (!state.caughtUp && state.appliedSeq >= state.targetSeq) {
      state.caughtUp = true;
      markCaughtUp();
    }
    for (const w of waiters) {
      if (state.appliedSeq >= w.target) {
        waiters.delete(w);
        w.resolve(true);
      }
    }
  };
  const waitForSeq = (target: number, timeoutMs: number): Promise<boolean> => {
    if (state.appliedSeq >= target) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        target,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  log.info('replaying shard log', { subject: subjects.data(shard), fromSeq, targetSeq: state.targetSeq });

  // The object exists before the consumer does: records may arrive while it is opening.
  let consumer: { stop(): Promise<void> } | undefined;
  const recent = new AppliedWindow(options.recentRecords);
  const replay: LogReplay = { state, recent, caughtUp, waitForSeq, stop: async () => consumer?.stop() };
  consumer = await consumeShardLog({
    nc,
    subjects,
    shard,
    log,
    metrics,
    onTrouble: options.onTrouble,
    appliedSeq: () => state.appliedSeq,
    onMessage: (msg) => {
      const faces = applyMessage(msg);
      checkCaughtUp();
      if (faces > 0) replay.onApplied?.(faces, msg.info.pending);
    },
  });
  checkCaughtUp();

  /** Applies one record; the number of faces it wrote or deleted. */
  function applyMessage(msg: JsMsg): number {
    if (msg.seq <= state.appliedSeq) {
      // A redelivery, or covered by the snapshot: already in the index. Unless it was written
      // after the last record applied: then the log lost records and reused their sequences.
      const lastWrittenMs = recent.newestWrittenMs;
      if (lastWrittenMs > 0 && writtenMs(msg) > lastWrittenMs && !rewound) {
        rewound = true;
        options.onRewind?.(
          `a record at sequence ${msg.seq} was written after sequence ${state.appliedSeq}, the last one applied: the log lost records after sequence ${msg.seq - 1} and reused their sequences`,
        );
      }
      return 0;
    }
    if (rewound) return 0; // the replica starts over from the log's start
    let faces = 0;
    try {
      const record = decodeLogRecord(msg.data, owner);
      if (record.op === 'upsert') {
        for (let i = 0; i < record.ids.length; i++)
          index.upsert(record.ids[i], record.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), record.metas[i] ?? undefined);
      } else {
        for (const id of record.ids) index.delete(id);
      }
      faces = record.ids.length;
      metrics.records.labels({ shard: String(shard), op: record.op }).inc();
    } catch (err) {
      // Refused whole and skipped, loudly; the log itself is never modified. An index that
      // throws on a checked face is a bug, counted apart.
      const refusal = err instanceof LogRecordRefused ? err : undefined;
      const reason = refusal?.reason ?? 'index_error';
      metrics.refusedRecords.labels({ shard: String(shard), reason }).inc();
      metrics.refusedFaces.inc(refusal?.faces ?? 0);
      log.error('refusing a log record: none of its faces is applied', { seq: msg.seq, reason, faces: refusal?.faces, err });
    }
    state.appliedSeq = msg.seq;
    recent.push(msg.seq, writtenMs(msg));
    metrics.appliedSeq.set(msg.seq);
    metrics.faces.set(index.size);
    return faces;
  }

  return replay;
}

/** When JetStream stored the record, in ms (its nanosecond stamp, as precise as a stored message's time reads back). */
export function writtenMs(msg: JsMsg): number {
  return Math.floor(msg.info.timestampNanos / 1e6);
}
