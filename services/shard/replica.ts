/**
 * One shard replica inside a shard process: its index, loaded from its snapshot and
 * its log; its status endpoint (from the start) and its query endpoint (once caught
 * up); its snapshots and its lag gauge; a watch on the log that starts it over when the
 * log is purged, truncated or recreated under it. A process runs one replica per shard
 * it serves.
 */
import os from 'node:os';
import type { NatsConnection, ServiceMsg } from 'nats';
import { SERVICE_VERSION } from '../../libs/config/service-version.js';
import { FaceIndex } from '../../libs/index/face-index/index.js';
import { readShardCount } from '../../libs/nats/cluster/shard-count.js';
import { lastSequenceFor } from '../../libs/nats/cluster/stream.js';
import type { Logger } from '../../libs/observability/logger.js';
import {
  encodeShardReplyBinary,
  REPLY_FORMAT_HEADER,
  LOOKUP_LEG,
  LEG_KIND_HEADER,
  LIST_LEG,
  PERSONS_LEG,
  SHARD_REPLY_BINARY_CONTENT_TYPE,
  SHARD_SERVICE,
  ProtocolError,
  type LegWait,
  type Query,
  type ShardReply,
  type Subjects,
} from '../../libs/protocol/index.js';
import { respondWithin } from '../../libs/nats/reply-inbox/respond.js';
import { respondJson } from '../../libs/service/respond.js';
import { answerLookup } from './answer-lookup.js';
import { answerList, answerPersons } from './answer-listing.js';
import { answerParsed, answerQuery } from './answer-query.js';
import { readOwnRecords } from './applied-record.js';
import { windowDifference, type LoggedRecord } from './applied-window.js';
import { BulkWriteGate } from './bulk-write-gate.js';
import type { ShardConfig } from './config.js';
import { logChange, streamNow, type LogChange, type LogOrigin } from './log-origin.js';
import { readBackDue, servedBy, type LookNow, type MatchedReadBack } from './read-back-rule.js';
import { startLogReplay, type LogReplay } from './log-replayer.js';
import type { ShardMetrics } from './metrics.js';
import { restoreSnapshot, scheduleSnapshots } from './snapshots.js';
import type { SearchQueue } from './search-queue.js';

/** After consumer trouble, when the second look at the log runs. */
const LOOK_AGAIN_AFTER_TROUBLE_MS = 1500;
/** The reason a timer's look gives (any other reason is trouble's). */
const PERIODIC_LOOK = 'periodic look';

/** A leg that asks for it (the coordinator's do) gets the binary reply. */
const BINARY_LEG_REPLY = { encode: encodeShardReplyBinary, contentType: SHARD_REPLY_BINARY_CONTENT_TYPE };

export interface ReplicaContext {
  config: ShardConfig;
  nc: NatsConnection;
  subjects: Subjects;
  /** The process's ops HTTP port (in status replies). */
  httpPort: number;
  /** The process's one search queue: every replica's searches share its thread. */
  queue: SearchQueue;
}

/**
 * Shutdown, in the process's order: every replica stops taking queries, then stops
 * applying its log, then writes a last snapshot.
 */
export class ShardReplica {
  readonly shard: number;
  ready = false;
  private index: FaceIndex;
  private readonly context: ReplicaContext;
  private readonly metrics: ShardMetrics;
  private readonly log: Logger;
  private shardCount = 0;
  /** The log the index was built from; a different one under it starts the replica over. */
  private origin: LogOrigin | undefined;
  private replay: LogReplay | undefined;
  private resetting: Promise<void> | undefined;
  private stopping = false;
  private stopService: (() => Promise<void>) | undefined;
  private addQueryEndpoint: (() => void) | undefined;
  private stopGate: (() => void) | undefined;
  private snapshots: { stop(): Promise<void>; cancel(): Promise<void>; readonly lastSeq: number } | undefined;
  private maintenanceDeferred = () => false;
  /** The look at the log in progress (checkLog), and why another was asked for meanwhile. */
  private looking: Promise<void> | undefined;
  private lookAgain: string | undefined;
  /** The last read-back that found the applied records as they were (read-back-rule.ts says when the next is due). */
  private matched: MatchedReadBack | undefined;

  constructor(context: ReplicaContext, shard: number, metrics: ShardMetrics, log: Logger) {
    this.context = context;
    this.shard = shard;
    this.metrics = metrics;
    this.log = log;
    this.index = this.emptyIndex();
  }

