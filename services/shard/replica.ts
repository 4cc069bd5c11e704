/**
 * One shard replica inside a shard process: its index, loaded from its snapshot and
 * its log; its status endpoint (from the start) and its query endpoint (once caught
 * up); its snapshots and its lag gauge. A process runs one replica per shard it serves.
 */
import os from 'node:os';
import type { NatsConnection } from 'nats';
import { FaceIndex } from '../../libs/face-index/index.js';
import { lastSequenceFor } from '../../libs/cluster/stream.js';
import type { Logger } from '../../libs/observability/logger.js';
import {
  encodeShardReplyBinary,
  REPLY_FORMAT_HEADER,
  SHARD_REPLY_BINARY_CONTENT_TYPE,
  SHARD_SERVICE,
  ProtocolError,
  type LegWait,
  type Query,
  type ShardReply,
  type Subjects,
} from '../../libs/protocol/index.js';
import { respondEncoded, respondJson } from '../../libs/service/respond.js';
import { answerParsed, answerQuery } from './answer-query.js';
import { BulkWriteGate } from './bulk-write-gate.js';
import type { ShardConfig } from './config.js';
import { startLogReplay, type LogReplay } from './log-replayer.js';
import type { ShardMetrics } from './metrics.js';
import { restoreSnapshot, scheduleSnapshots } from './snapshots.js';

/** A leg that asks for it (the coordinator's do) gets the binary reply. */
const BINARY_LEG_REPLY = { encode: encodeShardReplyBinary, contentType: SHARD_REPLY_BINARY_CONTENT_TYPE };

export interface ReplicaContext {
  config: ShardConfig;
  nc: NatsConnection;
  subjects: Subjects;
  stream: { stream: string; created: string };
  /** The process's ops HTTP port (in status replies). */
  httpPort: number;
}

/**
 * Shutdown, in the process's order: every replica stops taking queries, then stops
 * applying its log, then writes a last snapshot.
 */
export class ShardReplica {
  readonly shard: number;
  ready = false;
  readonly index: FaceIndex;
  private readonly context: ReplicaContext;
  private readonly metrics: ShardMetrics;
  private readonly log: Logger;
  private replay: LogReplay | undefined;
  private stopService: (() => Promise<void>) | undefined;
  private stopGate: (() => void) | undefined;
  private stopSnapshots: (() => Promise<void>) | undefined;
  private snapshotSeq: (() => number) | undefined;
  private maintenanceDeferred = () => false;

  constructor(context: ReplicaContext, shard: number, metrics: ShardMetrics, log: Logger) {
    this.context = context;
    this.shard = shard;
    this.metrics = metrics;
    this.log = log;
    this.index = new FaceIndex({ deltaLimit: context.config.INDEX_DELTA_LIMIT, strategy: context.config.INDEX_STRATEGY });
  }

  /** For /readyz. */
  progress() {
    return { shard: this.shard, faces: this.index.size, appliedSeq: this.replay?.state.appliedSeq ?? 0, targetSeq: this.replay?.state.targetSeq ?? 0 };
  }

  /** What the status endpoint and service discovery report. */
  status() {
    const { index, replay } = this;
    return {
      shard: this.shard,
      pid: process.pid,
      host: os.hostname(),
      count: index.size,
      ready: this.ready,
      appliedSeq: replay?.state.appliedSeq ?? 0,
      listedRows: index.stats().listedRows,
      maintenance: this.maintenanceState(),
      snapshotSeq: this.snapshotSeq?.(),
      httpPort: this.context.httpPort,
    };
  }

  /** What the index still has to do: deferred by bulk writes, running (training in steps), or idle. */
  private maintenanceState(): 'deferred' | 'running' | 'idle' {
    return this.maintenanceDeferred() ? 'deferred' : this.index.maintenancePending ? 'running' : 'idle';
  }

