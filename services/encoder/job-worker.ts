import type { JsMsg, NatsConnection } from 'nats';
import { requestJson } from '../../libs/client/request.js';
import type { Logger } from '../../libs/observability/logger.js';
import { encodeJobNames, JOB_HEADER, JobOptions } from '../../libs/protocol/encode-jobs.js';
import { IngestReply } from '../../libs/protocol/ingest.js';
import type { Subjects } from '../../libs/protocol/subjects.js';
import { openDoneMarks } from './done-marks.js';
import { NO_FACE_REASON } from './encode-dataset.js';
import type { ImageEncodeOptions, ImageEncoder } from './encode-image.js';
import { ensureJobConsumer, ensureJobStream } from './job-stream.js';
import type { encoderMetrics } from './metrics.js';

/**
 * Takes encode jobs from the shared work queue: encode the image, ingest its faces through
 * `faces.ingest`, record it done, and only then ack. A worker that dies mid-image never
 * acks, so JetStream hands the job to another worker after ack_wait; while an image is being
 * worked on, `working()` heartbeats keep a slow image from being handed out twice.
 */

export interface JobWorkerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  encoder: ImageEncoder;
  /** The service's own settings; a job's options override them. */
  defaults: ImageEncodeOptions;
  ackWaitSeconds: number;
  /** Jobs worked on at once (the encoder's capacity is a good number). */
  lanes: number;
  log: Logger;
  metrics: ReturnType<typeof encoderMetrics>;
}

const encoder = new TextEncoder();

export async function startJobWorker(options: JobWorkerOptions): Promise<{ stop(): Promise<void> }> {
  const { nc, subjects, log, metrics } = options;
  const names = encodeJobNames(subjects);
  await ensureJobStream(nc, names);
  await ensureJobConsumer(nc, names, options.ackWaitSeconds);
  const marks = await openDoneMarks(nc, subjects);
  const consumer = await nc.jetstream().consumers.get(names.stream, names.consumer);
  const jsm = await nc.jetstreamManager();
  let stopping = false;

  const backlogTimer = setInterval(() => {
    jsm.consumers
      .info(names.stream, names.consumer)
      .then((info) => metrics.queueBacklog.set(info.num_pending + info.num_ack_pending))
      .catch(() => undefined);
  }, 5000);

  const work = async (msg: JsMsg) => {
    const heartbeat = setInterval(() => msg.working(), Math.max(250, (options.ackWaitSeconds * 1000) / 3));
    try {
      const path = msg.headers?.get(JOB_HEADER.path) ?? '';
      const run = msg.headers?.get(JOB_HEADER.run) ?? '';
      const parsed = path && run ? JobOptions.safeParse(safeJson(msg.headers?.get(JOB_HEADER.options) ?? '{}')) : undefined;
      if (!parsed?.success) {
        // Not a job we can ever do: redelivering it would only loop.
        log.warn('malformed encode job dropped', { seq: msg.seq, path });
        metrics.jobs.labels({ outcome: 'malformed' }).inc();
        msg.term();
        return;
      }
      const earlier = await marks.get(path);
      if (earlier?.run === run) {
        // Done by a worker whose ack was lost (it died between the mark and the ack).
        await msg.ackAck();
        metrics.jobs.labels({ outcome: 'duplicate' }).inc();
        return;
      }
      const stop = metrics.seconds.startTimer();
      const result = await options.encoder.encode(msg.data, { ...options.defaults, ...parsed.data });
      stop();
      metrics.images.inc();
      let faces = 0;
      let skipped: string | undefined;
      let skipKind: string | undefined;
      const rejected: string[] = [];
      if (!result.ok) {
        [skipped, skipKind] = [result.reason, result.kind];
        metrics.errors.labels({ reason: result.kind }).inc();
      } else if (result.faces.length === 0) {
        [skipped, skipKind] = [NO_FACE_REASON, 'no_face'];
      } else {
        const batch = result.faces.map((f, i) => ({ id: `${path}#${i}`, vector: Array.from(f.vector), meta: { path, box: f.box, score: f.score } }));
        const reply = await requestJson(nc, subjects.ingest, encoder.encode(JSON.stringify({ faces: batch })), IngestReply, { timeoutMs: 60_000 });
        for (const r of reply.rejected) rejected.push(`${batch[r.index]?.id}: ${r.reason}`);
        faces = reply.accepted;
        metrics.faces.inc(faces);
      }
      await marks.mark({
        path,
        run,
        faces,
        deliveries: msg.info.redeliveryCount,
        backend: options.encoder.backend,
        ...(skipped ? { skipped, skipKind } : {}),
        ...(rejected.length ? { rejected } : {}),
      });
      await msg.ackAck();
      metrics.jobs.labels({ outcome: 'done' }).inc();
    } catch (error) {
      // Not the image's fault (ingest timed out, coordinator down, NATS hiccup): try again later.
      log.warn('encode job failed; it will be redelivered', { seq: msg.seq, error: error instanceof Error ? error.message : String(error) });
      metrics.jobs.labels({ outcome: 'retried' }).inc();
      msg.nak(2000);
    } finally {
      clearInterval(heartbeat);
    }
  };

  const lane = async () => {
    while (!stopping) {
      let msg: JsMsg | null;
      try {
        msg = await consumer.next({ expires: 2000 });
      } catch (error) {
        if (stopping) return;
        log.warn('taking an encode job failed', { error: error instanceof Error ? error.message : String(error) });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (msg) await work(msg);
    }
  };
  const lanes = Array.from({ length: Math.max(1, options.lanes) }, lane);
  log.info('taking encode jobs', { stream: names.stream, consumer: names.consumer, ackWaitSeconds: options.ackWaitSeconds, lanes: lanes.length });

  return {
    async stop() {
      stopping = true;
      clearInterval(backlogTimer);
      await Promise.all(lanes);
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

