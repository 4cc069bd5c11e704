import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import sharp from 'sharp';
import { encodeJobNames } from '../../libs/protocol/encode-jobs.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portrait } from '../fixtures/sample-portraits.js';
import { createLogger } from '../../libs/observability/logger.js';
import { createRegistry } from '../../libs/observability/metrics.js';
import { type ImageEncoder, type ImageResult, startWorkerPool } from '../../libs/face-encoder/index.js';
import { openDoneMarks } from '../../services/encoder/done-marks.js';
import { gaveUpReason, startJobWorker } from '../../services/encoder/job-worker.js';
import { encoderMetrics } from '../../services/encoder/metrics.js';
import { EncodeReport } from '../../cli/encode/report.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { faceshard } from '../helpers/cli.js';

// Face boxes of sample1.jpg's three clear faces (face-api SSD on wasm); portraits are cut around them.
const FACES = [
  { x: 414, y: 355, width: 177, height: 240 },
  { x: 838, y: 421, width: 186, height: 228 },
  { x: 1476, y: 199, width: 203, height: 241 },
];
const PORTRAITS = 6;
const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));
const run = promisify(execFile);

describe('encode --queue: a work queue that loses nothing when a worker dies', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  let dataset: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    work = await tempDir('faceshard-encode-queue-');
    dataset = path.join(work, 'people');
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    for (let i = 0; i < PORTRAITS; i++) {
      await mkdir(path.join(dataset, `p${i % 3}`), { recursive: true });
      await writeFile(path.join(dataset, `p${i % 3}`, `${i}.jpg`), await portrait(photo, FACES[i % 3], i));
    }
    await writeFile(path.join(dataset, 'broken.jpg'), 'not a photo');
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('a worker killed mid-image: its job is redelivered to another, every face lands once, --resume skips what is done', async (t) => {
    // Worker A runs on the pure-JS cpu backend: slow enough to be caught mid-image.
    cluster.startService('encoder-a', 'encoder', { ENCODER_BACKEND: 'cpu', ENCODE_ACK_WAIT_S: '2' });
    const report = path.join(work, 'report.json');
    const encoding = faceshard(['encode', dataset, '--queue', ...cluster.cliArgs(), '--report', report]);

    const names = encodeJobNames(cluster.client.subjects);
    const jsm = await (await cluster.adminNc()).jetstreamManager(); // the writer may not read consumer state
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined);
      if (info && info.num_ack_pending > 0) break;
      assert.ok(Date.now() < deadline, `worker A never took a job\n${cluster.output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster.stopProcess('encoder-a', 'SIGKILL');
    cluster.startService('encoder-b', 'encoder', { ENCODER_BACKEND: 'wasm', ENCODE_ACK_WAIT_S: '2' });

    const result = await encoding;
    assert.equal(result.code, 0, result.stdout + result.stderr + cluster.output.join(''));
    const summary = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(summary.images, PORTRAITS + 1);
    assert.deepEqual(summary.skipped, [{ path: 'broken.jpg', reason: 'not an image or unsupported format' }]);
    assert.ok(summary.faces >= PORTRAITS, `faces ${summary.faces}`);
    assert.match(summary.backend, /wasm/, 'worker B finished the run');
    assert.match(result.stdout, new RegExp(`encoded ${PORTRAITS + 1} image\\(s\\) .*${summary.faces} face\\(s\\) stored`));

    // Every face is in the cluster exactly once (re-ingesting an id replaces it).
    const status = await cluster.client.status();
    const stored = status.shards.reduce((sum, s) => sum + Math.max(...s.replicas.map((r) => r.count)), 0);
    assert.equal(stored, summary.faces);

    const marks = await openDoneMarks(cluster.client.nc, cluster.client.subjects, 'people');
    const deliveries: number[] = [];
    for (let i = 0; i < PORTRAITS; i++) deliveries.push((await marks.get(`p${i % 3}/${i}.jpg`))?.deliveries ?? 0);
    assert.ok(deliveries.every((d) => d >= 1));
    assert.ok(
      deliveries.some((d) => d >= 2),
      `the killed worker's job was redelivered: ${deliveries}`,
    );
    const info = await jsm.consumers.info(names.stream, names.consumer);
    assert.equal(info.num_pending + info.num_ack_pending, 0, 'the queue is empty');

    const resumed = await faceshard(['encode', dataset, '--queue', '--resume', ...cluster.cliArgs(), '--report', report]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const again = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(again.resumed, PORTRAITS + 1, 'every image was done (the broken one too: redoing it cannot help)');
    assert.equal(again.faces, 0);
    t.diagnostic(`deliveries per image ${deliveries}; ${summary.faces} faces in ${summary.seconds.toFixed(1)} s`);
  });
});

