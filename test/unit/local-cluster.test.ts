import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { natsGoMaxProcs } from '../../libs/local-cluster/index.js';

describe('local cluster: nats-server GOMAXPROCS', () => {
  test('half the cores, at least one, when the environment does not set GOMAXPROCS', () => {
    assert.equal(natsGoMaxProcs({}, 1), 1);
    assert.equal(natsGoMaxProcs({}, 2), 1);
    assert.equal(natsGoMaxProcs({}, 3), 1);
    assert.equal(natsGoMaxProcs({}, 8), 4);
    assert.equal(natsGoMaxProcs({ GOMAXPROCS: '' }, 8), 4, 'an empty GOMAXPROCS is unset to Go too');
  });

  test("a GOMAXPROCS in the environment is left to the server (no override)", () => {
    assert.equal(natsGoMaxProcs({ GOMAXPROCS: '2' }, 8), undefined);
  });
});
