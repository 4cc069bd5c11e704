import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { natsGoMaxProcs } from '../../libs/local/local-cluster/index.js';
import { serviceProcess, SHARD_MALLOC_ENV } from '../../libs/local/local-cluster/service-process.js';

describe('local cluster: nats-server GOMAXPROCS', () => {
  test('half the cores, at least one, when the environment does not set GOMAXPROCS', () => {
    assert.equal(natsGoMaxProcs({}, 1), 1);
    assert.equal(natsGoMaxProcs({}, 2), 1);
    assert.equal(natsGoMaxProcs({}, 3), 1);
    assert.equal(natsGoMaxProcs({}, 8), 4);
    assert.equal(natsGoMaxProcs({ GOMAXPROCS: '' }, 8), 4, 'an empty GOMAXPROCS is unset to Go too');
  });

  test('a GOMAXPROCS in the environment is left to the server (no override)', () => {
    assert.equal(natsGoMaxProcs({ GOMAXPROCS: '2' }, 8), undefined);
  });
});

describe('local cluster: service processes', () => {
  test("shards get glibc's fixed mmap threshold, other services do not, and the given env wins", () => {
    const shard = serviceProcess('shard', { SHARD_INDEX: '0' }, {});
    assert.equal(shard.env.MALLOC_MMAP_THRESHOLD_, SHARD_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_);
    assert.equal(shard.env.SHARD_INDEX, '0');
    assert.match(shard.args[0], /services\/shard\/main\.js$/);
    assert.equal(serviceProcess('coordinator', {}, {}).env.MALLOC_MMAP_THRESHOLD_, undefined);
    assert.equal(serviceProcess('shard', { MALLOC_MMAP_THRESHOLD_: '65536' }, {}).env.MALLOC_MMAP_THRESHOLD_, '65536');
  });

  test('a threshold set in the environment is left to it (not overridden)', () => {
    assert.equal(serviceProcess('shard', {}, { MALLOC_MMAP_THRESHOLD_: '262144' }).env.MALLOC_MMAP_THRESHOLD_, undefined);
  });
});
