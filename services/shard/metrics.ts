import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function shardMetrics(registry: Registry, shard: number) {
  const labels = { shard: String(shard) };
  return {
    faces: new Gauge({ name: 'faceshard_shard_faces', help: 'Faces held by this replica', labelNames: ['shard'], registers: [registry] }).labels(labels),
    appliedSeq: new Gauge({ name: 'faceshard_shard_applied_sequence', help: 'Last stream sequence applied to the index', labelNames: ['shard'], registers: [registry] }).labels(labels),
    records: new Counter({ name: 'faceshard_shard_log_records_total', help: 'Log records applied', labelNames: ['shard', 'op'], registers: [registry] }),
    consumerRestarts: new Counter({ name: 'faceshard_shard_log_consumer_restarts_total', help: 'Times the shard log consumer stalled and was reopened', labelNames: ['shard'], registers: [registry] }).labels(labels),
    badRecords: new Counter({ name: 'faceshard_shard_bad_log_records_total', help: 'Log records that failed to decode and were skipped', labelNames: ['shard'], registers: [registry] }).labels(labels),
    queries: new Counter({ name: 'faceshard_shard_queries_total', help: 'Query vectors answered', labelNames: ['shard'], registers: [registry] }).labels(labels),
    queryErrors: new Counter({ name: 'faceshard_shard_query_errors_total', help: 'Scatter legs answered with an error', labelNames: ['shard'], registers: [registry] }).labels(labels),
    startSeq: new Gauge({ name: 'faceshard_shard_replay_start_sequence', help: 'Sequence the loaded snapshot covered at start (0: full replay)', labelNames: ['shard'], registers: [registry] }).labels(labels),
    targetSeq: new Gauge({ name: 'faceshard_shard_replay_target_sequence', help: 'Last sequence of this shard\'s log when replay started (ready once applied reaches it)', labelNames: ['shard'], registers: [registry] }).labels(labels),
    lag: new Gauge({ name: 'faceshard_shard_lag_records', help: 'Stream sequence of the newest record for this shard minus the applied sequence', labelNames: ['shard'], registers: [registry] }).labels(labels),
    snapshotSeq: new Gauge({ name: 'faceshard_shard_snapshot_sequence', help: 'Sequence covered by the last snapshot written or loaded', labelNames: ['shard'], registers: [registry] }).labels(labels),
    snapshotTime: new Gauge({ name: 'faceshard_shard_snapshot_timestamp_seconds', help: 'When the last snapshot was written (unix seconds); age = now - this', labelNames: ['shard'], registers: [registry] }).labels(labels),
    snapshotSeconds: new Histogram({ name: 'faceshard_shard_snapshot_write_seconds', help: 'Time to write a snapshot', labelNames: ['shard'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }).labels(labels),
    maintenanceDeferred: new Gauge({ name: 'faceshard_shard_index_maintenance_deferred', help: '1 while bulk writes defer index maintenance (IVF training and merges)', labelNames: ['shard'], registers: [registry] }).labels(labels),
    querySeconds: new Histogram({
      name: 'faceshard_shard_query_seconds',
      help: 'Time to answer one scatter leg',
      labelNames: ['shard'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }).labels(labels),
  };
}
export type ShardMetrics = ReturnType<typeof shardMetrics>;
