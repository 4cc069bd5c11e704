#!/usr/bin/env node
import os from 'node:os';
import { FaceIndex } from '../../libs/face-index/index.js';
import { connectNats } from '../../libs/cluster/connect.js';
import { resolveShardCount } from '../../libs/cluster/shard-count.js';
import { ensureFaceStream, lastSequenceFor } from '../../libs/cluster/stream.js';
import { startOpsServer } from '../../libs/observability/http.js';
import { createLogger } from '../../libs/observability/logger.js';
import { createRegistry } from '../../libs/observability/metrics.js';
import { encodeShardReplyBinary, REPLY_FORMAT_HEADER, SHARD_REPLY_BINARY_CONTENT_TYPE, SHARD_SERVICE, subjectsFor } from '../../libs/protocol/index.js';
import { onTerminate, runMain } from '../../libs/service/lifecycle.js';
import { respondEncoded, respondJson } from '../../libs/service/respond.js';
import { answerQuery } from './answer-query.js';
import { BulkWriteGate } from './bulk-write-gate.js';
import { loadShardConfig } from './config.js';
import { startLogReplay, type LogReplay } from './log-replayer.js';
import { shardMetrics } from './metrics.js';
import { restoreSnapshot, scheduleSnapshots } from './snapshots.js';

/** A leg that asks for it (the coordinator's do) gets the binary reply. */
const BINARY_LEG_REPLY = { encode: encodeShardReplyBinary, contentType: SHARD_REPLY_BINARY_CONTENT_TYPE };

