import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portrait } from '../fixtures/sample-portraits.js';
import { startWorkerPool } from '../../libs/face-encoder/index.js';
import { until } from '../helpers/wait.js';

/**
 * A worker killed mid-image (what a poison image or the OOM killer does): the images it held
 * fail with a reason, the pool starts another worker, and later images are encoded as before.
 */

const run = promisify(execFile);
const FACE = { x: 414, y: 355, width: 177, height: 240 };

/** Pids of this process's children (zombies too) and what they run. */
async function children(): Promise<Array<{ pid: number; args: string }>> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]);
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => ({ pid: Number.parseInt(line.trim(), 10), args: line }));
}

/** Pids of this process's live encoder worker processes. */
async function workerPids(): Promise<number[]> {
  return (await children()).filter((c) => c.args.includes('encoder-worker.js')).map((c) => c.pid);
}

describe('encoder worker pool: a killed worker is replaced', { timeout: 180_000 }, () => {
  let pool: Awaited<ReturnType<typeof startWorkerPool>>;
  let image: Buffer;
  before(async () => {
    image = await portrait(await readFile(path.join(samplePhotoDir(), 'sample1.jpg')), FACE, 0);
    pool = await startWorkerPool({ workers: 2, mode: 'process', backend: 'wasm' });
  });
  after(() => pool?.close());

  it('fails only the killed worker images, restarts it, and encodes on', async () => {
    const faces = async () => {
      const result = await pool.encode(image, {});
      assert.ok(result.ok, 'ok');
      return result.faces.length;
    };
    assert.equal(await faces(), 1);
    const pids = await workerPids();
    assert.equal(pids.length, 2, 'two worker processes');

    // Two images per worker, then one worker is killed before it can finish both.
    const inFlight = Array.from({ length: 4 }, () =>
      pool.encode(image, {}).then(
        () => 'done',
        (e: Error) => e.message,
      ),
    );
    process.kill(pids[0], 'SIGKILL');
    const outcomes = await Promise.all(inFlight);
    const died = outcomes.filter((o) => o !== 'done');
    assert.ok(died.length >= 1 && died.length <= 2, `only the killed worker's images fail: ${outcomes}`);
    for (const message of died) assert.match(message, /encoder worker died: killed by SIGKILL/);

    await until('one restart', () => (pool.restarts() === 1 ? true : undefined), 60_000);
    const now = await workerPids();
    assert.equal(now.length, 2);
    assert.ok(!now.includes(pids[0]) && now.includes(pids[1]), `a new worker instead of the killed one: ${pids} -> ${now}`);
    assert.deepEqual(await Promise.all([faces(), faces(), faces(), faces()]), [1, 1, 1, 1]);

    // Every worker gone at once: images asked for meanwhile wait for the replacements.
    for (const pid of now) process.kill(pid, 'SIGKILL');
    // Gone from ps (not even a zombie): Node reaped them, so the pool has seen them exit.
    await until('both reaped', async () => ((await children()).every((c) => !now.includes(c.pid)) ? true : undefined), 60_000);
    assert.equal(await faces(), 1);
    await until('three restarts in all', () => (pool.restarts() === 3 ? true : undefined), 60_000);
    assert.deepEqual(await pool.tensorCounts().then((counts) => counts.length), 2);
  });
});
