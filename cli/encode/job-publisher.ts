import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, KvWatchInclude } from 'nats';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { DatasetReadError, openDataset } from '../../libs/image-source/index.js';
import { encodeJobNames, JOB_HEADER, type DoneMark, type JobOptions } from '../../libs/protocol/encode-jobs.js';
import { type SkippedImage, type EncodeSummary, formatBytes } from '../../libs/face-encoder/index.js';
import { doneKey, openDoneMarks, parseMark } from '../../services/encoder/done-marks.js';
import { ensureJobStream } from '../../libs/nats/cluster/job-stream.js';
import { FaceshardError } from '../../libs/nats/client/errors.js';
import { personFromPath, type PersonSource } from '../../libs/persons/index.js';
import { submitJob } from './job-submit.js';
import type { Progress } from './progress.js';

/**
 * `faceshard encode PATH --queue`: one JetStream job per image, then wait until workers
 * report every image done.
 *
 * How image bytes reach remote workers: IN THE JOB MESSAGE. A worker then needs nothing
 * but NATS: no shared volume (which on Kubernetes means ReadWriteMany storage mounted in
 * every encoder pod, and the zip readable at the same path everywhere), and no second
 * transfer step (the Object Store would chunk and store each image, then the job would
 * point at it, twice the round trips for no gain at this size). A redelivered job carries
 * its image again, and the work-queue stream deletes each image once its job is acked, so
 * the stream holds only the backlog, which this publisher bounds (`maxBacklog` jobs in
 * flight). The cost: an image must fit the server's max_payload (1 MB by default; the
 * Kaggle set averages ~400 KB, a 512x512 JPEG is 30-80 KB). A larger image is skipped and
 * named; raise max_payload (up to 64 MB) in nats-server's config, or encode without --queue.
 */

export interface PublishSettings extends JobOptions {
  resume?: boolean;
  /** The dataset's id prefix: ids `<idPrefix>/<path>#<face>`, and the dataset its done marks belong to. */
  idPrefix?: string;
  /** Once aborted: no new job goes out; jobs out already are waited for, at most `stopWaitMs`. */
  stop?: AbortSignal;
  /** Default 25 s (the CLI gives up at 30). */
  stopWaitMs?: number;
  progress?: Progress;
  /** Jobs queued but not yet done, at most. Default 1000. */
  maxBacklog?: number;
  /** The person of each image's faces (a job header the worker puts in meta.person). */
  person?: PersonSource;
}