describe('encode --queue: poison jobs end up skipped, not redelivered forever', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  let dataset: string;
  let nc: NatsConnection | undefined;
  let worker: Awaited<ReturnType<typeof startJobWorker>> | undefined;
  let pool: { close(): Promise<void> } | undefined;
  let releaseHangs: () => void = () => undefined;
  const MAX_DELIVER = 3;
  before(async () => {
    cluster = await startTestCluster({ shards: 1, auth: true });
    work = await tempDir('faceshard-encode-poison-');
    dataset = path.join(work, 'people');
    await mkdir(dataset, { recursive: true });
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    for (let i = 0; i < 3; i++) await writeFile(path.join(dataset, `ok${i}.jpg`), await portrait(photo, FACES[i], i));
    // Distinct pictures (the fault injection below recognises them by their bytes) that would encode fine.
    await writeFile(path.join(dataset, 'poison-crash.jpg'), await portrait(photo, FACES[0], 5));
    await writeFile(path.join(dataset, 'poison-hang.jpg'), await portrait(photo, FACES[1], 6));
    await writeFile(
      path.join(dataset, 'blank.jpg'),
      await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 120, g: 140, b: 160 } } })
        .jpeg()
        .toBuffer(),
    );
    await writeFile(path.join(dataset, 'broken.jpg'), 'not a photo');
  });
  after(async () => {
    releaseHangs();
    await worker?.stop();
    await pool?.close();
    await nc?.close();
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('a job that crashes or hangs its encoder every time is skipped after max deliveries; the others are done; --resume skips all', async (t) => {
    // Inference off this thread, so heartbeats keep flowing (as in an encoder with ENCODER_WORKERS > 1).
    const real = await startWorkerPool({ workers: 1, backend: 'wasm' });
    pool = real;
    const crash = await readFile(path.join(dataset, 'poison-crash.jpg'));
    const hang = await readFile(path.join(dataset, 'poison-hang.jpg'));
    const hangs: Array<() => void> = [];
    releaseHangs = () => hangs.splice(0).forEach((release) => release());
    const calls = { crash: 0, hang: 0, other: 0 };
    // A real job worker (this process, a wasm worker thread, real queue and cluster) whose encoder
    // fails on two images the way broken workers do: a worker thread dies, or an encode never ends.
    const faulty: ImageEncoder = {
      backend: real.backend,
      capacity: real.capacity,
      encode(bytes, options): Promise<ImageResult> {
        if (Buffer.from(bytes).equals(crash)) {
          calls.crash++;
          return Promise.reject(new Error('encoder worker died: killed by SIGSEGV'));
        }
        if (Buffer.from(bytes).equals(hang)) {
          calls.hang++;
          return new Promise((resolve) => hangs.push(() => resolve({ ok: false, kind: 'corrupt', reason: 'released at the end of the test' })));
        }
        calls.other++;
        return real.encode(bytes, options);
      },
      tensorCounts: () => real.tensorCounts(),
      close: () => real.close(),
    };
    await real.encode(await readFile(path.join(dataset, 'ok0.jpg')), {}); // compile kernels before the clock runs
    nc = await connectAs({ servers: cluster.url }, { creds: cluster.credentials!.credsFile({ role: 'encoder' }) }); // as an encoder pod would
    worker = await startJobWorker({
      nc,
      subjects: cluster.client.subjects,
      encoder: faulty,
      defaults: { detector: 'ssd', minScore: 0.5 },
      ackWaitSeconds: 2,
      maxDeliver: MAX_DELIVER,
      jobTimeoutSeconds: 10, // far above a real encode here, even queued behind others on a busy machine
      lanes: 4, // two may end up waiting on hung encodes
      log: createLogger({ service: 'test-encoder' }, 'error'),
      metrics: encoderMetrics(createRegistry('test-encoder')),
    });

    const report = path.join(work, 'report.json');
    // Without a limit the run would wait forever for the poison jobs: give it 90 s, then kill it.
    const result = await run(process.execPath, [CLI, 'encode', dataset, '--queue', ...cluster.cliArgs(), '--report', report], {
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { killed?: boolean; stdout: string; stderr: string }) => error);
    assert.ok(!('killed' in result && result.killed), `the run never finished: poison jobs looped (crash tried ${calls.crash}x, hang ${calls.hang}x)`);
    assert.ok(!('code' in result), result.stdout + result.stderr);

    const summary = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(summary.images, 7);
    assert.deepEqual(summary.skipped, [
      { path: 'blank.jpg', reason: 'no face found' },
      { path: 'broken.jpg', reason: 'not an image or unsupported format' },
      { path: 'poison-crash.jpg', reason: gaveUpReason(MAX_DELIVER - 1) },
      { path: 'poison-hang.jpg', reason: gaveUpReason(MAX_DELIVER - 1) },
    ]);
    assert.equal(summary.faces, 3, 'one face from each good portrait');
    assert.deepEqual(
      { crash: calls.crash, hang: calls.hang },
      { crash: MAX_DELIVER - 1, hang: MAX_DELIVER - 1 },
      'each poison image tried on every delivery but the last',
    );
    assert.match(result.stdout, /poison-crash\.jpg: gave up after 2 deliveries/);
    assert.equal(worker?.stuckLanes(), calls.hang, 'each hung encode still holds its lane (the encoder turns unhealthy when all are held)');

    // The good images were not held up: each done on its first delivery.
    const marks = await openDoneMarks(cluster.client.nc, cluster.client.subjects, 'people');
    for (const name of ['ok0.jpg', 'ok1.jpg', 'ok2.jpg', 'blank.jpg', 'broken.jpg']) assert.equal((await marks.get(name))?.deliveries, 1, name);
    assert.equal((await marks.get('poison-hang.jpg'))?.skipKind, 'gave_up');
    // Terminated, not left behind: the work queue holds nothing.
    const names = encodeJobNames(cluster.client.subjects);
    const jsm = await (await cluster.adminNc()).jetstreamManager(); // the writer may not read consumer state
    assert.equal((await jsm.streams.info(names.stream)).state.messages, 0);
    const consumer = await jsm.consumers.info(names.stream, names.consumer);
    assert.equal(consumer.config.max_deliver, MAX_DELIVER);
    assert.equal(consumer.num_pending + consumer.num_ack_pending, 0);

    // --resume: face-less, corrupt and given-up images are done too; nothing is sent again.
    const encodesBefore = calls.other + calls.crash + calls.hang;
    const resumed = await faceshard(['encode', dataset, '--queue', '--resume', ...cluster.cliArgs(), '--report', report]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const again = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.deepEqual({ resumed: again.resumed, faces: again.faces, skipped: again.skipped }, { resumed: 7, faces: 0, skipped: [] });
    assert.match(resumed.stdout, /7 already done \(resumed\)/);
    assert.equal(calls.other + calls.crash + calls.hang, encodesBefore, 'no job was published');
    t.diagnostic(`${summary.seconds.toFixed(1)} s; encodes: ${JSON.stringify(calls)}`);
  });
});
