#!/usr/bin/env node
import os from 'node:os';
import { SERVICE_VERSION } from '../../libs/config/service-version.js';
import { ENCODER_QUEUE, ENCODER_SERVICE, ProtocolError, subjectsFor, type EncodeReply } from '../../libs/protocol/index.js';
import { runMain } from '../../libs/service/lifecycle.js';
import { respondJson } from '../../libs/service/respond.js';
import { ServiceRuntime } from '../../libs/service/runtime.js';
import {
  type BackendName,
  type DetectorName,
  type ImageEncodeOptions,
  type ImageEncoder,
  inProcessEncoder,
  startWorkerPool,
  type WorkerMode,
} from '../../libs/face-encoder/index.js';
import { loadEncoderConfig } from './config.js';
import { startJobWorker } from './job-worker.js';
import { encoderMetrics } from './metrics.js';
import { requestTurns } from './request-turns.js';

/**
 * The encoder service:
 * - `faces.encode` (queue group `encoder`) takes an image file as the message body and
 *   answers its faces' 128-d encodings (what a query needs);
 * - it takes jobs from the encode work queue (`faceshard encode PATH --queue`), encodes
 *   them, ingests the faces and acks each job after the ingest was acknowledged.
 * Models load once per TensorFlow engine: on the main thread (ENCODER_WORKERS=1) or in
 * each of ENCODER_WORKERS worker threads.
 */
runMain('encoder', async () => {
  const config = loadEncoderConfig();
  const subjects = subjectsFor(config.SUBJECT_PREFIX);
  let ready = false;
  // Unhealthy once every job lane holds a hung encode: nothing else will get done here, and
  // a liveness probe restarting the pod frees it (the jobs went back to the queue already).
  let jobLanesAllStuck = () => false;
  const runtime = await ServiceRuntime.start('encoder', config, { healthy: () => !jobLanesAllStuck(), ready: () => ready });
  const { log, ops } = runtime;
  const metrics = encoderMetrics(runtime.registry);

  const backendChoice = config.ENCODER_BACKEND as BackendName | undefined;
  const started = performance.now();
  const encoder: ImageEncoder =
    config.ENCODER_WORKERS > 1
      ? await startWorkerPool({ workers: config.ENCODER_WORKERS, mode: config.ENCODER_WORKER_MODE as WorkerMode, backend: backendChoice })
      : await inProcessEncoder({ backend: backendChoice });
  metrics.backend.labels({ backend: encoder.backend }).set(1);
  log.info('face-api loaded', { backend: encoder.backend, workers: config.ENCODER_WORKERS, seconds: (performance.now() - started) / 1000 });

  const defaults: ImageEncodeOptions = {
    detector: config.ENCODER_DETECTOR as DetectorName,
    minScore: config.MIN_SCORE,
    minFaceSize: config.MIN_FACE_SIZE,
    maxFaces: config.MAX_FACES_PER_IMAGE,
    maxPixels: config.MAX_PIXELS,
  };

  const nc = await runtime.connect('faceshard-encoder');
  const service = await nc.services.add({
    name: ENCODER_SERVICE,
    version: SERVICE_VERSION,
    description: 'faceshard encoder: image bytes in, 128-d face encodings out; encode work-queue worker',
    queue: ENCODER_QUEUE,
    metadata: { backend: encoder.backend, pid: String(process.pid), host: os.hostname(), httpPort: String(ops.port), workers: String(config.ENCODER_WORKERS) },
  });

  const inFlight = new Set<Promise<unknown>>();
  // Requests wait their turn here rather than all decoding at once (a 40 MP photo decodes
  // to 120 MB): at most `capacity` are being worked on, ENCODE_REQUESTS_WAITING wait.
  const turns = requestTurns(encoder.capacity, config.ENCODE_REQUESTS_WAITING);
  let recentEncodeMs = 1000; // a moving average: how long a turn takes, for the retry hint
  service.addEndpoint('encode', {
    subject: subjects.encode,
    handler: (_err, msg) => {
      metrics.backlog.inc();
      const job = respondJson(msg, log, async (): Promise<EncodeReply> => {
        const turn = turns.take();
        if (!turn) {
          metrics.backlog.dec();
          metrics.errors.labels({ reason: 'busy' }).inc();
          const retryAfterMs = Math.ceil(((turns.waiting() + 1) / encoder.capacity) * recentEncodeMs);
          throw new ProtocolError(
            'busy',
            `this encoder has ${turns.waiting()} images waiting for its ${encoder.capacity} encode slots, its bound (ENCODE_REQUESTS_WAITING): send fewer at once or start more encoders`,
            retryAfterMs,
          );
        }
        const release = await turn;
        const stop = metrics.seconds.startTimer();
        const started = performance.now();
        try {
          const result = await encoder.encode(msg.data, defaults);
          recentEncodeMs = 0.8 * recentEncodeMs + 0.2 * (performance.now() - started);
          if (!result.ok) {
            metrics.errors.labels({ reason: result.kind }).inc();
            throw new ProtocolError('bad_request', result.reason);
          }
          metrics.images.inc();
          metrics.faces.inc(result.faces.length);
          return {
            faces: result.faces.map((f) => ({ box: f.box, score: f.score, vector: Array.from(f.vector) })),
            backend: encoder.backend,
            tookMs: stop() * 1000,
          };
        } finally {
          release();
          metrics.backlog.dec();
        }
      });
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
    },
  });

  const jobs = config.ENCODER_JOBS
    ? await startJobWorker({
        nc,
        subjects,
        encoder,
        defaults,
        ackWaitSeconds: config.ENCODE_ACK_WAIT_S,
        maxDeliver: config.ENCODE_MAX_DELIVER,
        jobTimeoutSeconds: config.ENCODE_JOB_TIMEOUT_S,
        thumbnails: config.ENCODER_THUMBNAILS,
        lanes: encoder.capacity,
        log,
        metrics,
      })
    : undefined;
  if (jobs) jobLanesAllStuck = () => jobs.stuckLanes() >= jobs.lanes;

  // Within DRAIN_TIMEOUT_S (the runtime's default), like the other services.
  runtime.drainOnTerminate([
    async () => {
      ready = false;
      await service.stop();
      await jobs?.stop();
      await Promise.allSettled(inFlight);
      await encoder.close();
    },
    () => nc.drain(),
    () => ops.close(),
  ]);
  ready = true;
  log.info('ready', {
    subject: subjects.encode,
    queue: ENCODER_QUEUE,
    backend: encoder.backend,
    jobs: config.ENCODER_JOBS,
    thumbnails: config.ENCODER_THUMBNAILS,
  });
});