  private emptyIndex(): FaceIndex {
    return new FaceIndex({ deltaLimit: this.context.config.INDEX_DELTA_LIMIT, strategy: this.context.config.INDEX_STRATEGY });
  }

  /** For /readyz. */
  progress() {
    return { shard: this.shard, faces: this.index.size, appliedSeq: this.replay?.state.appliedSeq ?? 0, targetSeq: this.replay?.state.targetSeq ?? 0 };
  }

  /** What the status endpoint and service discovery report. */
  status() {
    const { index, replay } = this;
    const stats = index.stats();
    return {
      shard: this.shard,
      pid: process.pid,
      host: os.hostname(),
      count: index.size,
      ready: this.ready,
      appliedSeq: replay?.state.appliedSeq ?? 0,
      listedRows: stats.listedRows,
      prefilter: stats.prefilter,
      maintenance: this.maintenanceState(),
      snapshotSeq: this.snapshots?.lastSeq,
      httpPort: this.context.httpPort,
    };
  }

  /** What the index still has to do: deferred by bulk writes, running (training in steps), or idle. */
  private maintenanceState(): 'deferred' | 'running' | 'idle' {
    return this.maintenanceDeferred() ? 'deferred' : this.index.maintenancePending ? 'running' : 'idle';
  }

  /** Registers with discovery, loads the snapshot, replays the log, then joins the query group. */
  async start(): Promise<void> {
    const { config, nc, subjects } = this.context;
    this.shardCount = await readShardCount(nc, subjects, config.SHARD_COUNT);
    await this.register();
    await this.load(true);
    this.trackLag();
    this.watchLog();
    this.serve();
  }

  /** Joins discovery with a status endpoint, so discovery sees a replica while it replays; the query endpoint comes with serve(). */
  private async register(): Promise<void> {
    const { nc, subjects } = this.context;
    const { shard, log } = this;
    const service = await nc.services.add({
      name: SHARD_SERVICE,
      version: SERVICE_VERSION,
      description: `faceshard shard ${shard}`,
      metadata: { shard: String(shard), pid: String(process.pid), host: os.hostname() },
      statsHandler: async () => this.status(),
    });
    this.stopService = () => service.stop().then(() => undefined);
    service.addEndpoint('status', {
      subject: `${subjects.prefix}.shard.${shard}.status`,
      handler: (_err, msg) => void respondJson(msg, log, () => this.status()),
    });
    this.addQueryEndpoint = () => {
      const handler = (_err: unknown, msg: ServiceMsg) => {
        // Before a delete, the coordinator asks which ids exist on the same subject; listing
        // legs (what is stored, by id or person) come the same way.
        const kind = msg.headers?.get(LEG_KIND_HEADER);
        if (kind === LOOKUP_LEG) return void respondJson(msg, log, () => answerLookup(this.searchContext(), msg.data, msg.headers));
        if (kind === LIST_LEG) return void respondJson(msg, log, () => answerList(this.searchContext(), msg.data, msg.headers));
        if (kind === PERSONS_LEG) return void respondJson(msg, log, () => answerPersons(this.searchContext(), msg.data, msg.headers));
        const binary = msg.headers?.get(REPLY_FORMAT_HEADER) === 'binary' ? BINARY_LEG_REPLY : undefined;
        void respondWithin(nc, msg, log, () => this.counted(() => answerQuery(this.searchContext(), msg.data, msg.headers)), binary);
      };
      service.addEndpoint('query', { subject: subjects.shardQuery(shard), queue: subjects.shardQueue(shard), handler });
      // The same handler on a subject of this replica alone: the coordinator picks the replica (least outstanding legs, retries elsewhere) instead of the queue group's random pick.
      service.addEndpoint('direct', { subject: subjects.shardReplicaQuery(shard, service.info().id), handler });
    };
  }

