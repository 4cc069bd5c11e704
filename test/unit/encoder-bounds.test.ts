import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { requestTurns } from '../../services/encoder/request-turns.js';
import { EncoderPoolFullError, startWorkerPool } from '../../libs/face-encoder/index.js';

describe('encoder request turns: at most `slots` at once, at most `maxWaiting` wait, then refused at once', () => {
  test('slots, waiting and refusal', async () => {
    const turns = requestTurns(2, 1);
    const first = await turns.take();
    const second = await turns.take();
    assert.ok(first && second);
    const got: string[] = [];
    const third = turns.take()?.then((release) => (got.push('third'), release));
    assert.ok(third, 'one may wait');
    assert.equal(turns.waiting(), 1);
    assert.equal(turns.take(), undefined, 'a second waiter is refused at once');
    await new Promise((r) => setImmediate(r));
    assert.equal(got.length, 0, 'no turn while both slots are held');
    first();
    first(); // released twice: still only one turn freed
    const releaseThird = await third;
    assert.deepEqual(got, ['third']);
    const fourth = turns.take()?.then((release) => (got.push('fourth'), release));
    assert.ok(fourth);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['third'], 'the double release did not free a second slot');
    second();
    (await fourth)();
    releaseThird();
    assert.deepEqual(got, ['third', 'fourth']);
  });

  test('bad bounds are refused with the value named', () => {
    assert.throws(() => requestTurns(0, 1), /slots must be a whole number >= 1, got 0/);
    assert.throws(() => requestTurns(1, -1), /maxWaiting must be a whole number >= 0, got -1/);
  });
});

describe('encoder worker pool: it holds at most maxPending images, and refuses the next at once', { timeout: 60_000 }, () => {
  let pool: Awaited<ReturnType<typeof startWorkerPool>>;
  before(async () => {
    pool = await startWorkerPool({ workers: 1, backend: 'wasm', perWorker: 1, maxPending: 2 });
  });
  after(async () => {
    await pool?.close();
  });

  test('two taken (one encoding, one waiting), the third refused naming the bound; taken again once one is done', async () => {
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    const taken = [pool.encode(photo, { detector: 'tiny' }), pool.encode(photo, { detector: 'tiny' })];
    const started = performance.now();
    await assert.rejects(pool.encode(photo, { detector: 'tiny' }), (error: Error) => {
      assert.ok(error instanceof EncoderPoolFullError);
      assert.match(error.message, /the encoder pool holds 2 images \(1 waiting for 1 worker\(s\)\), its bound maxPending 2: take at most that many at once/);
      return true;
    });
    assert.ok(performance.now() - started < 50, 'refused at once');
    const [first] = await Promise.all([taken[0], taken[1]]);
    assert.equal(first.ok, true, 'the taken images were encoded');
    assert.equal((await pool.encode(photo, { detector: 'tiny' })).ok, true, 'room again');
  });

  test('a bound below the capacity is refused', async () => {
    await assert.rejects(startWorkerPool({ workers: 2, maxPending: 3 }), /maxPending must be a whole number >= the pool's capacity 4, got 3/);
  });
});
