import { Counter, Histogram, type Registry } from 'prom-client';

export function gatewayMetrics(registry: Registry) {
  const labelNames = ['route', 'method', 'status'];
  return {
    requests: new Counter({
      name: 'faceshard_gateway_requests_total',
      help: 'HTTP requests answered, by route template (`unmatched`: no route), method and status',
      labelNames,
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'faceshard_gateway_request_seconds',
      help: 'Time from an HTTP request to its answer, by route template, method and status',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    thumbnailFailures: new Counter({
      name: 'faceshard_gateway_thumbnail_failures_total',
      help: 'Thumbnails of enrolled faces not stored (cannot crop, bucket unreachable or refused); the faces are stored anyway',
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
