// The coordinator's thumbnail deletes are best effort: a delete NATS refuses is logged and
// counted, never thrown (the face delete's answer does not wait on it failing). A real
// nats-server with authentication: a reader's identity may not delete, a coordinator's may.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { connectAs, type Identity } from '../../libs/nats/nats-auth/index.js';
import { ThumbnailStore } from '../../libs/nats/thumbnail-store/index.js';
import { createLogger } from '../../libs/observability/logger.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { ThumbnailCleaner } from '../../services/coordinator/thumbnail-cleaner.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const subjects = subjectsFor('faces');

describe('ThumbnailCleaner on a real nats-server', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ shards: 1, auth: true });
    const writer = await ThumbnailStore.of(cluster.client.nc, subjects);
    for (const id of ['kept#0', 'gone#0', 'later#0', 'later#1']) await writer.put(id, new Uint8Array(500).fill(1));
  });
  after(async () => cluster?.cleanup());

  const cleanerAs = async (identity: Identity) => {
    const nc = await connectAs({ servers: cluster.url }, { creds: cluster.credentials!.credsFile(identity) });
    const registry = new Registry();
    const metrics = {
      deleted: new Counter({ name: 'deleted', help: 'd', registers: [registry] }),
      failures: new Counter({ name: 'failures', help: 'f', registers: [registry] }),
    };
    const lines: string[] = [];
    const cleaner = new ThumbnailCleaner(
      nc,
      subjects,
      createLogger({ service: 'test' }, 'info', (l) => lines.push(l)),
      metrics,
    );
    const count = async (c: Counter) => (await c.get()).values[0]?.value ?? 0;
    return { nc, cleaner, lines, deleted: () => count(metrics.deleted), failures: () => count(metrics.failures) };
  };

  test('refused by NATS: logged and counted, not thrown; the thumbnail stays', async () => {
    const reader = await cleanerAs({ role: 'reader' });
    try {
      await reader.cleaner.deleteFor(['kept#0']);
      assert.equal(await reader.failures(), 1);
      assert.equal(await reader.deleted(), 0);
      assert.match(reader.lines.join(''), /thumbnails of deleted faces not deleted.*kept#0.*Permissions Violation/);
    } finally {
      await reader.nc.close();
    }
    assert.ok(await (await ThumbnailStore.of(cluster.client.nc, subjects)).get('kept#0'));
  });

  test('as the coordinator: deleted; an id without a thumbnail is no failure', async () => {
    const coordinator = await cleanerAs({ role: 'coordinator' });
    try {
      await coordinator.cleaner.deleteFor(['gone#0', 'never#0']);
      assert.equal(await coordinator.deleted(), 1);
      assert.equal(await coordinator.failures(), 0);
    } finally {
      await coordinator.nc.close();
    }
    assert.equal(await (await ThumbnailStore.of(cluster.client.nc, subjects)).get('gone#0'), null);
  });

  test('deleteLater returns at once; idle() resolves once its batches are done, in order', async () => {
    const coordinator = await cleanerAs({ role: 'coordinator' });
    try {
      coordinator.cleaner.deleteLater(['later#0']);
      coordinator.cleaner.deleteLater(['later#1']);
      await coordinator.cleaner.idle();
      assert.equal(await coordinator.deleted(), 2);
    } finally {
      await coordinator.nc.close();
    }
    const store = await ThumbnailStore.of(cluster.client.nc, subjects);
    assert.deepEqual([await store.get('later#0'), await store.get('later#1')], [null, null]);
  });
});
