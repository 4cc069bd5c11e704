import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorFromReply } from '../../libs/nats/client/error-reply.js';

test('a busy error body becomes one line with the retry hint said once; other codes keep their message', () => {
  const busy = errorFromReply({ code: 'busy', message: 'coordinator queue full: 128 queries waiting; try again in 40 ms', retryAfterMs: 40 });
  assert.deepEqual(
    [busy.code, busy.retryAfterMs, busy.message],
    ['busy', 40, 'the cluster is busy (coordinator queue full: 128 queries waiting); try again in 40 ms'],
  );
  assert.equal(errorFromReply({ code: 'busy', message: 'encode slots full' }).message, 'the cluster is busy (encode slots full); try again shortly');
  const other = errorFromReply({ code: 'too_large', message: 'vectors x k over the cap' });
  assert.deepEqual([other.code, other.message, other.retryAfterMs], ['too_large', 'vectors x k over the cap', undefined]);
});
