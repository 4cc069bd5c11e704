import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SearchQueueObserver } from './search-queue.js';

/** One set of metric families per registry: a process serving several shards labels them by shard. */
const familiesOf = new WeakMap<Registry, ReturnType<typeof createFamilies>>();

/** Shard `shard`'s metrics (children labelled shard="N" of the registry's families). */
export function shardMetrics(registry: Registry, shard: number) {
  let families = familiesOf.get(registry);
  if (families === undefined) familiesOf.set(registry, (families = createFamilies(registry)));
  const labels = { shard: String(shard) };
  // Families with a second label are handed over whole; their users add shard and that label.
  const { records, refusedRecords, logResets, ...labelled } = families;
  const children = Object.fromEntries(Object.entries(labelled).map(([name, family]) => [name, family.labels(labels)])) as {
    [K in keyof typeof labelled]: ReturnType<(typeof labelled)[K]['labels']>;
  };
  return { ...children, records, refusedRecords, logResets };
}

function createFamilies(registry: Registry) {
  return {
    faces: new Gauge({ name: 'faceshard_shard_faces', help: 'Faces held by this replica', labelNames: ['shard'], registers: [registry] }),
    appliedSeq: new Gauge({
      name: 'faceshard_shard_applied_sequence',
      help: 'Last stream sequence applied to the index',
      labelNames: ['shard'],
      registers: [registry],
    }),
    records: new Counter({ name: 'faceshard_shard_log_records_total', help: 'Log records applied', labelNames: ['shard', 'op'], registers: [registry] }),
    consumerRestarts: new Counter({
      name: 'faceshard_shard_log_consumer_restarts_total',
      help: 'Times the shard log consumer stalled and was reopened',
      labelNames: ['shard'],
      registers: [registry],
    }),
    refusedRecords: new Counter({
      name: 'faceshard_shard_refused_log_records_total',
      help: 'Log records refused whole, none of their faces applied, by reason: malformed (unreadable), bad_id, bad_vector (length, NaN, range), bad_meta, oversized_meta (the checks of ingest), wrong_shard (an id of another shard), index_error',
      labelNames: ['shard', 'reason'],
      registers: [registry],
    }),
    refusedFaces: new Counter({
      name: 'faceshard_shard_refused_log_faces_total',
      help: 'Faces not applied because their log record was refused (the faces of faceshard_shard_refused_log_records_total)',
      labelNames: ['shard'],
      registers: [registry],
    }),
    logResets: new Counter({
      name: 'faceshard_shard_log_resets_total',
      help: 'Times the shard log was found purged, truncated or recreated under this replica, which then went not-ready, emptied its index and replayed the log from its start',
      labelNames: ['shard', 'reason'],
      registers: [registry],
    }),
    logReadBacks: new Counter({
      name: 'faceshard_shard_log_read_backs_total',
      help: 'Times a look at the log read back the last LOG_CHECK_RECORDS applied records (a look skips it while the stream and the applied sequence stand where its last matching read-back found them)',
      labelNames: ['shard'],
      registers: [registry],
    }),
    queries: new Counter({ name: 'faceshard_shard_queries_total', help: 'Query vectors answered', labelNames: ['shard'], registers: [registry] }),
    queryErrors: new Counter({
      name: 'faceshard_shard_query_errors_total',
      help: 'Scatter legs answered with an error',
      labelNames: ['shard'],
      registers: [registry],
    }),
    expiredLegs: new Counter({
      name: 'faceshard_shard_expired_legs_total',
      help: 'Scatter legs dropped unsearched because their deadline (faceshard-deadline) had passed',
      labelNames: ['shard'],
      registers: [registry],
    }),
    startSeq: new Gauge({
      name: 'faceshard_shard_replay_start_sequence',
      help: 'Sequence the loaded snapshot covered at start (0: full replay)',
      labelNames: ['shard'],
      registers: [registry],
    }),
    targetSeq: new Gauge({
      name: 'faceshard_shard_replay_target_sequence',
      help: "Last sequence of this shard's log when replay started (ready once applied reaches it)",
      labelNames: ['shard'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'faceshard_shard_lag_records',
      help: 'Stream sequence of the newest record for this shard minus the applied sequence',
      labelNames: ['shard'],
      registers: [registry],
    }),
    snapshotSeq: new Gauge({
      name: 'faceshard_shard_snapshot_sequence',
      help: 'Sequence covered by the last snapshot written or loaded',
      labelNames: ['shard'],
      registers: [registry],
    }),
    snapshotTime: new Gauge({
      name: 'faceshard_shard_snapshot_timestamp_seconds',
      help: 'When the last snapshot was written (unix seconds); age = now - this',
      labelNames: ['shard'],
      registers: [registry],
    }),
    snapshotSeconds: new Histogram({
      name: 'faceshard_shard_snapshot_write_seconds',
      help: 'Time to write a snapshot',
      labelNames: ['shard'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    maintenanceDeferred: new Gauge({
      name: 'faceshard_shard_index_maintenance_deferred',
      help: '1 while bulk writes defer index maintenance (IVF training and merges)',
      labelNames: ['shard'],
      registers: [registry],
    }),
    querySeconds: new Histogram({
      name: 'faceshard_shard_query_seconds',
      help: "Time to decode, wait for and search one scatter leg, or this shard's part of a group leg (the reply's encoding not included)",
      labelNames: ['shard'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}
export type ShardMetrics = ReturnType<typeof shardMetrics>;

/** The process's search queue (one for all its shards): what waits, what was refused, how long legs waited. */
export function searchQueueMetrics(registry: Registry): SearchQueueObserver {
  const legs = new Gauge({
    name: 'faceshard_shard_queue_legs',
    help: 'Legs admitted to the search queue and not yet answered (the running one included)',
    registers: [registry],
  });
  const vectors = new Gauge({
    name: 'faceshard_shard_queue_vectors',
    help: 'Query vectors admitted to the search queue and not yet searched',
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'faceshard_shard_busy_refusals_total',
    help: 'Legs refused with busy (503) because the search queue was full (SHARD_QUEUE_MAX_LEGS or SHARD_QUEUE_MAX_VECTORS)',
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'faceshard_shard_queue_wait_seconds',
    help: 'Time a leg waited in the search queue before its first slice',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    queued: (l, v) => {
      legs.set(l);
      vectors.set(v);
    },
    refused: () => refusals.inc(),
    waited: (seconds) => wait.observe(seconds),
  };
}

/** The process's own metrics (not one shard's). */
export function shardProcessMetrics(registry: Registry) {
  return {
    groupLegs: new Counter({
      name: 'faceshard_shard_group_legs_total',
      help: 'Group legs answered: one message for every shard this process serves',
      registers: [registry],
    }),
  };
}