  /** Registers with discovery, loads the snapshot, replays the log, then joins the query group. */
  async start(): Promise<void> {
    const { config, nc, subjects, stream } = this.context;
    const { shard, index, metrics, log } = this;
    const service = await nc.services.add({
      name: SHARD_SERVICE,
      version: '0.1.0',
      description: `faceshard shard ${shard}`,
      metadata: { shard: String(shard), pid: String(process.pid), host: os.hostname() },
      statsHandler: async () => this.status(),
    });
    this.stopService = () => service.stop().then(() => undefined);
    // A status endpoint from the start, so discovery sees a replica while it replays.
    service.addEndpoint('status', {
      subject: `${subjects.prefix}.shard.${shard}.status`,
      handler: (_err, msg) => void respondJson(msg, log, () => this.status()),
    });

    const started = Date.now();
    index.pauseMaintenance(); // one rebuild after the replay, not one per growth step
    const snapshotDir = config.SNAPSHOT_DIR?.replaceAll('{shard}', String(shard));
    const fromSeq = snapshotDir ? await restoreSnapshot(snapshotDir, shard, stream, index, log) : 0;
    metrics.snapshotSeq.set(fromSeq);
    metrics.startSeq.set(fromSeq);
    const replay = (this.replay = await startLogReplay(nc, subjects, shard, index, metrics, log, fromSeq));
    await replay.caughtUp;
    index.resumeMaintenance();
    if (config.INDEX_BULK_RECORD_FACES > 0) {
      const gate = new BulkWriteGate(index, {
        bulkRecordFaces: config.INDEX_BULK_RECORD_FACES,
        quietMs: config.INDEX_BULK_QUIET_MS,
        onChange: (deferred) => {
          metrics.maintenanceDeferred.set(deferred ? 1 : 0);
          log.info(deferred ? 'bulk writes: index maintenance deferred' : 'bulk writes over: index maintenance resumed', { faces: index.size });
        },
      });
      replay.onApplied = (faces, pending) => gate.noteRecord(faces, pending);
      this.stopGate = () => gate.stop();
      this.maintenanceDeferred = () => gate.isDeferring;
    }
    log.info('replay done', { faces: index.size, fromSeq, appliedSeq: replay.state.appliedSeq, seconds: (Date.now() - started) / 1000 });
    if (snapshotDir) {
      const snapshots = scheduleSnapshots({
        dir: snapshotDir,
        intervalS: config.SNAPSHOT_INTERVAL_S,
        shard,
        stream,
        index,
        state: replay.state,
        lastSeq: fromSeq,
        metrics,
        log,
        finishMaintenanceMs: (config.DRAIN_TIMEOUT_S * 1000) / 2,
        busy: () => this.maintenanceState() !== 'idle',
      });
      this.stopSnapshots = snapshots.stop;
      this.snapshotSeq = () => snapshots.lastSeq;
    }
    this.trackLag(replay);

    // Only now join the queue group: a replica never answers from a half-built index.
    service.addEndpoint('query', {
      subject: subjects.shardQuery(shard),
      queue: subjects.shardQueue(shard),
      handler: (_err, msg) => {
        const binary = msg.headers?.get(REPLY_FORMAT_HEADER) === 'binary' ? BINARY_LEG_REPLY : undefined;
        void respondEncoded(msg, log, () => this.counted(() => answerQuery({ nc, subjects, shard, index, replay }, msg.data, msg.headers)), binary);
      },
    });
    this.ready = true;
    log.info('ready', { subject: subjects.shardQuery(shard), queue: subjects.shardQueue(shard) });
  }

  /** This replica's part of a group leg (group-endpoint.ts): counted in its own metrics. */
  async answer(query: Query, wait: LegWait | undefined): Promise<ShardReply> {
    const { nc, subjects } = this.context;
    const { shard, index, replay } = this;
    if (!this.ready || !replay) throw new ProtocolError('not_ready', `shard ${shard} is not serving queries (starting or stopping)`);
    return this.counted(() => answerParsed({ nc, subjects, shard, index, replay }, query, wait));
  }

  /** A leg's work (its own or its part of a group leg) in this replica's query timer and counters. */
  private async counted(work: () => Promise<ShardReply>): Promise<ShardReply> {
    const metrics = this.metrics;
    const stopTimer = metrics.querySeconds.startTimer();
    try {
      const reply = await work();
      metrics.queries.inc(reply.results.length);
      return reply;
    } catch (err) {
      metrics.queryErrors.inc();
      throw err;
    } finally {
      stopTimer();
    }
  }

  /** Shutdown step 1: leave discovery and the query group. */
  async stopQueries(): Promise<void> {
    this.ready = false;
    await this.stopService?.();
  }

  /** Shutdown step 2: stop applying the log. */
  async stopApplying(): Promise<void> {
    await this.replay?.stop();
    this.stopGate?.();
  }

  /** Shutdown step 3: a last snapshot, so the next start replays less. */
  async finalSnapshot(): Promise<void> {
    await this.stopSnapshots?.();
  }

  /** Lag = newest record of this shard's log - applied; polled, not per record. */
  private trackLag(replay: LogReplay): void {
    const { nc, subjects } = this.context;
    const timer = setInterval(() => {
      lastSequenceFor(nc, subjects, this.shard)
        .then((last) => this.metrics.lag.set(Math.max(0, last - replay.state.appliedSeq)))
        .catch(() => undefined); // NATS down: the gauge keeps its last value
    }, 5000);
    timer.unref();
  }
}
