import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { writeNpyFloat32 } from '../../libs/npy/write.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 24: Ctrl-C during `faceshard ingest` of a .npy says how far it got (rows read,
 * rows acknowledged, the first row not acknowledged) and how to go on; `--from-row`
 * then stores exactly the rest.
 */

const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));
const ROWS = 200_000;
const DIMS = 128;

describe('ingest a .npy, Ctrl-C part-way, then --from-row', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    work = await tempDir('faceshard-ingest-interrupt-');
  });
  after(async () => {
    await cluster?.cleanup();
    if (work) await removeDir(work);
  });

  /** Faces the shards hold (one replica each). */
  const storedCount = async () => (await cluster.client.status()).shards.reduce((sum, shard) => sum + (shard.replicas[0]?.count ?? 0), 0);

  test('the stopped run names the first row not acknowledged; going on from it stores every row once', async (t) => {
    const npy = path.join(work, 'faces.npy');
    const ids = path.join(work, 'faces.ids');
    const data = new Float32Array(ROWS * DIMS);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 2000) / 1000 - 1;
    await writeNpyFloat32(npy, { rows: ROWS, dims: DIMS, data });
    await writeFile(ids, Array.from({ length: ROWS }, (_, r) => `person-${r}\n`).join(''));

    const args = ['ingest', npy, '--ids', ids, ...cluster.cliArgs()];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Ctrl-C once the cluster holds some of the file.
    await until(
      () => `faces stored before Ctrl-C: ${stdout}${stderr}`,
      async () => ((await storedCount()) > 0 ? true : undefined),
      60_000,
      20,
    );
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, `the run had to be stopped part-way: ${stdout}${stderr}`);
    assert.match(stderr, /SIGINT: reading no more rows/);

    const stopped =
      /^interrupted: read rows 1-(\d+) of .*faces\.npy; the cluster acknowledged every row through (\d+) \((\d+) faces stored\); the first row not acknowledged is (\d+)$/m.exec(
        stdout,
      );
    assert.ok(stopped, stdout);
    t.diagnostic(stdout.trim());
    const [read, acknowledged, faces, firstNot] = stopped.slice(1).map(Number);
    assert.ok(acknowledged > 0 && acknowledged < ROWS, `acknowledged ${acknowledged}`);
    assert.equal(read, acknowledged, 'the batch in flight was answered before stopping');
    assert.equal(faces, acknowledged);
    assert.equal(firstNot, acknowledged + 1);
    const resume = /^resume with: .* ingest .*faces\.npy --ids .*faces\.ids .* --from-row (\d+)$/m.exec(stdout);
    assert.ok(resume, stdout);
    assert.equal(Number(resume[1]), acknowledged);
    await until('the acknowledged rows applied', async () => ((await storedCount()) === acknowledged ? true : undefined));

    const rest = await faceshard([...args, '--from-row', String(acknowledged)]);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, new RegExp(`ingested ${ROWS - acknowledged} faces`));
    // Every id once: ROWS distinct ids, so a row stored twice or not at all would change the count.
    let count = 0;
    await until(
      () => `every row stored once (${count} of ${ROWS})`,
      async () => ((count = await storedCount()) === ROWS ? true : undefined),
    );
  });
});
