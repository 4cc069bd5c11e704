import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeJobNames } from '../../libs/protocol/encode-jobs.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portrait } from '../../libs/sample-portraits/index.js';
import { openDoneMarks } from '../../services/encoder/done-marks.js';
import { EncodeReport } from '../../services/encoder/report.js';
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

describe('encode --queue: a work queue that loses nothing when a worker dies', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  let dataset: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2 });
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
    cluster.startService('encoder-a', 'encoder', { ENCODER_BACKEND: 'cpu', ENCODE_ACK_WAIT_SECONDS: '2' });
    const report = path.join(work, 'report.json');
    const encoding = faceshard(['encode', dataset, '--queue', '--nats', cluster.url, '--report', report]);

    const names = encodeJobNames(cluster.client.subjects);
    const jsm = await cluster.client.nc.jetstreamManager();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined);
      if (info && info.num_ack_pending > 0) break;
      assert.ok(Date.now() < deadline, `worker A never took a job\n${cluster.output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster.stopProcess('encoder-a', 'SIGKILL');
    cluster.startService('encoder-b', 'encoder', { ENCODER_BACKEND: 'wasm', ENCODE_ACK_WAIT_SECONDS: '2' });

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

    const marks = await openDoneMarks(cluster.client.nc, cluster.client.subjects);
    const deliveries: number[] = [];
    for (let i = 0; i < PORTRAITS; i++) deliveries.push((await marks.get(`p${i % 3}/${i}.jpg`))?.deliveries ?? 0);
    assert.ok(deliveries.every((d) => d >= 1));
    assert.ok(deliveries.some((d) => d >= 2), `the killed worker's job was redelivered: ${deliveries}`);
    const info = await jsm.consumers.info(names.stream, names.consumer);
    assert.equal(info.num_pending + info.num_ack_pending, 0, 'the queue is empty');

    const resumed = await faceshard(['encode', dataset, '--queue', '--resume', '--nats', cluster.url, '--report', report]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const again = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(again.resumed, PORTRAITS + 1, 'every image was done (the broken one too: redoing it cannot help)');
    assert.equal(again.faces, 0);
    t.diagnostic(`deliveries per image ${deliveries}; ${summary.faces} faces in ${summary.seconds.toFixed(1)} s`);
  });
});
