// The shard's read-back of its own log (services/shard/applied-record.ts), as a shard
// identity on an authenticated cluster: a whole read gives the records; a read that comes
// back short is unknown (undefined), never taken for a log that lost records.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import { subjectsFor } from '../../libs/protocol/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { readOwnRecords } from '../../services/shard/applied-record.js';
import { startTestCluster } from '../helpers/cluster.js';
import { toFaces } from '../helpers/expected.js';

test('a shard reads back its own records: all asked for; a short read (fewer, or none past the end) is unknown', { timeout: 120_000 }, async () => {
  const cluster = await startTestCluster({ shards: 1, auth: true });
  try {
    const ids = Array.from({ length: 6 }, (_, i) => `r-${i}`);
    let last = 0;
    for (const face of toFaces(uniformVectors(6, 3), ids, false)) last = (await cluster.client.ingestMany([face])).seq['0'];
    const nc = await connectAs({ servers: cluster.url }, { creds: cluster.credentials!.credsFile({ role: 'shard', shards: [0] }) });
    try {
      const subjects = subjectsFor();
      const all = await readOwnRecords(nc, subjects, 0, 1, 6);
      assert.equal(all?.length, 6, 'six records, one an ingest');
      assert.deepEqual(
        all.map((r) => r.seq),
        [...all.map((r) => r.seq)].sort((a, b) => a - b),
        'in order',
      );
      assert.equal(all.at(-1)!.seq, last);
      assert.equal(await readOwnRecords(nc, subjects, 0, all[3].seq, 10, 1000), undefined, 'three left of ten asked for: unknown');
      assert.equal(await readOwnRecords(nc, subjects, 0, last + 1, 10, 1000), undefined, 'nothing past the end: unknown');
      assert.deepEqual(
        (await readOwnRecords(nc, subjects, 0, all[3].seq, 3))?.map((r) => r.seq),
        all.slice(3).map((r) => r.seq),
        'the last three, asked for three',
      );
    } finally {
      await nc.close();
    }
  } finally {
    await cluster.cleanup();
  }
});
