#!/usr/bin/env node
import os from 'node:os';
import { readShardCount } from '../../libs/nats/cluster/shard-count.js';
import { SERVICE_VERSION } from '../../libs/config/service-version.js';
import {
  COORDINATOR_QUEUE,
  COORDINATOR_SERVICE,
  parseDeleteRequest,
  parseDeleteWhereRequest,
  parseListFacesRequest,
  parsePersonsRequest,
  parseGetFacesRequest,
  bodyBudget,
  overCostCap,
  parseDeadline,
  parseIngest,
  parseQuery,
  ProtocolError,
  subjectsFor,
  type DeleteReply,
  type DeleteWhereReply,
  type GetFacesReply,
  type IngestReply,
} from '../../libs/protocol/index.js';
import { runMain } from '../../libs/service/lifecycle.js';
import { respondWithin } from '../../libs/nats/reply-inbox/respond.js';
import { respondJson } from '../../libs/service/respond.js';
import { ServiceRuntime } from '../../libs/service/runtime.js';
import { answerQuery } from './answer-query.js';
import { QueryCoalescer } from './coalescer.js';
import { LegPlanner } from './leg-plan.js';
import { directEndpoints, ReplicaRouter } from './replica-router.js';
import { loadCoordinatorConfig } from './config.js';
import { coordinatorMetrics } from './metrics.js';
import { findStoredIds } from './find-stored-ids.js';
import { appendUpserts } from './route-writes.js';
import { deleteFaces, streamLastSeq } from './delete-faces.js';
import { deleteWhere } from './delete-where.js';
import { ThumbnailCleaner } from './thumbnail-cleaner.js';
import { listFaces, listPersons, type ListingContext } from './listing-legs.js';

