import type { FaceIndex } from '../../libs/index/face-index/index.js';
import type { Logger } from '../../libs/observability/logger.js';
import { readSnapshot, SNAPSHOT_VERSION, snapshotState, writeSnapshot } from '../../libs/snapshot/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { logChange, type LogOrigin, type StreamSequences } from './log-origin.js';
import type { ReplayState } from './log-replayer.js';
import type { ShardMetrics } from './metrics.js';

export interface StreamIdentity {
  stream: string;
  created: string;
}

/** What `restoreSnapshot` loaded: the sequence it covers (0: none), and whether its file is of an older format than the one written now. */
export interface RestoredSnapshot {
  appliedSeq: number;
  outdated: boolean;
}

const NONE: RestoredSnapshot = { appliedSeq: 0, outdated: false };

/**
 * Loads this replica's snapshot into the index and returns the sequence it covers.
 * A missing, damaged or foreign snapshot is logged and ignored, and so is one of a log
 * purged, truncated or recreated since (`stream` says where the stream stands now; with
 * its identity alone, only that is checked): the replica then replays the whole log, it
 * never serves from a snapshot it cannot trust.
 */
export async function restoreSnapshot(
  dir: string,
  shard: number,
  stream: StreamIdentity | StreamSequences,
  index: FaceIndex,
  log: Logger,
): Promise<RestoredSnapshot> {
  const started = performance.now();
  let snapshot;
  try {
    snapshot = await readSnapshot(dir, shard);
  } catch (err) {
    log.warn('ignoring unusable snapshot, replaying the whole log', { err });
    return NONE;
  }
  if (!snapshot) return NONE;
  const read = performance.now();
  const h = snapshot.header;
  const now: StreamSequences = 'lastSeq' in stream ? stream : { ...stream, firstSeq: h.streamFirstSeq ?? 1, lastSeq: Number.MAX_SAFE_INTEGER };
  const foreign =
    h.shard !== shard
      ? `it is shard ${h.shard}'s`
      : h.dims !== FACE_DIMENSIONS
        ? `it holds ${h.dims}-d vectors`
        : logChange({ stream: h.stream, created: h.streamCreated, firstSeq: h.streamFirstSeq }, h.appliedSeq, now)?.detail;
  if (foreign) {
    log.warn('ignoring snapshot, replaying the whole log', { reason: foreign });
    return NONE;
  }
  try {
    // Rows in their list order plus the IVF (v2): no training, no sorting. v1: the rows only.
    index.importState(snapshotState(snapshot));
  } catch (err) {
    log.warn('ignoring inconsistent snapshot, replaying the whole log', { err });
    return NONE;
  }
  log.info('snapshot loaded', {
    faces: h.faces,
    version: h.version,
    lists: h.version === 2 ? (h.ivf?.lists ?? 0) : 0,
    appliedSeq: h.appliedSeq,
    takenAt: h.createdAt,
    prefilter: index.stats().prefilter,
    seconds: (performance.now() - started) / 1000,
    // Read, checksum and decode; then the index's import (restart time: bench/snapshot-load has both by part).
    readSeconds: (read - started) / 1000,
  });
  return { appliedSeq: h.appliedSeq, outdated: h.version < SNAPSHOT_VERSION };
}

/** Ticks a snapshot may be put off while index maintenance is busy (then it is taken anyway). */
const MAX_DEFERRED_TICKS = 4;

/**
 * Writes a snapshot every `intervalS` when records were applied or faces joined the
 * approximate lists since the last one, and once more at shutdown. The first tick comes
 * at a random point of the first interval, so the shards of a cluster (started
 * together) do not all copy and hash their indexes at the same moment. A tick is put off
 * while `busy` (index maintenance deferred or running: the lists are about to change)
 * for at most MAX_DEFERRED_TICKS ticks.
 */
export function scheduleSnapshots(options: {
  dir: string;
  intervalS: number;
  shard: number;
  stream: LogOrigin;
  index: FaceIndex;
  state: ReplayState;
  lastSeq: number;
  /** The index was loaded from a file of an older format: the first tick writes one in today's, even with nothing new. */
  outdated?: boolean;
  metrics: ShardMetrics;
  log: Logger;
  /** At stop, index training still running may take this long before the last snapshot. */
  finishMaintenanceMs: number;
  busy?: () => boolean;
}): { stop(): Promise<void>; cancel(): Promise<void>; readonly lastSeq: number } {
  const { dir, shard, stream, index, state, metrics, log } = options;
  let lastSeq = options.lastSeq;
  let lastListed = index.stats().listedRows;
  let deferredTicks = 0;
  let outdated = options.outdated ?? false;
  let writing: Promise<void> | undefined;
  const takeSnapshot = async () => {
    const listed = index.stats().listedRows;
    if ((state.appliedSeq <= lastSeq && listed === lastListed && !outdated) || !state.caughtUp) return;
    const stopTimer = metrics.snapshotSeconds.startTimer();
    try {
      const written = await writeSnapshot(dir, index, {
        shard,
        stream: stream.stream,
        streamCreated: stream.created,
        streamFirstSeq: stream.firstSeq,
        appliedSeq: state.appliedSeq,
      });
      lastSeq = written.appliedSeq;
      lastListed = listed;
      outdated = false;
      metrics.snapshotSeq.set(written.appliedSeq);
      metrics.snapshotTime.set(Date.now() / 1000);
      log.info('snapshot written', { faces: written.faces, listedRows: listed, appliedSeq: written.appliedSeq, bytes: written.bytes, seconds: stopTimer() });
    } catch (err) {
      stopTimer();
      log.error('snapshot failed', { err });
    }
  };
  const run = () => {
    writing ??= takeSnapshot().finally(() => (writing = undefined));
    return writing;
  };
  const tick = () => {
    if (options.busy?.() && deferredTicks < MAX_DEFERRED_TICKS) {
      deferredTicks++;
      return;
    }
    deferredTicks = 0;
    void run();
  };
  const intervalMs = options.intervalS * 1000;
  let timer: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(() => {
    tick();
    timer = setInterval(tick, intervalMs);
    timer.unref();
  }, intervalMs * Math.random());
  first.unref();
  /** No more snapshots, and no last one. */
  const cancel = async () => {
    clearTimeout(first);
    clearInterval(timer);
    await writing;
  };
  return {
    get lastSeq() {
      return lastSeq;
    },
    cancel,
    stop: async () => {
      await cancel();
      // Training left in progress (e.g. just after a bulk load) is finished first, within
      // half the drain budget, so the next start loads its lists instead of training them.
      const deadline = performance.now() + options.finishMaintenanceMs;
      while (performance.now() < deadline && index.maintenanceStep(50));
      await run();
    },
  };
}