runMain('shard', async () => {
  const config = loadShardConfig();
  const shard = config.SHARD_INDEX;
  const log = createLogger({ service: 'shard', shard, pid: process.pid }, config.LOG_LEVEL);
  const subjects = subjectsFor(config.SUBJECT_PREFIX);
  const registry = createRegistry('shard');
  const metrics = shardMetrics(registry, shard);
  const index = new FaceIndex({ deltaLimit: config.INDEX_DELTA_LIMIT, strategy: config.INDEX_STRATEGY });
  let ready = false;
  let replay: LogReplay | undefined;
  const progress = () => ({ shard, faces: index.size, appliedSeq: replay?.state.appliedSeq ?? 0, targetSeq: replay?.state.targetSeq ?? 0 });

  const ops = await startOpsServer(registry, { healthy: () => true, ready: () => ready, details: progress }, config.HTTP_PORT, config.HTTP_HOST);
  log.info('ops HTTP listening', { port: ops.port });

  // Shutdown steps see whatever has started by the time the signal comes.
  let stopSnapshots: (() => Promise<void>) | undefined;
  let snapshotSeq: (() => number) | undefined;
  let stopService: (() => Promise<void>) | undefined;
  let drainNats: (() => Promise<void>) | undefined;
  let stopGate: (() => void) | undefined;
  let maintenanceDeferred = () => false;
  /** What the index still has to do: deferred by bulk writes, running (training in steps), or idle. */
  const maintenanceState = () => (maintenanceDeferred() ? 'deferred' : index.maintenancePending ? 'running' : 'idle');
  onTerminate(
    log,
    [
      async () => {
        ready = false;
        await stopService?.();
      },
      async () => {
        await replay?.stop();
        stopGate?.();
      },
      async () => stopSnapshots?.(), // a last snapshot: the next start replays less
      async () => drainNats?.(),
      () => ops.close(),
    ],
    config.DRAIN_TIMEOUT_S * 1000,
  );

  const nc = await connectNats(config.NATS_URL, `faceshard-shard-${shard}`, log);
  drainNats = () => nc.drain();
  await ensureFaceStream(nc, subjects, config.STREAM_REPLICAS);
  const shardCount = await resolveShardCount(nc, subjects, config.SHARD_COUNT, 30_000, config.STREAM_REPLICAS);
  if (shard >= shardCount) throw new Error(`SHARD_INDEX=${shard} but the cluster has ${shardCount} shards (0..${shardCount - 1})`);
  const streamInfo = await (await nc.jetstreamManager()).streams.info(subjects.stream);
  const stream = { stream: subjects.stream, created: streamInfo.created };

  const status = () => ({ shard, pid: process.pid, host: os.hostname(), count: index.size, ready, appliedSeq: replay?.state.appliedSeq ?? 0, listedRows: index.stats().listedRows, maintenance: maintenanceState(), snapshotSeq: snapshotSeq?.(), httpPort: ops.port });
  const service = await nc.services.add({
    name: SHARD_SERVICE,
    version: '0.1.0',
    description: `faceshard shard ${shard}`,
    metadata: { shard: String(shard), pid: String(process.pid), host: os.hostname() },
    statsHandler: async () => status(),
  });
  stopService = async () => {
    await service.stop();
  };
  // A status endpoint from the start, so discovery sees a replica while it replays.
  service.addEndpoint('status', {
    subject: `${subjects.prefix}.shard.${shard}.status`,
    handler: (_err, msg) => void respondJson(msg, log, status),
  });

  const started = Date.now();
  index.pauseMaintenance(); // one rebuild after the replay, not one per growth step
  const fromSeq = config.SNAPSHOT_DIR ? await restoreSnapshot(config.SNAPSHOT_DIR, shard, stream, index, log) : 0;
  metrics.snapshotSeq.set(fromSeq);
  metrics.startSeq.set(fromSeq);
  replay = await startLogReplay(nc, subjects, shard, index, metrics, log, fromSeq);
  await replay.caughtUp;
  index.resumeMaintenance();
  const activeReplay = replay;
  if (config.INDEX_BULK_RECORD_FACES > 0) {
    const gate = new BulkWriteGate(index, {
      bulkRecordFaces: config.INDEX_BULK_RECORD_FACES,
      quietMs: config.INDEX_BULK_QUIET_MS,
      onChange: (deferred) => {
        metrics.maintenanceDeferred.set(deferred ? 1 : 0);
        log.info(deferred ? 'bulk writes: index maintenance deferred' : 'bulk writes over: index maintenance resumed', { faces: index.size });
      },
    });
    activeReplay.onApplied = (faces, pending) => gate.noteRecord(faces, pending);
    stopGate = () => gate.stop();
    maintenanceDeferred = () => gate.isDeferring;
  }
  log.info('replay done', { faces: index.size, fromSeq, appliedSeq: activeReplay.state.appliedSeq, seconds: (Date.now() - started) / 1000 });
  if (config.SNAPSHOT_DIR) {
    const snapshots = scheduleSnapshots({
      dir: config.SNAPSHOT_DIR,
      intervalS: config.SNAPSHOT_INTERVAL_S,
      shard,
      stream,
      index,
      state: activeReplay.state,
      lastSeq: fromSeq,
      metrics,
      log,
      finishMaintenanceMs: (config.DRAIN_TIMEOUT_S * 1000) / 2,
      busy: () => maintenanceState() !== 'idle',
    });
    stopSnapshots = snapshots.stop;
    snapshotSeq = () => snapshots.lastSeq;
  }
  trackLag();

  // Only now join the queue group: a replica never answers from a half-built index.
  service.addEndpoint('query', {
    subject: subjects.shardQuery(shard),
    queue: subjects.shardQueue(shard),
    handler: (_err, msg) => {
      const stopTimer = metrics.querySeconds.startTimer();
      const binary = msg.headers?.get(REPLY_FORMAT_HEADER) === 'binary' ? BINARY_LEG_REPLY : undefined;
      void respondEncoded(msg, log, async () => {
        const reply = await answerQuery({ nc, subjects, shard, index, replay: activeReplay }, msg.data, msg.headers);
        metrics.queries.inc(reply.results.length);
        return reply;
      }, binary).then((ok) => {
        stopTimer();
        if (!ok) metrics.queryErrors.inc();
      });
    },
  });
  ready = true;
  log.info('ready', { subject: subjects.shardQuery(shard), queue: subjects.shardQueue(shard) });

  /** Lag = newest record of this shard's log - applied; polled, not per record. */
  function trackLag(): void {
    const timer = setInterval(() => {
      lastSequenceFor(nc, subjects, shard)
        .then((last) => metrics.lag.set(Math.max(0, last - activeReplay.state.appliedSeq)))
        .catch(() => undefined); // NATS down: the gauge keeps its last value
    }, 5000);
    timer.unref();
  }
});
