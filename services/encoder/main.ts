#!/usr/bin/env node
import os from 'node:os';
import { connectNats } from '../../libs/cluster/connect.js';
import { startOpsServer } from '../../libs/observability/http.js';
import { createLogger } from '../../libs/observability/logger.js';
import { createRegistry } from '../../libs/observability/metrics.js';
import { ENCODER_QUEUE, ENCODER_SERVICE, ProtocolError, subjectsFor, type EncodeReply } from '../../libs/protocol/index.js';
import { onTerminate, runMain } from '../../libs/service/lifecycle.js';
import { respondJson } from '../../libs/service/respond.js';
import { loadFaceApi, type BackendName } from './backend.js';
import { loadEncoderConfig } from './config.js';
import { ImageError } from './decode-image.js';
import { encodeImageBytes } from './encode-directory.js';
import { encoderMetrics } from './metrics.js';

/**
 * The encoder service: `faces.encode` (queue group `encoder`) takes an image file as
 * the message body and answers its faces' 128-d encodings. Models load once; images
 * are encoded one at a time (face-api uses this process's one TensorFlow engine).
 */
runMain('encoder', async () => {
  const config = loadEncoderConfig();
  const log = createLogger({ service: 'encoder', pid: process.pid }, config.LOG_LEVEL);
  const subjects = subjectsFor(config.SUBJECT_PREFIX);
  const registry = createRegistry('encoder');
  const metrics = encoderMetrics(registry);
  let ready = false;
  const ops = await startOpsServer(registry, { healthy: () => true, ready: () => ready }, config.HTTP_PORT, config.HTTP_HOST);

  const backendChoice = config.ENCODER_BACKEND as BackendName | undefined;
  const api = await loadFaceApi({ backend: backendChoice });
  metrics.backend.labels({ backend: api.backend }).set(1);
  log.info('face-api loaded', { backend: api.backend, skipped: api.skipped, seconds: api.loadSeconds });

  const nc = await connectNats(config.NATS_URL, 'faceshard-encoder', log);
  const service = await nc.services.add({
    name: ENCODER_SERVICE,
    version: '0.1.0',
    description: 'faceshard encoder: image bytes in, 128-d face encodings out',
    queue: ENCODER_QUEUE,
    metadata: { backend: api.backend, pid: String(process.pid), host: os.hostname(), httpPort: String(ops.port) },
  });

  let queue: Promise<unknown> = Promise.resolve();
  const options = { backend: api.backend, minScore: config.MIN_SCORE, maxPixels: config.MAX_PIXELS };
  service.addEndpoint('encode', {
    subject: subjects.encode,
    handler: (_err, msg) => {
      metrics.backlog.inc();
      const job = queue.then(() =>
        respondJson(msg, log, async (): Promise<EncodeReply> => {
          metrics.backlog.dec();
          const stop = metrics.seconds.startTimer();
          try {
            const faces = await encodeImageBytes(msg.data, options);
            metrics.images.inc();
            metrics.faces.inc(faces.length);
            return { faces: faces.map((f) => ({ box: f.box, score: f.score, vector: Array.from(f.vector) })), backend: api.backend, tookMs: stop() * 1000 };
          } catch (err) {
            if (err instanceof ImageError) {
              metrics.errors.labels({ reason: err.kind }).inc();
              throw new ProtocolError('bad_request', err.message);
            }
            throw err;
          }
        }),
      );
      queue = job.catch(() => undefined);
    },
  });

  onTerminate(log, [
    async () => {
      ready = false;
      await service.stop();
      await queue;
    },
    () => nc.drain(),
    () => ops.close(),
  ]);
  ready = true;
  log.info('ready', { subject: subjects.encode, queue: ENCODER_QUEUE, backend: api.backend });
});
