import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readWhole } from '../../services/shard/applied-record.js';

test('a read-back is trusted when it got every record asked for, or fewer with none of the shard left on the server; a fetch cut short is not', () => {
  assert.equal(readWhole(1000, 1000, 0), true, 'all asked for');
  assert.equal(readWhole(1000, 1000, 57), true, 'all asked for, the log goes on past them');
  assert.equal(readWhole(12, 1000, 0), true, 'the log really holds only 12 from there (records lost: the caller compares)');
  assert.equal(readWhole(0, 1000, 0), true, 'nothing at or after the sequence: a log that lost them');
  assert.equal(readWhole(0, 1000, 250), false, 'nothing delivered in time while 250 wait: a busy server, not a shorter log');
  assert.equal(readWhole(180, 250, 70), false, 'cut short part-way');
});