/** `stillQueued`: jobs out but not done when an interrupted run stopped waiting (workers will still do them). */
export async function publishEncodeJobs(
  location: string,
  client: FaceshardClient,
  settings: PublishSettings,
): Promise<EncodeSummary & { rejected: string[]; stillQueued: number }> {
  const started = performance.now();
  const { nc, subjects } = client;
  const names = encodeJobNames(subjects);
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  await ensureJobStream(nc, names);
  const dataset = settings.idPrefix ?? '';
  const marks = await openDoneMarks(nc, subjects, dataset);
  const alreadyDone = settings.resume ? await marks.loadDonePaths() : undefined;
  const run = randomUUID();
  const options: JobOptions = {
    ...(settings.detector ? { detector: settings.detector } : {}),
    ...(settings.minScore !== undefined ? { minScore: settings.minScore } : {}),
    ...(settings.minFaceSize !== undefined ? { minFaceSize: settings.minFaceSize } : {}),
    ...(settings.maxFaces !== undefined ? { maxFaces: settings.maxFaces } : {}),
    ...(settings.thumbnails === false ? { thumbnails: false } : {}),
  };
  const maxBacklog = settings.maxBacklog ?? 1000;

  // Watch this run's done marks before the first job goes out, so none is missed.
  const finished = new Map<string, DoneMark>();
  let wake: (() => void) | undefined;
  const watch = await marks.kv.watch({ key: marks.keyFilter, include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true });
  const watching = (async () => {
    for await (const entry of watch) {
      const mark = parseMark(entry.value);
      if (!mark || !marks.owns(mark) || mark.run !== run || finished.has(mark.path)) continue;
      finished.set(mark.path, mark);
      wake?.();
    }
  })();
  const changed = () => new Promise<void>((resolve) => (wake = resolve));

  const source = await openDataset(location);
  const skipped: SkippedImage[] = [];
  const published = new Set<string>();
  let resumed = 0;
  let total = 0;
  const report = () => settings.progress?.update(finished.size + skipped.length + resumed, total);
  let lastProgress = { done: 0, at: performance.now() };
  /** Waits `ms` (a second) or until a job is done; says so when nothing has moved for 30 s and no encoder runs. */
  const waitForWorkers = async (ms = 1000) => {
    await changedOrTimeout(changed(), ms);
    report();
    if (finished.size !== lastProgress.done) lastProgress = { done: finished.size, at: performance.now() };
    else if (performance.now() - lastProgress.at > 30_000) {
      // Jobs wait safely in the stream, but a person should know why nothing moves.
      lastProgress.at = performance.now();
      const encoders = (await client.status().catch(() => undefined))?.encoders.length;
      if (encoders === 0)
        process.stderr.write(
          `no encoder is taking jobs: start one (faceshard encoder, or the encoder Deployment); ${published.size - finished.size} job(s) wait in ${names.stream}\n`,
        );
    }
  };
  const stop = settings.stop;
  let stopWaitingAt = Infinity;
  stop?.addEventListener('abort', () => {
    stopWaitingAt = performance.now() + (settings.stopWaitMs ?? 25_000);
    wake?.();
  });
  const unfinished = () => [...published].some((p) => !finished.has(p));
  try {
    const items = await source.list();
    total = items.length;
    const payloadLimit = (nc.info?.max_payload ?? 1024 * 1024) - 2048;
    for (const item of items) {
      if (stop?.aborted) break;
      if (item.refused) {
        skipped.push({ path: item.path, reason: item.refused, kind: 'refused' });
        continue;
      }
      if (alreadyDone?.has(item.path)) {
        resumed++;
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = await source.read(item);
      } catch (error) {
        if (!(error instanceof DatasetReadError)) throw error;
        skipped.push({ path: item.path, reason: error.message, kind: error.kind });
        continue;
      }
      if (bytes.length + Buffer.byteLength(item.path) > payloadLimit) {
        const reason = `image is ${formatBytes(bytes.length)}, too big for a job message (NATS max_payload ${formatBytes(payloadLimit + 2048)}): raise max_payload or encode without --queue`;
        skipped.push({ path: item.path, reason, kind: 'too_large' });
        continue;
      }
      while (published.size - finished.size >= maxBacklog && !stop?.aborted) await waitForWorkers();
      if (stop?.aborted) break;
      const h = natsHeaders();
      h.set(JOB_HEADER.path, item.path);
      h.set(JOB_HEADER.run, run);
      if (dataset) h.set(JOB_HEADER.dataset, dataset);
      h.set(JOB_HEADER.options, JSON.stringify(options));
      const person = settings.person ? personFromPath(item.path, settings.person) : undefined;
      if (person?.ok) h.set(JOB_HEADER.person, person.person);
      // The queue's bound is shared with every other publisher: when it is full, wait for
      // encoders to make room and publish the same job again (same msgID: stored once).
      let waitingSince: number | undefined;
      let queued = false;
      while (!queued && !stop?.aborted) {
        try {
          await submitJob(js, jsm, names, bytes, h, `${run}.${doneKey(dataset, item.path)}`);
          queued = true;
        } catch (error) {
          if (!(error instanceof FaceshardError && error.code === 'busy')) throw error;
          if (waitingSince === undefined) settings.progress?.note(`waiting: ${error.message}`);
          waitingSince ??= performance.now();
          await waitForWorkers(error.retryAfterMs);
        }
      }
      if (!queued) break;
      if (waitingSince !== undefined)
        settings.progress?.note(`the encode queue took jobs again after ${((performance.now() - waitingSince) / 1000).toFixed(1)} s of waiting`);
      published.add(item.path);
      report();
    }
    while (unfinished() && performance.now() < stopWaitingAt) await waitForWorkers();
  } finally {
    watch.stop();
    await watching.catch(() => undefined);
    await source.close();
    settings.progress?.finish();
  }

  let faces = 0;
  const rejected: string[] = [];
  const backends = new Set<string>();
  const localSkips = skipped.length;
  let stillQueued = 0;
  for (const path of published) {
    const mark = finished.get(path);
    if (!mark) {
      stillQueued++;
      continue;
    }
    faces += mark.faces;
    if (mark.skipped) skipped.push({ path, reason: mark.skipped, kind: (mark.skipKind ?? 'corrupt') as SkippedImage['kind'] });
    rejected.push(...(mark.rejected ?? []));
    if (mark.backend) backends.add(mark.backend);
  }
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    images: total,
    faces,
    skipped,
    resumed,
    seconds: (performance.now() - started) / 1000,
    backend: ([...backends].sort().join(',') || 'none') as EncodeSummary['backend'],
    rejected,
    imagesDone: finished.size + localSkips,
    interrupted: finished.size + localSkips + resumed < total,
    stillQueued,
  };
}

async function changedOrTimeout(changed: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
