import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { SAMPLE_PHOTOS, samplePhotoDir } from '../../libs/sample-photos/index.js';
import { EncodeReport } from '../../cli/encode/report.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { storedIds } from '../helpers/stored-ids.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 21: Ctrl-C during `faceshard encode` keeps what was stored (faces and done marks),
 * says so and how to go on; `--resume` then ends with exactly the faces of one
 * uninterrupted run. The dataset: the six sample photos and their mirror images.
 */

const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));

function under(prefix: string, ids: string[]): string[] {
  return ids.filter((id) => id.startsWith(`${prefix}/`)).map((id) => id.slice(prefix.length + 1));
}

describe('encode, Ctrl-C at a random point, then --resume', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  let dataset: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    work = await tempDir('faceshard-encode-interrupt-');
    dataset = path.join(work, 'people');
    await mkdir(path.join(dataset, 'mirrored'), { recursive: true });
    for (const name of SAMPLE_PHOTOS) {
      const photo = await readFile(path.join(samplePhotoDir(), name));
      await writeFile(path.join(dataset, name), photo);
      await writeFile(path.join(dataset, 'mirrored', name), await sharp(photo).flop().jpeg({ quality: 90 }).toBuffer());
    }
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  test('what was in flight is stored and marked; --resume ends with the faces of an uninterrupted run', async (t) => {
    const baseline = await faceshard(['encode', dataset, '--workers', '2', '--id-prefix', 'baseline', ...cluster.cliArgs()]);
    assert.equal(baseline.code, 0, baseline.stderr + baseline.stdout);
    const expected = under('baseline', await storedIds(cluster));
    assert.ok(expected.length >= 2 * SAMPLE_PHOTOS.length, `baseline faces ${expected.length}`);

    const args = ['encode', dataset, '--workers', '2', ...cluster.cliArgs()];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let started!: () => void;
    const encoding = new Promise<void>((resolve) => (started = resolve));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/encoding .* on the \S+ backend/.test(stderr)) started();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await Promise.race([encoding, exited]);
    const delayMs = Math.floor(Math.random() * 5000);
    t.diagnostic(`Ctrl-C ${delayMs} ms after the encoders were ready`);
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGINT');
    const code = await exited;

    const afterStop = under('people', await storedIds(cluster));
    let resumedImages = 0;
    if (code === 0) {
      // Every image was stored and marked before the Ctrl-C: --resume skips them all.
      t.diagnostic('the run had every image in flight already: it finished');
      resumedImages = 2 * SAMPLE_PHOTOS.length;
    } else {
      assert.equal(code, 130, stdout + stderr);
      assert.match(stderr, /SIGINT: taking no new images; storing what is in flight/);
      const told = /interrupted: (\d+) face\(s\) from (\d+) image\(s\) of 12 in .* stored and marked done/.exec(stdout);
      assert.ok(told, stdout);
      assert.equal(Number(told[1]), afterStop.length, 'the faces it says it stored are in the cluster');
      resumedImages = Number(told[2]);
      const resume = /resume with: (.*)/.exec(stdout)?.[1];
      assert.equal(resume, `node ${path.relative(process.cwd(), CLI)} ${args.join(' ')} --resume`);
    }
    for (const id of afterStop) assert.ok(expected.includes(id), `${id} is a face of the uninterrupted run`);

    const report = path.join(work, 'resume.json');
    const resumed = await faceshard([...args, '--resume', '--report', report]);
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const r = EncodeReport.parse(JSON.parse(await readFile(report, 'utf8')));
    assert.equal(r.resumed, resumedImages, 'every image the interrupted run stored is skipped, none other');
    assert.match(resumed.stderr, new RegExp(`; ${resumedImages} image\\(s\\) already done`));
    assert.deepEqual(under('people', await storedIds(cluster)), expected, 'the same faces as one uninterrupted run');
    t.diagnostic(`${resumedImages} image(s) (${afterStop.length} faces) stored before Ctrl-C; ${expected.length} faces in all`);
  });

  test('--queue: Ctrl-C while no encoder takes jobs says how many wait on the queue; --resume ends with the same faces', async () => {
    const expected = under('baseline', await storedIds(cluster));
    assert.ok(expected.length > 0, 'the test above ran first');
    const args = ['encode', dataset, '--queue', '--id-prefix', 'queued', ...cluster.cliArgs()];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Every job is out once the queue holds all twelve.
    const jsm = await (await cluster.adminNc()).jetstreamManager();
    await until(
      () => stdout + stderr,
      async () => ((await jsm.streams.info('FACES_ENCODE_JOBS')).state.messages >= 12 ? true : undefined),
      30_000,
    );
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, stdout + stderr);
    assert.match(stdout, /interrupted: 0 face\(s\) from 0 image\(s\) of 12 in .* stored and marked done/);
    assert.match(stdout, /12 image\(s\) still wait in the encode queue/);
    assert.match(stdout, /resume with: .* --resume/);

    cluster.startService('encoder', 'encoder', { ENCODER_BACKEND: 'wasm' });
    const resumed = await faceshard([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout + cluster.output.join(''));
    // The first run's jobs were done too (by the same encoder): the same faces, once each.
    const info = await jsm.streams.info('FACES_ENCODE_JOBS');
    for (let i = 0; i < 600 && info.state.messages > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      info.state = (await jsm.streams.info('FACES_ENCODE_JOBS')).state;
    }
    assert.deepEqual(under('queued', await storedIds(cluster)), expected);
  });
});
