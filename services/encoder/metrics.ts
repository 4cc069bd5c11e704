import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function encoderMetrics(registry: Registry) {
  return {
    images: new Counter({ name: 'faceshard_encoder_images_total', help: 'Images encoded', registers: [registry] }),
    faces: new Counter({ name: 'faceshard_encoder_faces_total', help: 'Faces found and encoded', registers: [registry] }),
    thumbnails: new Counter({ name: 'faceshard_encoder_thumbnails_total', help: 'Thumbnails of stored faces stored', registers: [registry] }),
    thumbnailFailures: new Counter({
      name: 'faceshard_encoder_thumbnail_failures_total',
      help: 'Thumbnails of stored faces not stored (cannot crop, bucket unreachable or refused); the faces are stored anyway',
      registers: [registry],
    }),
    errors: new Counter({ name: 'faceshard_encoder_errors_total', help: 'Images refused, by reason', labelNames: ['reason'], registers: [registry] }),
    seconds: new Histogram({
      name: 'faceshard_encoder_image_seconds',
      help: 'Time to decode and encode one image',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers: [registry],
    }),
    backlog: new Gauge({ name: 'faceshard_encoder_backlog', help: 'Images waiting in this process', registers: [registry] }),
    backend: new Gauge({
      name: 'faceshard_encoder_backend_info',
      help: 'The TensorFlow backend in use (value 1)',
      labelNames: ['backend'],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'faceshard_encoder_jobs_total',
      help: 'Work-queue jobs handled, by outcome (done, retried, timed_out, gave_up, duplicate, malformed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    queueBacklog: new Gauge({
      name: 'faceshard_encoder_queue_backlog',
      help: 'Encode jobs waiting or in progress in the shared work queue',
      registers: [registry],
    }),
  };
}
