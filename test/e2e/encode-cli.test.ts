import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SAMPLE_PHOTOS, samplePhotoDir } from '../../libs/sample-photos/index.js';
import { writeZip } from '../../libs/zip/write-zip.js';
import { EncodeReport } from '../../cli/encode/report.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { faceshard } from '../helpers/cli.js';

describe('faceshard encode PATH.zip with workers, options and a report', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    work = await tempDir('faceshard-encode-cli-');
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('a zip of the sample photos in 2 worker processes: report, summary and cluster agree', async () => {
    const zip = path.join(work, 'samples.zip');
    const entries = await Promise.all(
      SAMPLE_PHOTOS.map(async (name) => ({ name: `samples/group/${name}`, data: await readFile(path.join(samplePhotoDir(), name)), method: 'store' as const })),
    );
    entries.push(
      { name: 'samples/notes.jpg', data: Buffer.from('text, not a photo'), method: 'store' },
      { name: '../../etc/evil.jpg', data: Buffer.from('x'), method: 'store' },
    );
    await writeZip(zip, entries);
    const report = path.join(work, 'report.json');
    const result = await faceshard([
      'encode',
      zip,
      '--workers',
      '2',
      '--max-faces-per-image',
      '2',
      '--min-score',
      '0.6',
      '--report',
      report,
      ...cluster.cliArgs(),
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const r = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(r.images, SAMPLE_PHOTOS.length + 2);
    assert.equal(r.faces, SAMPLE_PHOTOS.length * 2, 'two faces from each group photo');
    assert.deepEqual(
      r.skipped.map((s) => s.path),
      ['../../etc/evil.jpg', 'notes.jpg'],
    );
    assert.match(r.skipped[0].reason, /escapes the dataset/);
    assert.match(r.backend, /^(tensorflow-gpu|tensorflow|wasm|cpu)$/);
    assert.ok(r.seconds > 0);
    assert.match(
      result.stdout,
      new RegExp(`encoded ${r.images} image\\(s\\) in .*: ${r.faces} face\\(s\\) stored, 0 without a face, 1 unreadable, 1 refused .*backend ${r.backend}\\)`),
    );
    assert.match(result.stdout, /refused: \.\.\/\.\.\/etc\/evil\.jpg: /);
    assert.match(
      result.stderr,
      new RegExp(`encoding: ${r.images}/${r.images} images \\(100%\\), [\\d.]+ images/s`),
      'a log line, not a bar, when stderr is not a terminal',
    );

    const status = await cluster.client.status();
    const stored = status.shards.reduce((sum, s) => sum + Math.max(...s.replicas.map((x) => x.count)), 0);
    assert.equal(stored, r.faces);
    const ids = new Set<string>();
    const reply = await cluster.client.query([new Array(128).fill(0.1)], { k: 100 });
    for (const m of reply.results[0]) ids.add(m.id);
    assert.deepEqual(
      [...ids].sort(),
      SAMPLE_PHOTOS.flatMap((name) => [`samples/group/${name}#0`, `samples/group/${name}#1`]).sort(),
      "ids are the zip's name (samples.zip) and the paths inside the dataset",
    );

    const resumed = await faceshard(['encode', zip, '--workers', '1', '--resume', '--report', report, ...cluster.cliArgs()]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const again = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(again.resumed, SAMPLE_PHOTOS.length + 1, 'the group photos and the text file are done; the refused entry is reported again');
    assert.equal(again.faces, 0);
  });

  test('refuses an archive that is not a zip, and bad flags, with a message', async () => {
    const fake = path.join(work, 'photos.zip');
    await writeFile(fake, Buffer.concat([Buffer.from('ustar'), Buffer.alloc(1024)]));
    const notZip = await faceshard(['encode', fake, ...cluster.cliArgs()]);
    assert.equal(notZip.code, 1);
    assert.match(notZip.stderr, /not a zip archive: .*photos\.zip/);
    const badDetector = await faceshard(['encode', fake, '--detector', 'mtcnn', ...cluster.cliArgs()]);
    assert.equal(badDetector.code, 2);
    assert.match(badDetector.stderr, /--detector must be one of ssd, tiny/);
  });
});
