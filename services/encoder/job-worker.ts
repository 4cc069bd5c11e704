import type { JsMsg, NatsConnection } from 'nats';
import { requestJson } from '../../libs/nats/client/request.js';
import type { Logger } from '../../libs/observability/logger.js';
import { encodeJobNames, JOB_HEADER, JobOptions } from '../../libs/protocol/encode-jobs.js';
import { IngestReply } from '../../libs/protocol/ingest.js';
import type { Subjects } from '../../libs/protocol/subjects.js';
import { prefixedId } from '../../libs/protocol/id-prefix.js';
import { parsePerson } from '../../libs/persons/index.js';
import { NO_FACE_REASON, type ImageEncodeOptions, type ImageEncoder } from '../../libs/face-encoder/index.js';
import { storeFaceThumbnails, type FaceBox } from '../../libs/face-thumbnail/index.js';
import { ThumbnailStore } from '../../libs/nats/thumbnail-store/index.js';
import { openDoneMarks, type DoneMarks } from './done-marks.js';
import { ensureJobStream } from '../../libs/nats/cluster/job-stream.js';
import { ensureJobConsumer } from './job-stream.js';
import type { encoderMetrics } from './metrics.js';

/**
 * Takes encode jobs from the shared work queue: encode the image, ingest its faces through
 * `faces.ingest`, record it done, and only then ack. A worker that dies mid-image never
 * acks, so JetStream hands the job to another worker after ack_wait; while an image is being
 * worked on, `working()` heartbeats keep a slow image from being handed out twice.
 *
 * Poison jobs: an image that crashes or hangs every worker that takes it would otherwise be
 * redelivered forever. Each job gets `maxDeliver` deliveries; the delivery that reaches the
 * limit is not tried again but recorded done as skipped ("gave up after N deliveries"), and
 * terminated. A hang becomes a redelivery once the encode outlives `jobTimeoutSeconds`.
 */

export interface JobWorkerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  encoder: ImageEncoder;
  /** The service's own settings; a job's options override them. */
  defaults: ImageEncodeOptions;
  ackWaitSeconds: number;
  /** Deliveries of one job at most; the last one records it as skipped (see above). */
  maxDeliver: number;
  /** Seconds an encode may take before the job is left to be redelivered. */
  jobTimeoutSeconds: number;
  /** Store a thumbnail of every face stored (default), unless a job's options say `thumbnails: false`. */
  thumbnails?: boolean;
  /** Jobs worked on at once (the encoder's capacity is a good number). */
  lanes: number;
  log: Logger;
  metrics: ReturnType<typeof encoderMetrics>;
}

const encoder = new TextEncoder();

export const GAVE_UP_KIND = 'gave_up';
/** Why a poison job is skipped: `tried` deliveries were taken and none finished. */
export function gaveUpReason(tried: number): string {
  return `gave up after ${tried} deliveries: the encoder crashed, hung or failed on it every time`;
}

