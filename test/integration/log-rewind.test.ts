/**
 * A log that lost acknowledged records and grew again past where it was (nats-server
 * 2.9.10 does this when a paused JetStream leader comes back: bench/results/chaos.md)
 * shows neither a smaller last sequence nor a new first one. A replica that applied the
 * lost records must still notice, from the record at its applied sequence, and start
 * over from the log, or it keeps faces the log no longer has and skips the records that
 * reused their sequences.
 */
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { test } from 'node:test';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { startNatsServer, type NatsServerProcess } from '../../libs/local/nats-server/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster } from '../helpers/cluster.js';
import { toFaces } from '../helpers/expected.js';
import { tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

/** Ingests `count` faces one request each (one log record each), so the stream's sequence moves by `count`. */
async function ingestOneByOne(client: FaceshardClient, prefix: string, count: number, seed: number) {
  const vectors = uniformVectors(count, seed);
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  let seq: Record<string, number> = {};
  for (const face of toFaces(vectors, ids, false)) seq = (await client.ingestMany([face])).seq;
  return { vectors, ids, seq };
}

/** Whether the face `id` with exactly `vector` is found (distance 0 as the index rounds it). */
async function isFound(client: FaceshardClient, id: string, vector: Float32Array, minSeq?: Record<string, number>): Promise<boolean> {
  const reply = await client.queryBinary(vector, { k: 1, minSeq, timeoutMs: 5000 });
  assert.equal(reply.partial, false, 'a complete answer');
  const best = reply.results[0][0];
  return best?.id === id && best.distance < 1e-3;
}

test(
  'a log that lost records and grew past them again: the replica notices from the record at its applied sequence and starts over',
  { timeout: 120_000 },
  async () => {
    const cluster = await startTestCluster({ shards: 1, shardEnv: () => ({ LOG_CHECK_INTERVAL_MS: '300' }) });
    let server: NatsServerProcess | undefined;
    const saved = await tempDir('faceshard-rewind-');
    try {
      const { port, storeDir } = cluster.nats.server;
      const kept = await ingestOneByOne(cluster.client, 'kept', 5, 1);
      assert.ok(await isFound(cluster.client, 'kept-0', kept.vectors.subarray(0, FACE_DIMENSIONS), kept.seq));
      await cluster.client.close();

      // The store as it was: what a leader that never saw the next records holds.
      await cluster.nats.server.stop();
      await cp(storeDir, saved, { recursive: true });
      server = await startNatsServer({ port, storeDir });
      let client = await until('a client connects', () => FaceshardClient.connect(server!.url));
      const lost = await until('ingest works again', () => ingestOneByOne(client, 'lost', 4, 2));
      assert.ok(await isFound(client, 'lost-3', lost.vectors.subarray(3 * FACE_DIMENSIONS), lost.seq), 'the shard applied the records that will be lost');
      await client.close();

      // The records are lost: the old store comes back while the shard is paused, and the log grows past where it was.
      const shard = cluster.processes.get('shard-0.0')!;
      shard.kill('SIGSTOP');
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
      await cp(saved, storeDir, { recursive: true });
      server = await startNatsServer({ port, storeDir });
      client = await until('a client connects to the old store', () => FaceshardClient.connect(server!.url));
      const after = await until('ingest works on the old store', () => ingestOneByOne(client, 'after', 8, 3));
      shard.kill('SIGCONT');

      // Back on its feet, the replica holds what the log holds: no lost face, every later one.
      await until(
        'the replica starts over and finds the faces written after the loss',
        async () => {
          for (let i = 0; i < 8; i++)
            if (!(await isFound(client, `after-${i}`, after.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), after.seq).catch(() => false)))
              return undefined;
          return true;
        },
        60_000,
        250,
      );
      for (let i = 0; i < 4; i++)
        assert.equal(
          await isFound(client, `lost-${i}`, lost.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), after.seq),
          false,
          `lost-${i} is not in the log: not found`,
        );
      assert.ok(await isFound(client, 'kept-4', kept.vectors.subarray(4 * FACE_DIMENSIONS), after.seq), 'faces from before the loss stay');
      const status = await client.status();
      assert.equal(status.shards[0].replicas[0].count, 5 + 8, 'the replica counts the faces of the log');
      await client.close();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.output.join('').slice(-4000)}`);
    } finally {
      await server?.stop();
      await cluster.cleanup();
      await rm(saved, { recursive: true, force: true });
    }
  },
);

/** The shard's read-backs of its own log so far (faceshard_shard_log_read_backs_total). */
async function readBacks(client: FaceshardClient): Promise<number> {
  const port = (await client.status()).shards[0].replicas[0].httpPort;
  assert.ok(port, 'the shard reports its HTTP port');
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^faceshard_shard_log_read_backs_total\{shard="0"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

test(
  "with authentication on, the read-back of the applied record stays within a shard identity's permissions, and is not repeated while the log stands still",
  { timeout: 60_000 },
  async () => {
    const cluster = await startTestCluster({ shards: 1, auth: true, shardEnv: () => ({ LOG_CHECK_INTERVAL_MS: '200', LOG_CHECK_FULL_INTERVAL_MS: '1000' }) });
    try {
      const kept = await ingestOneByOne(cluster.client, 'kept', 3, 4);
      assert.ok(await isFound(cluster.client, 'kept-2', kept.vectors.subarray(2 * FACE_DIMENSIONS), kept.seq));
      await until('a look reads the applied records back', async () => ((await readBacks(cluster.client)) >= 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 1000)); // a look that began before the last record was applied reads once more
      const first = await readBacks(cluster.client);
      await new Promise((r) => setTimeout(r, 1500)); // several looks at a log that does not change
      const output = cluster.output.join('');
      assert.doesNotMatch(output, /PERMISSIONS_VIOLATION|Permissions Violation/i, 'no permission violation');
      assert.doesNotMatch(output, /log changed under this replica/, 'an unchanged log is not taken for a rewound one');
      assert.equal(await readBacks(cluster.client), first, 'no read-back while neither the log nor the applied sequence moved');
      // A write moves both: a look once LOG_CHECK_FULL_INTERVAL_MS has passed reads back again.
      await ingestOneByOne(cluster.client, 'more', 1, 5);
      await until('a look after a write reads back again', async () => ((await readBacks(cluster.client)) > first ? true : undefined));
      const status = await cluster.client.status();
      assert.equal(status.shards[0].replicas[0].count, 4);
    } finally {
      await cluster.cleanup();
    }
  },
);
