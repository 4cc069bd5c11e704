import type { JsMsg, NatsConnection } from 'nats';
import type { FaceIndex } from '../../libs/face-index/index.js';
import type { Logger } from '../../libs/observability/logger.js';
import { decodeLogRecord, type Subjects } from '../../libs/protocol/index.js';
import { lastSequenceFor } from '../../libs/cluster/stream.js';
import { FACE_DIMENSIONS } from '../../libs/vector/index.js';
import { consumeShardLog } from './log-consumer.js';
import type { ShardMetrics } from './metrics.js';

export interface LogReplay {
  state: ReplayState;
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

/**
 * Replays `faces.data.<i>` from the start with an ordered consumer (each replica reads
 * the whole log on its own), then keeps applying live records. Resolves `caughtUp`
 * once everything that existed at start is in the index.
 */
export async function startLogReplay(
  nc: NatsConnection,
  subjects: Subjects,
  shard: number,
  index: FaceIndex,
  metrics: ShardMetrics,
  log: Logger,
  /** The sequence a snapshot already covers: replay starts after it. */
  fromSeq = 0,
): Promise<LogReplay> {
  const state: ReplayState = { appliedSeq: fromSeq, targetSeq: await lastSequenceFor(nc, subjects, shard), caughtUp: false };
  metrics.targetSeq.set(state.targetSeq);
  metrics.appliedSeq.set(fromSeq);
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
  const replay: LogReplay = { state, caughtUp, waitForSeq, stop: async () => consumer?.stop() };
  consumer = await consumeShardLog({
    nc,
    subjects,
    shard,
    log,
    metrics,
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
    if (msg.seq <= state.appliedSeq) return 0; // already in the index (covered by the snapshot)
    let faces = 0;
    try {
      const record = decodeLogRecord(msg.data);
      if (record.op === 'upsert') {
        for (let i = 0; i < record.ids.length; i++) {
          const vector = record.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS);
          try {
            index.upsert(record.ids[i], vector, record.metas[i] ?? undefined);
          } catch (err) {
            if (!(err instanceof RangeError)) throw err;
            // A face the rows cannot store (a log written before ingest checked the range):
            // that face alone is skipped, loudly; the record's other faces go in.
            metrics.refusedFaces.inc();
            log.error('skipping a log face the index refuses', { seq: msg.seq, id: record.ids[i], err });
          }
        }
      } else {
        for (const id of record.ids) index.delete(id);
      }
      faces = record.ids.length;
      metrics.records.labels({ shard: String(shard), op: record.op }).inc();
    } catch (err) {
      // A record we cannot read is skipped loudly; the log itself is never modified.
      metrics.badRecords.inc();
      log.error('skipping unreadable log record', { seq: msg.seq, err });
    }
    state.appliedSeq = msg.seq;
    metrics.appliedSeq.set(msg.seq);
    metrics.faces.set(index.size);
    return faces;
  }

  return replay;
}
