import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function shardMetrics(registry: Registry, shard: number) {
  const labels = { shard: String(shard) };
  return {
    faces: new Gauge({ name: 'faceshard_shard_faces', help: 'Faces held by this replica', labelNames: ['shard'], registers: [registry] }).labels(labels),
    appliedSeq: new Gauge({ name: 'faceshard_shard_applied_sequence', help: 'Last stream sequence applied to the index', labelNames: ['shard'], registers: [registry] }).labels(labels),
    records: new Counter({ name: 'faceshard_shard_log_records_total', help: 'Log records applied', labelNames: ['shard', 'op'], registers: [registry] }),
    badRecords: new Counter({ name: 'faceshard_shard_bad_log_records_total', help: 'Log records that failed to decode and were skipped', labelNames: ['shard'], registers: [registry] }).labels(labels),
    queries: new Counter({ name: 'faceshard_shard_queries_total', help: 'Query vectors answered', labelNames: ['shard'], registers: [registry] }).labels(labels),
    queryErrors: new Counter({ name: 'faceshard_shard_query_errors_total', help: 'Scatter legs answered with an error', labelNames: ['shard'], registers: [registry] }).labels(labels),
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
