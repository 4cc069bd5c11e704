import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { isAlive } from '../helpers/process.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));

/** Runs `faceshard up` until `until(output)` holds, hands the URL to `body`, then stops it with SIGTERM. */
async function withUp(args: string[], body: (url: string, output: () => string, dataDir: string) => Promise<void>, keptDataDir?: string) {
  const dataDir = keptDataDir ?? (await tempDir('faceshard-up-'));
  const child = spawn(process.execPath, [CLI, 'up', '--nats-port', '0', '--encoders', '0', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!/^ready/m.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`faceshard up never printed ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /^NATS (nats:\/\/\S+)/m.exec(out)?.[1];
    assert.ok(url, `a NATS URL line in:\n${out}`);
    await body(url, () => out, dataDir);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    if (!keptDataDir) await removeDir(dataDir);
    assert.equal(code, 0, `faceshard up exits cleanly on SIGTERM:\n${out}`);
  }
}

test('faceshard up: prints the NATS URL, then ready; restarts a crashed shard; SIGTERM stops every child', { timeout: 90_000 }, async () => {
  const pids: number[] = [];
  await withUp(['--shards', '2', '--replicas', '2'], async (url, output, dataDir) => {
    assert.match(output(), /authentication on/);
    await assert.rejects(FaceshardClient.connect(url), /requires credentials/, 'authentication is on by default');
    const client = await FaceshardClient.connect(url, { security: { creds: path.join(dataDir, 'credentials', 'reader.creds') } });
    try {
      const status = await client.status();
      assert.equal(status.coordinators.length, 1);
      assert.deepEqual(
        status.shards.map((s) => [s.index, s.replicas.filter((r) => r.ready).length]),
        [
          [0, 2],
          [1, 2],
        ],
      );
      const victim = status.shards[1].replicas[0].pid;
      pids.push(status.coordinators[0].pid, ...status.shards.flatMap((s) => s.replicas.map((r) => r.pid)));
      process.kill(victim, 'SIGKILL');
      const replicas = await until(
        () => `shard 1 replica was not restarted:\n${output()}`,
        async () => {
          const now = (await client.status()).shards.find((s) => s.index === 1)?.replicas ?? [];
          return now.length === 2 && now.every((r) => r.ready && r.pid !== victim) ? now : undefined;
        },
        20_000,
        200,
      );
      pids.push(...replicas.map((r) => r.pid));
      assert.match(output(), /restarting crashed process/);
    } finally {
      await client.close();
    }
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(pids.filter(isAlive), [], 'no child outlives faceshard up');
});

test('faceshard up --no-auth: open to anyone, and says so', { timeout: 60_000 }, async () => {
  await withUp(['--shards', '1', '--no-auth'], async (url, output, dataDir) => {
    assert.match(output(), /authentication is OFF \(--no-auth\)/);
    const client = await FaceshardClient.connect(url);
    try {
      const status = await client.status();
      assert.equal(status.shards.length, 1);
    } finally {
      await client.close();
    }
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(path.join(dataDir, 'credentials')), false, 'no credentials are written in open mode');
  });
});

test('a data dir switched between --no-auth and authentication keeps its faces', { timeout: 120_000 }, async () => {
  const dataDir = await tempDir('faceshard-up-switch-');
  const faces = Array.from({ length: 5 }, (_, i) => ({ id: `kept-${i}`, vector: Float32Array.from({ length: 128 }, (_, j) => Math.sin(i * 128 + j) / 4) }));
  const search = async (client: FaceshardClient) =>
    (
      await client.query(
        faces.map((f) => f.vector),
        { k: 1, timeoutMs: 10_000 },
      )
    ).results.map((r) => r[0]?.id);
  try {
    await withUp(
      ['--shards', '1', '--no-auth'],
      async (url) => {
        const client = await FaceshardClient.connect(url);
        try {
          assert.equal((await client.ingest(faces)).accepted, faces.length);
        } finally {
          await client.close();
        }
      },
      dataDir,
    );
    await withUp(
      ['--shards', '1'],
      async (url, output) => {
        assert.match(output(), /the streams of the open \(--no-auth\) cluster now belong to its account/);
        const client = await FaceshardClient.connect(url, { security: { creds: path.join(dataDir, 'credentials', 'reader.creds') } });
        try {
          assert.deepEqual(
            await search(client),
            faces.map((f) => f.id),
            'the faces stored without authentication are found with it',
          );
        } finally {
          await client.close();
        }
      },
      dataDir,
    );
    await withUp(
      ['--shards', '1', '--no-auth'],
      async (url) => {
        const client = await FaceshardClient.connect(url);
        try {
          assert.deepEqual(
            await search(client),
            faces.map((f) => f.id),
            'and back again',
          );
        } finally {
          await client.close();
        }
      },
      dataDir,
    );
  } finally {
    await removeDir(dataDir);
  }
});

test('faceshard up with no nats-server says how to install it', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, [CLI, 'up', '--nats-port', '0', '--data-dir', await tempDir('faceshard-up-')], {
    env: { ...process.env, FACESHARD_NATS_SERVER: '/nonexistent/nats-server' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.notEqual(code, 0);
  assert.match(out, /apt-get install -y nats-server/);
});

test('a cluster made with 2 shards refuses to start with 3', { timeout: 60_000 }, async () => {
  const dataDir = await tempDir('faceshard-up-');
  try {
    const run = (shards: string, stopWhenReady: boolean) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'up', '--nats-port', '0', '--encoders', '0', '--data-dir', dataDir, '--shards', shards], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let signalled = false;
        const onData = (d: Buffer) => {
          out += d.toString();
          if (stopWhenReady && !signalled && /^ready/m.test(out)) signalled = child.kill('SIGTERM');
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => resolve({ code, out }));
      });
    const first = await run('2', true);
    assert.equal(first.code, 0, first.out);
    const second = await run('3', false);
    assert.notEqual(second.code, 0);
    assert.match(second.out, /created with 2 shards/);
  } finally {
    await removeDir(dataDir);
  }
});