runMain('coordinator', async () => {
  const config = loadCoordinatorConfig();
  const subjects = subjectsFor(config.SUBJECT_PREFIX);
  let ready = false;
  let planner: LegPlanner | undefined;
  // /readyz also says which legs a scatter sends now ("0+2": one group leg for shards 0 and 2).
  const runtime = await ServiceRuntime.start('coordinator', config, {
    healthy: () => true,
    ready: () => ready,
    details: () => (planner ? { legs: planner.current().map((l) => l.join('+')) } : {}),
  });
  const { log, ops } = runtime;
  const metrics = coordinatorMetrics(runtime.registry);

  const nc = await runtime.connect('faceshard-coordinator');
  // The admin initialized the cluster (stream, shard count); a coordinator only reads it.
  const shardCount = await readShardCount(nc, subjects, config.SHARD_COUNT);
  const js = nc.jetstream();
  const limits = {
    shardCount,
    maxFacesPerRecord: config.LOG_BATCH_FACES,
    maxRecordBytes: Math.max(64 * 1024, (nc.info?.max_payload ?? 1024 * 1024) - 4096),
  };

  const service = await nc.services.add({
    name: COORDINATOR_SERVICE,
    version: SERVICE_VERSION,
    description: 'faceshard coordinator: scatter-gather queries, routes writes to shard logs',
    queue: COORDINATOR_QUEUE,
    metadata: { shards: String(shardCount), pid: String(process.pid), host: os.hostname(), httpPort: String(ops.port) },
  });

  // One leg per shard, or per shard process where processes serve several shards (leg-plan.ts).
  // Each leg goes to the replica with the fewest legs outstanding, on its direct subject (replica-router.ts); discovery tells the router which exist.
  const router = new ReplicaRouter(
    { ejectMs: config.REPLICA_EJECT_MS, hedgeFactor: config.LEG_HEDGE_P99_FACTOR, hedgeMinMs: config.LEG_HEDGE_MIN_MS },
    { sent: (target, replica) => metrics.replicaLegs.labels({ target, replica }).inc(), ejected: (target) => metrics.ejections.labels({ target }).inc() },
  );
  const routing = config.LEG_ROUTING === 'least-outstanding' ? { router, onHedge: () => metrics.hedgedLegs.inc() } : undefined;
  planner = new LegPlanner(nc, shardCount, config.LEG_PLAN_INTERVAL_MS, log, metrics.groupLegFailures, (services) => router.update(directEndpoints(services)));
  if (config.LEG_PLAN_INTERVAL_MS > 0) planner.start();
  const legPlanner = planner;
  const costCap = {
    maxMatches: config.QUERY_MAX_MATCHES,
    maxReplyBytes: Math.min(config.QUERY_MAX_REPLY_BYTES ?? Infinity, bodyBudget(nc)),
    matchBytes: config.QUERY_MATCH_BYTES,
  };
  // A merged batch stays one leg message and, as far as can be told, one reply message.
  const batchLimits = {
    maxLegBytes: bodyBudget(nc),
    maxReplyBytes: bodyBudget(nc),
    matchBytes: config.QUERY_MATCH_BYTES,
    maxBatchMs: config.QUERY_BATCH_MAX_MS ?? config.SHARD_TIMEOUT_MS / 4,
  };
  const coalescer = new QueryCoalescer(
    async (query) => {
      const answer = await answerQuery(nc, subjects, legPlanner, query, config.SHARD_TIMEOUT_MS, config.QUERY_MATCH_BYTES, routing);
      for (const leg of answer.legs) metrics.legShardMismatches.inc(leg.shardMismatches); // once a scatter, not once a coalesced query
      return answer;
    },
    config.QUERY_SCATTERS_PER_REPLICA ? () => config.QUERY_SCATTERS_IN_FLIGHT * router.fewestReplicas() : config.QUERY_SCATTERS_IN_FLIGHT,
    batchLimits,
    { maxQueries: config.COORDINATOR_QUEUE_MAX_QUERIES, maxVectors: config.COORDINATOR_QUEUE_MAX_VECTORS },
  );
  service.addEndpoint('query', {
    subject: subjects.query,
    handler: (_err, msg) => {
      const stopTimer = metrics.querySeconds.startTimer();
      void respondWithin(
        nc,
        msg,
        log,
        async () => {
          const parsed = parseQuery(msg.data, msg.headers);
          const tooLarge = overCostCap(parsed.count, parsed.k, costCap);
          if (tooLarge) throw new ProtocolError('too_large', `query too large: ${tooLarge}`);
          const deadline = Math.min(Date.now() + config.QUERY_TIMEOUT_MS, parseDeadline(msg.headers) ?? Infinity);
          const query = { ...parsed, deadline };
          const { reply, legs } = await coalescer.submit(query).catch((err: unknown) => {
            if (err instanceof ProtocolError && err.code === 'busy') metrics.busyRefusals.inc();
            throw err;
          });
          metrics.queries.inc(query.count);
          for (const leg of legs) {
            if (leg.ok) metrics.shardFaces.labels({ shard: String(leg.shard) }).set(leg.reply.faces);
            else metrics.legFailures.labels({ shard: String(leg.shard) }).inc();
          }
          if (reply.partial) {
            metrics.partialQueries.inc();
            log.warn('partial answer', { missing: legs.filter((l) => !l.ok).map((l) => (l.ok ? '' : l.reason)) });
          }
          return reply;
        },
        undefined,
      ).then((ok) => {
        stopTimer();
        if (!ok) metrics.queryErrors.inc();
      });
    },
  });

  service.addEndpoint('ingest', {
    subject: subjects.ingest,
    handler: (_err, msg) =>
      void respondJson(msg, log, async (): Promise<IngestReply> => {
        const { faces, rejected } = parseIngest(msg.data);
        const batchId = msg.headers?.get('batch-id') || undefined;
        const written = faces.length ? await appendUpserts(js, subjects, faces, limits, batchId) : { seq: {}, stored: 0, duplicates: 0 };
        metrics.facesIngested.inc(written.stored);
        metrics.duplicateFaces.inc(written.duplicates);
        metrics.facesRejected.inc(rejected.length);
        return { accepted: written.stored, rejected, seq: written.seq, ...(written.duplicates ? { duplicates: written.duplicates } : {}) };
      }),
  });

  const thumbnailCleaner = new ThumbnailCleaner(nc, subjects, log, { deleted: metrics.thumbnailsDeleted, failures: metrics.thumbnailDeleteFailures });
  const deletes = {
    nc,
    js,
    subjects,
    shardCount,
    timeoutMs: config.SHARD_TIMEOUT_MS,
    tombstoned: (count: number) => metrics.tombstones.inc(count),
    thumbnails: thumbnailCleaner,
  };
  service.addEndpoint('delete', {
    subject: subjects.delete,
    handler: (_err, msg) =>
      void respondJson(msg, log, (): Promise<DeleteReply> =>
        deleteFaces(deletes, [...new Set(parseDeleteRequest(msg.data))], msg.headers?.get('batch-id') || undefined),
      ),
  });

  service.addEndpoint('delete-where', {
    subject: subjects.deleteWhere,
    handler: (_err, msg) =>
      void respondJson(msg, log, (): Promise<DeleteWhereReply> =>
        deleteWhere(deletes, parseDeleteWhereRequest(msg.data), msg.headers?.get('batch-id') || undefined),
      ),
  });

  // Listings read as of every write acknowledged before the request, like get (the request is checked first).
  const listingEndpoint = <Req, Reply>(
    name: string,
    subject: string,
    parse: (data: Uint8Array) => Req,
    answer: (ctx: ListingContext, request: Req) => Promise<Reply>,
  ) =>
    service.addEndpoint(name, {
      subject,
      handler: (_err, msg) =>
        void respondJson(msg, log, async (): Promise<Reply> => {
          const request = parse(msg.data);
          return answer({ nc, subjects, shardCount, streamSeq: await streamLastSeq(nc, subjects), timeoutMs: config.SHARD_TIMEOUT_MS }, request);
        }),
    });
  listingEndpoint('list', subjects.list, parseListFacesRequest, listFaces);
  listingEndpoint('persons', subjects.persons, parsePersonsRequest, listPersons);

  service.addEndpoint('get', {
    subject: subjects.get,
    handler: (_err, msg) =>
      void respondJson(msg, log, async (): Promise<GetFacesReply> => {
        const ids = parseGetFacesRequest(msg.data);
        // As of every write acknowledged before this request, like delete's lookup.
        const streamSeq = await streamLastSeq(nc, subjects);
        const { found, unchecked } = await findStoredIds(nc, subjects, ids, shardCount, streamSeq, config.SHARD_TIMEOUT_MS, true);
        const doubtful = new Set(unchecked);
        const faces = ids.flatMap((id) => {
          const face = found.get(id);
          return face ? [{ id, ...face }] : [];
        });
        const notFound = ids.filter((id) => !found.has(id) && !doubtful.has(id));
        return { faces, notFound, ...(unchecked.length ? { unchecked } : {}) };
      }),
  });

  runtime.drainOnTerminate([
    async () => {
      ready = false;
      legPlanner.stop();
      await service.stop();
      // Thumbnails of faces delete-where deleted, still being deleted.
      await thumbnailCleaner.idle();
    },
    () => nc.drain(),
    () => ops.close(),
  ]);
  ready = true;
  log.info('ready', { shards: shardCount, query: subjects.query, ingest: subjects.ingest });
});
