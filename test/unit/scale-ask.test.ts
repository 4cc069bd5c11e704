// The scale bench's recall check after its restart: queries in small requests, answers in order, partial answers counted.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { askInRequests } from '../../bench/scale/ask-in-requests.js';
import { recallAt } from '../../bench/scale/recall.js';

test('askInRequests: every query once, in requests of at most the size given, answers in query order, partial ones counted', async () => {
  const asked: Array<[number, number]> = [];
  let running = 0;
  let most = 0;
  const { ids, partialQueries } = await askInRequests(123, 50, 4, async (start, end) => {
    asked.push([start, end]);
    most = Math.max(most, ++running);
    await sleep(end === 123 ? 1 : 20 - start / 10); // later requests answer first
    running--;
    // The request holding query 60 loses a shard: its answers miss what that shard held.
    const partial = start <= 60 && 60 < end;
    return { ids: Array.from({ length: end - start }, (_, i) => (partial && (start + i) % 2 ? [] : [`face-${start + i}`])), partial };
  });
  assert.deepEqual(
    asked.sort((a, b) => a[0] - b[0]),
    [
      [0, 50],
      [50, 100],
      [100, 123],
    ],
  );
  assert.ok(most <= 4);
  assert.equal(partialQueries, 50, 'the 50 queries of the partial answer');
  assert.equal(ids.length, 123);
  ids.forEach((found, q) => assert.deepEqual(found, q >= 50 && q < 100 && q % 2 ? [] : [`face-${q}`], `query ${q}`));
  const truth = Array.from({ length: 123 }, (_, q) => [`face-${q}`]);
  assert.equal(recallAt(ids, truth, 1), (123 - 25) / 123, 'a partial answer lowers the recall: it is reported beside it, not hidden');
  await assert.rejects(
    askInRequests(3, 0, 1, async () => ({ ids: [], partial: false })),
    /requestVectors/,
  );
});