  /** Fills the index from the snapshot (when `useSnapshot` and one fits the log) and the log, until caught up. */
  private async load(useSnapshot: boolean): Promise<void> {
    const { config, nc, subjects } = this.context;
    const { shard, index, metrics, log } = this;
    const started = Date.now();
    const stream = streamNow(await (await nc.jetstreamManager()).streams.info(subjects.stream));
    index.pauseMaintenance(); // one rebuild after the replay, not one per growth step
    const snapshotDir = config.SNAPSHOT_DIR?.replaceAll('{shard}', String(shard));
    const restored = snapshotDir && useSnapshot ? await restoreSnapshot(snapshotDir, shard, stream, index, log) : undefined;
    const fromSeq = restored?.appliedSeq ?? 0;
    this.origin = { stream: stream.stream, created: stream.created, firstSeq: stream.firstSeq };
    metrics.snapshotSeq.set(fromSeq);
    metrics.startSeq.set(fromSeq);
    const replay = (this.replay = await startLogReplay({
      nc,
      subjects,
      shard,
      shardCount: this.shardCount,
      index,
      metrics,
      log,
      fromSeq,
      recentRecords: config.LOG_CHECK_RECORDS,
      onTrouble: (why) => this.lookAfterTrouble(why),
      onRewind: (detail) => this.startOver({ reason: 'truncated', detail }, 'a record came again at an applied sequence'),
    }));
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
      this.snapshots = scheduleSnapshots({
        dir: snapshotDir,
        intervalS: config.SNAPSHOT_INTERVAL_S,
        shard,
        stream: this.origin,
        index,
        state: replay.state,
        lastSeq: fromSeq,
        outdated: restored?.outdated ?? false,
        metrics,
        log,
        finishMaintenanceMs: (config.DRAIN_TIMEOUT_S * 1000) / 2,
        busy: () => this.maintenanceState() !== 'idle',
      });
    }
  }

  /** Only once caught up: a replica never answers from a half-built index. */
  private serve(): void {
    if (this.stopping) return;
    this.addQueryEndpoint?.();
    this.ready = true;
    this.log.info('ready', { subject: this.context.subjects.shardQuery(this.shard), queue: this.context.subjects.shardQueue(this.shard) });
  }

  private searchContext() {
    const { nc, subjects } = this.context;
    const { shard, index, replay } = this;
    if (!replay) throw new ProtocolError('not_ready', `shard ${shard} is not serving queries (starting or stopping)`);
    return { nc, subjects, shard, index, replay, expiredLegs: this.metrics.expiredLegs, queue: this.context.queue };
  }

  /** This replica's part of a group leg (group-endpoint.ts): counted in its own metrics. */
  async answer(query: Query, wait: LegWait | undefined): Promise<ShardReply> {
    if (!this.ready) throw new ProtocolError('not_ready', `shard ${this.shard} is not serving queries (starting, stopping or replaying a changed log)`);
    return this.counted(() => answerParsed(this.searchContext(), query, wait));
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

  /** Looks at the stream every LOG_CHECK_INTERVAL_MS (and whenever the consumer runs into trouble). */
  private watchLog(): void {
    const timer = setInterval(() => void this.checkLog(), this.context.config.LOG_CHECK_INTERVAL_MS);
    timer.unref();
  }

  /**
   * A look at once, and one more a moment later: after a leader change the new leader may
   * write over sequences this replica applied only after the first look.
   */
  private lookAfterTrouble(why: string): void {
    void this.checkLog(why);
    setTimeout(() => void this.checkLog(`${why} (second look)`), LOOK_AGAIN_AFTER_TROUBLE_MS).unref();
  }

  /** One look at a time; a look asked for meanwhile runs once after it. */
  private checkLog(why = PERIODIC_LOOK): Promise<void> {
    if (this.looking) {
      this.lookAgain = why;
      return this.looking;
    }
    this.looking = this.lookAtLog(why).finally(() => {
      this.looking = undefined;
      const again = this.lookAgain;
      this.lookAgain = undefined;
      if (again) void this.checkLog(again);
    });
    return this.looking;
  }

  /** Starts over when the log under the index is not the one it came from any more. */
  private async lookAtLog(why: string): Promise<void> {
    const { origin, replay } = this;
    if (this.resetting || this.stopping || !origin || !replay?.state.caughtUp) return;
    // Taken before asking: records applied while the answer is on its way are past the last sequence it reports.
    const { appliedSeq } = replay.state;
    const applied = replay.recent.entries();
    let info;
    try {
      info = await (await this.context.nc.jetstreamManager()).streams.info(this.context.subjects.stream);
    } catch {
      return; // NATS down, or the stream deleted and not made again yet: the next look
    }
    const now = streamNow(info);
    const look: LookNow = {
      stream: now,
      appliedSeq,
      servedBy: servedBy(info.cluster?.leader, this.context.nc.info?.server_id),
      nowMs: performance.now(),
      periodic: why === PERIODIC_LOOK,
    };
    const change = logChange(origin, appliedSeq, now) ?? (await this.recentChanged(applied, look));
    if (change && this.origin === origin) this.startOver(change, why);
  }

  /**
   * Whether the records last applied are still in the log as they were: a log that lost
   * records (a JetStream leader change can take back ones a replica already applied) and
   * grew again past where it was shows neither a new first nor a smaller last sequence;
   * read back, the shard's records at those sequences are missing, extra or written at
   * another time.
   */
  private async recentChanged(applied: LoggedRecord[], look: LookNow): Promise<LogChange | undefined> {
    if (applied.length === 0) return undefined; // nothing applied since start (or the snapshot): nothing to compare
    if (!readBackDue(this.matched, look, this.context.config.LOG_CHECK_FULL_INTERVAL_MS)) return undefined;
    const read = await this.readDifference(applied);
    if (!read) return undefined; // not read: the next look
    const difference = read.difference;
    if (!difference) {
      this.matched = { stream: look.stream, appliedSeq: look.appliedSeq, servedBy: look.servedBy, atMs: look.nowMs };
      return undefined;
    }
    this.matched = undefined;
    // Read again through a new consumer before starting over: a read-back consumer may sit on a
    // stream replica that disagrees with the others (nats-server 2.9.10 after a paused leader,
    // bench/results/chaos.md); two reads that disagree are not a verdict, and the next look tries again.
    const confirmed = (await this.readDifference(applied))?.difference;
    if (confirmed !== difference) {
      this.log.warn('two read-backs of the shard log disagree (its stream replicas differ?); not starting over on either', {
        first: difference,
        second: confirmed ?? 'no difference',
      });
      return undefined;
    }
    return { reason: 'truncated', detail: `${difference}: the log lost records this index applied and reused their sequences` };
  }

  /** How the log now differs from the records applied (`difference` undefined: it does not); undefined when it could not be read. */
  private async readDifference(applied: LoggedRecord[]): Promise<{ difference: string | undefined } | undefined> {
    const { nc, subjects } = this.context;
    this.metrics.logReadBacks.inc();
    const inLog = await readOwnRecords(nc, subjects, this.shard, applied[0].seq, applied.length);
    return inLog && { difference: windowDifference(applied, inLog) };
  }

  /** At most one reset at a time; none once shutdown began. */
  private startOver(change: LogChange, why: string): void {
    if (this.resetting || this.stopping) return;
    this.resetting = this.reset(change, why).finally(() => (this.resetting = undefined));
  }

  /**
   * The log changed under the index: it holds faces, or lacks records, that its peers
   * replaying the log now would not. Out of discovery and the query group, a fresh index
   * from the log's start, then back. No last snapshot of the old index; one of the new
   * log follows on the usual schedule (a snapshot of the old one no longer loads).
   */
  private async reset(change: LogChange, why: string): Promise<void> {
    const { metrics, log, shard } = this;
    log.warn('the shard log changed under this replica: not ready; replaying it from its start into an empty index', {
      reason: change.reason,
      detail: change.detail,
      noticed: why,
      faces: this.index.size,
      appliedSeq: this.replay?.state.appliedSeq,
    });
    metrics.logResets.labels({ shard: String(shard), reason: change.reason }).inc();
    this.ready = false;
    this.matched = undefined;
    await this.stopService?.();
    await this.stopApplying();
    await this.snapshots?.cancel();
    this.snapshots = undefined;
    this.maintenanceDeferred = () => false;
    if (this.stopping) return;
    this.index = this.emptyIndex();
    await this.register();
    await this.load(false);
    // Shutdown began meanwhile: its steps may have run before this service and replay existed.
    if (this.stopping) await Promise.all([this.stopService?.(), this.stopApplying()]);
    else this.serve();
  }

  /** Shutdown step 1: leave discovery and the query group. */
  async stopQueries(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    await this.stopService?.();
  }

  /** Shutdown step 2: stop applying the log. */
  async stopApplying(): Promise<void> {
    await this.replay?.stop();
    this.stopGate?.();
    this.stopGate = undefined;
  }

  /** Shutdown step 3: a last snapshot, so the next start replays less. */
  async finalSnapshot(): Promise<void> {
    await this.snapshots?.stop();
  }

  /** Lag = newest record of this shard's log - applied; polled, not per record. */
  private trackLag(): void {
    const { nc, subjects } = this.context;
    const timer = setInterval(() => {
      const replay = this.replay;
      if (!replay) return;
      lastSequenceFor(nc, subjects, this.shard)
        .then((last) => this.metrics.lag.set(Math.max(0, last - replay.state.appliedSeq)))
        .catch(() => undefined); // NATS down: the gauge keeps its last value
    }, 5000);
    timer.unref();
  }
}