/** `stuckLanes`: lanes waiting on an encode that outlived the job timeout (hung images). */
export async function startJobWorker(options: JobWorkerOptions): Promise<{ stop(): Promise<void>; stuckLanes(): number; lanes: number }> {
  const { nc, subjects, log, metrics } = options;
  const names = encodeJobNames(subjects);
  await ensureJobStream(nc, names);
  await ensureJobConsumer(nc, names, { ackWaitSeconds: options.ackWaitSeconds, maxDeliver: options.maxDeliver });
  // One dataset's marks per job's dataset (its id prefix), opened once each.
  const marksByDataset = new Map<string, Promise<DoneMarks>>();
  const marksOf = (dataset: string) => {
    let marks = marksByDataset.get(dataset);
    if (!marks) marksByDataset.set(dataset, (marks = openDoneMarks(nc, subjects, dataset)));
    marks.catch(() => marksByDataset.delete(dataset));
    return marks;
  };
  const consumer = await nc.jetstream().consumers.get(names.stream, names.consumer);
  const jsm = await nc.jetstreamManager();
  let stopping = false;
  let stopped!: () => void;
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve));
  // The shared consumer's limit can be lowered by another encoder started later: give up at
  // the lower one, or JetStream would stop delivering a job that is never marked.
  let maxDeliver = options.maxDeliver;

  const backlogTimer = setInterval(() => {
    jsm.consumers
      .info(names.stream, names.consumer)
      .then((info) => {
        metrics.queueBacklog.set(info.num_pending + info.num_ack_pending);
        const limit = info.config.max_deliver ?? -1;
        maxDeliver = limit > 0 ? Math.min(options.maxDeliver, limit) : options.maxDeliver;
      })
      .catch(() => undefined);
  }, 5000);

  /** Best effort: the faces are stored already; a thumbnail not stored is logged and counted. */
  const storeThumbnails = async (photo: Uint8Array, faces: Array<{ id: string; box: FaceBox }>) => {
    const { stored, failures } = await storeFaceThumbnails(() => ThumbnailStore.of(nc, subjects), photo, faces);
    metrics.thumbnails.inc(stored);
    if (failures.length) {
      metrics.thumbnailFailures.inc(failures.length);
      log.warn('thumbnails not stored', { failures });
    }
  };

  /** Works on one job; resolves to the encode still running when it timed out (the lane waits for it). */
  const work = async (msg: JsMsg): Promise<{ stillEncoding: Promise<unknown> } | undefined> => {
    const heartbeat = setInterval(() => msg.working(), Math.max(250, (options.ackWaitSeconds * 1000) / 3));
    try {
      const path = msg.headers?.get(JOB_HEADER.path) ?? '';
      const run = msg.headers?.get(JOB_HEADER.run) ?? '';
      const dataset = msg.headers?.get(JOB_HEADER.dataset) ?? '';
      const parsed = path && run ? JobOptions.safeParse(safeJson(msg.headers?.get(JOB_HEADER.options) ?? '{}')) : undefined;
      const personHeader = msg.headers?.get(JOB_HEADER.person) ?? '';
      const person = personHeader ? parsePerson(personHeader) : undefined;
      if (!parsed?.success || person?.ok === false) {
        // Not a job we can ever do: redelivering it would only loop.
        log.warn('malformed encode job dropped', { seq: msg.seq, path });
        metrics.jobs.labels({ outcome: 'malformed' }).inc();
        msg.term();
        return;
      }
      const marks = await marksOf(dataset);
      const earlier = await marks.get(path);
      if (earlier?.run === run) {
        // Done by a worker whose ack was lost (it died between the mark and the ack).
        await msg.ackAck();
        metrics.jobs.labels({ outcome: 'duplicate' }).inc();
        return;
      }
      const deliveries = msg.info.deliveryCount;
      if (deliveries >= maxDeliver) {
        const skipped = gaveUpReason(deliveries - 1);
        log.warn('encode job given up', { seq: msg.seq, path, deliveries });
        await markWithRetries(() => marks.mark({ path, run, faces: 0, deliveries, skipped, skipKind: GAVE_UP_KIND }));
        msg.term();
        metrics.jobs.labels({ outcome: 'gave_up' }).inc();
        return;
      }
      const stop = metrics.seconds.startTimer();
      const { thumbnails = options.thumbnails ?? true, ...encodeOptions } = parsed.data;
      const encoding = options.encoder.encode(msg.data, { ...options.defaults, ...encodeOptions });
      const result = await withTimeout(encoding, options.jobTimeoutSeconds * 1000);
      if (result === TIMED_OUT) {
        // Hung (or far too slow): no more heartbeats and no ack, so after ack_wait JetStream
        // hands it out again, and the delivery count moves it towards the limit above.
        log.warn('encode job timed out; it will be redelivered', { seq: msg.seq, path, seconds: options.jobTimeoutSeconds });
        metrics.jobs.labels({ outcome: 'timed_out' }).inc();
        return { stillEncoding: encoding };
      }
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
        const batch = result.faces.map((f, i) => ({
          id: prefixedId(dataset, `${path}#${i}`),
          vector: Array.from(f.vector),
          meta: { path, box: f.box, score: f.score, ...(person?.ok ? { person: person.person } : {}) },
        }));
        const reply = await requestJson(nc, subjects.ingest, encoder.encode(JSON.stringify({ faces: batch })), IngestReply, { timeoutMs: 60_000 });
        for (const r of reply.rejected) rejected.push(`${batch[r.index]?.id}: ${r.reason}`);
        faces = reply.accepted;
        metrics.faces.inc(faces);
        if (thumbnails) {
          const refused = new Set(reply.rejected.map((r) => r.index));
          await storeThumbnails(
            msg.data,
            batch.filter((_, i) => !refused.has(i)).map((f) => ({ id: f.id, box: f.meta.box })),
          );
        }
      }
      await marks.mark({
        path,
        run,
        faces,
        deliveries,
        backend: options.encoder.backend,
        ...(skipped ? { skipped, skipKind } : {}),
        ...(rejected.length ? { rejected } : {}),
      });
      await msg.ackAck();
      metrics.jobs.labels({ outcome: 'done' }).inc();
    } catch (error) {
      // The encoder failed on it (a worker died), or it was not the image's fault (ingest timed
      // out, coordinator down, NATS hiccup): try again later, within maxDeliver.
      log.warn('encode job failed; it will be redelivered', { seq: msg.seq, error: error instanceof Error ? error.message : String(error) });
      metrics.jobs.labels({ outcome: 'retried' }).inc();
      // Backing off gives a passing outage time to end before the job reaches maxDeliver.
      msg.nak(Math.min(30_000, 2000 * 2 ** Math.max(0, msg.info.deliveryCount - 1)));
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
      const busy = msg ? await work(msg) : undefined;
      // A timed-out encode still holds its place in the encoder: take no more until it ends.
      if (busy) {
        stuck++;
        await Promise.race([busy.stillEncoding.catch(() => undefined), whenStopped]);
        stuck--;
      }
    }
  };
  let stuck = 0;
  const lanes = Array.from({ length: Math.max(1, options.lanes) }, lane);
  log.info('taking encode jobs', { stream: names.stream, consumer: names.consumer, ackWaitSeconds: options.ackWaitSeconds, lanes: lanes.length });

  return {
    stuckLanes: () => stuck,
    lanes: lanes.length,
    async stop() {
      stopping = true;
      stopped();
      clearInterval(backlogTimer);
      await Promise.all(lanes);
    },
  };
}

const TIMED_OUT = Symbol('timed out');

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The give-up mark is the job's only record once it is terminated: try it a few times. */
async function markWithRetries(mark: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await mark();
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
