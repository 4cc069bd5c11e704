import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { connect, headers as natsHeaders, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import sharp from 'sharp';
import { FaceshardError } from '../../libs/nats/client/errors.js';
import { initializeCluster } from '../../libs/nats/cluster/initialize.js';
import { encodeJobNames, JOB_HEADER } from '../../libs/protocol/encode-jobs.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { createLogger } from '../../libs/observability/logger.js';
import { createRegistry } from '../../libs/observability/metrics.js';
import type { ImageEncoder } from '../../libs/face-encoder/index.js';
import { openDoneMarks } from '../../services/encoder/done-marks.js';
import { submitJob } from '../../cli/encode/job-submit.js';
import { startJobWorker } from '../../services/encoder/job-worker.js';
import { encoderMetrics } from '../../services/encoder/metrics.js';
import { removeDir, tempDir, withNatsServer, type NatsTestServer } from '../helpers/nats.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));
const subjects = subjectsFor('faces');
const names = encodeJobNames(subjects);
const BOUND = { maxJobs: 3, maxBytes: 1024 * 1024 };
const IMAGES = 8;

/** An encoder that takes `ms` an image and finds no face: the queue's behaviour, not face-api's, is under test. */
function slowEncoder(ms: number): ImageEncoder & { encoded: number } {
  const encoder = {
    backend: 'cpu' as const,
    capacity: 1,
    encoded: 0,
    async encode() {
      await new Promise((r) => setTimeout(r, ms));
      encoder.encoded++;
      return { ok: true as const, faces: [] };
    },
    tensorCounts: async () => [0],
    close: async () => undefined,
  };
  return encoder;
}

function jobHeaders(jobPath: string, run: string) {
  const h = natsHeaders();
  h.set(JOB_HEADER.path, jobPath);
  h.set(JOB_HEADER.run, run);
  h.set(JOB_HEADER.dataset, 'people');
  h.set(JOB_HEADER.options, '{}');
  return h;
}

describe('the encode queue is bounded: a full queue answers busy at once, the CLI waits, nothing queued is lost', { timeout: 60_000 }, () => {
  let nats: NatsTestServer;
  let nc: NatsConnection;
  let work: string;
  let worker: Awaited<ReturnType<typeof startJobWorker>> | undefined;
  before(async () => {
    nats = await withNatsServer();
    nc = await connect({ servers: nats.url });
    work = await tempDir('faceshard-encode-bound-');
  });
  after(async () => {
    await worker?.stop();
    await nc?.close();
    await nats?.cleanup();
    if (work) await removeDir(work);
  });

  test('an existing queue without a bound gets one; one holding more than the bound is left as it is; no job is lost', async () => {
    const legacy = subjectsFor('legacy');
    const legacyNames = encodeJobNames(legacy);
    const jsm = await nc.jetstreamManager();
    // What ensureJobStream created before the queue had a bound.
    await jsm.streams.add({ name: legacyNames.stream, subjects: [legacyNames.subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    for (let i = 0; i < 5; i++) await nc.jetstream().publish(legacyNames.subject, new Uint8Array(100));

    const tooSmall = await initializeCluster(nc, legacy, { shards: 1, jobQueueLimits: BOUND });
    assert.match(tooSmall.jobQueue?.notAdjusted ?? '', /holds 5 job\(s\).*more than the bound of 3 jobs.*left unchanged, since lowering it would drop jobs/);
    let info = await jsm.streams.info(legacyNames.stream);
    assert.deepEqual([info.config.max_msgs, info.state.messages], [-1, 5], 'unchanged, every job still there');

    const roomy = await initializeCluster(nc, legacy, { shards: 1, jobQueueLimits: { maxJobs: 8, maxBytes: 1024 * 1024 } });
    assert.deepEqual(roomy.jobQueue, { before: { maxJobs: -1, maxBytes: -1, discardNew: false }, after: { maxJobs: 8, maxBytes: 1024 * 1024 } });
    info = await jsm.streams.info(legacyNames.stream);
    assert.deepEqual([info.config.max_msgs, info.config.max_bytes, info.config.discard, info.state.messages], [8, 1024 * 1024, 'new', 5]);
    assert.deepEqual(
      (await initializeCluster(nc, legacy, { shards: 1, jobQueueLimits: { maxJobs: 8, maxBytes: 1024 * 1024 } })).jobQueue,
      undefined,
      'a second init changes nothing',
    );
  });

  test('faceshard admin init bounds an unbounded queue read from ENCODE_QUEUE_MAX_JOBS, says so, and keeps its jobs', async () => {
    const old = encodeJobNames(subjectsFor('old'));
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: old.stream, subjects: [old.subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    for (let i = 0; i < 2; i++) await nc.jetstream().publish(old.subject, new Uint8Array(100));
    const { stdout } = await run(process.execPath, [CLI, 'admin', 'init', '--shards', '1', '--nats', nats.url, '--prefix', 'old'], {
      env: { ...process.env, ENCODE_QUEUE_MAX_JOBS: '4' },
    });
    assert.match(
      stdout,
      new RegExp(
        `encode queue ${old.stream}: bound changed from no bound \\(discard old\\) to 4 jobs, 536870912 bytes \\(discard new: a publish past it is refused as busy\\)`,
      ),
    );
    const info = await jsm.streams.info(old.stream);
    assert.deepEqual([info.config.max_msgs, info.state.messages], [4, 2]);
  });

  test('publishing past the bound is refused at once with busy, saying which bound and what to do', async () => {
    await initializeCluster(nc, subjects, { shards: 1, jobQueueLimits: BOUND });
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    for (let i = 0; i < BOUND.maxJobs; i++)
      await submitJob(js, jsm, names, new Uint8Array(1000), jobHeaders(`queued${i}.jpg`, 'earlier-run'), `earlier-run.${i}`);
    const started = performance.now();
    const refused = await submitJob(js, jsm, names, new Uint8Array(1000), jobHeaders('one-too-many.jpg', 'earlier-run'), 'earlier-run.x').then(
      () => undefined,
      (error: unknown) => error,
    );
    const refusedMs = performance.now() - started;
    assert.ok(refused instanceof FaceshardError, `refused with a FaceshardError, got ${String(refused)}`);
    assert.equal(refused.code, 'busy');
    assert.equal(refused.retryAfterMs, 1000);
    assert.match(
      refused.message,
      /the encode queue FACES_ENCODE_JOBS is full \(it holds 3 of 3 jobs, .*ENCODE_QUEUE_MAX_JOBS\): wait for the encoders to take jobs, start more encoders, or raise the bound/,
    );
    assert.ok(refusedMs < 500, `refused at once, took ${refusedMs.toFixed(0)} ms`);
    assert.equal((await jsm.streams.info(names.stream)).state.messages, BOUND.maxJobs, 'the queued jobs are still there');
  });

  test('faceshard encode --queue waits while the queue is full, and finishes once an encoder drains it; every job is done', async (t) => {
    const dataset = path.join(work, 'people');
    await mkdir(dataset, { recursive: true });
    const tiny = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .jpeg()
      .toBuffer();
    for (let i = 0; i < IMAGES; i++) await writeFile(path.join(dataset, `${i}.jpg`), tiny);

    // The queue still holds the earlier test's 3 jobs: the run starts against a full queue.
    const cli = spawn(process.execPath, [CLI, 'encode', dataset, '--queue', '--nats', nats.url, '--report', path.join(work, 'report.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    const waitedFrom = Date.now();
    while (!stderr.includes('waiting:') && Date.now() - waitedFrom < 20_000) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /queued images done: waiting: the encode queue FACES_ENCODE_JOBS is full \(it holds 3 of 3 jobs/);
    await new Promise((r) => setTimeout(r, 1500)); // it keeps waiting, and does not give up
    assert.equal(cli.exitCode, null, `the CLI is still waiting\n${stdout}${stderr}`);

    // An encoder that holds one job at a time (lanes 1): its pull is bounded, so it never takes more.
    const encoder = slowEncoder(40);
    worker = await startJobWorker({
      nc,
      subjects,
      encoder,
      defaults: {},
      ackWaitSeconds: 10,
      maxDeliver: 3,
      jobTimeoutSeconds: 10,
      lanes: 1,
      log: createLogger({ service: 'test-encoder' }, 'error'),
      metrics: encoderMetrics(createRegistry('test-encoder')),
    });
    const jsm = await nc.jetstreamManager();
    let mostTaken = 0;
    let mostQueued = 0;
    const sampling = setInterval(() => {
      void Promise.all([jsm.consumers.info(names.stream, names.consumer), jsm.streams.info(names.stream)]).then(
        ([consumer, stream]) => {
          mostTaken = Math.max(mostTaken, consumer.num_ack_pending);
          mostQueued = Math.max(mostQueued, stream.state.messages);
        },
        () => undefined,
      );
    }, 20);
    const code = await exited;
    clearInterval(sampling);
    assert.equal(code, 0, stdout + stderr);
    assert.match(stderr, /the encode queue took jobs again after \d+\.\d s of waiting/);
    assert.match(stdout, new RegExp(`encoded ${IMAGES} image\\(s\\) in .*: 0 face\\(s\\) stored, ${IMAGES} without a face`));
    assert.ok(mostTaken <= 1, `the worker took at most its one lane's job at a time, saw ${mostTaken}`);
    assert.ok(mostQueued <= BOUND.maxJobs, `the queue never held more than its bound, saw ${mostQueued}`);

    // Nothing already queued was lost: the earlier run's jobs were done too.
    const marks = await openDoneMarks(nc, subjects, 'people');
    for (let i = 0; i < BOUND.maxJobs; i++) assert.equal((await marks.get(`queued${i}.jpg`))?.run, 'earlier-run', `queued${i}.jpg done`);
    assert.equal(encoder.encoded, IMAGES + BOUND.maxJobs);
    assert.equal((await jsm.streams.info(names.stream)).state.messages, 0);
    t.diagnostic(`most jobs taken by the worker at once ${mostTaken}, most queued ${mostQueued}`);
  });
});
