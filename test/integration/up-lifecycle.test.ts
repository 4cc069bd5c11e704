import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { DEFAULT_NATS_PORT_ENV } from '../../libs/local/local-cluster/index.js';
import { EncodeReply } from '../../libs/protocol/index.js';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { isAlive } from '../helpers/process.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));

// Client commands here must find the cluster through --data-dir alone.
const { NATS_URL: _url, NATS_CREDS: _creds, ...cleanEnv } = process.env;
process.env = cleanEnv;

interface Up {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startUp(args: string[], env: NodeJS.ProcessEnv = process.env): Up {
  const child = spawn(process.execPath, [CLI, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function ready(up: Up, pattern = /^ready/m): Promise<string> {
  await until(
    `faceshard up says ${pattern}`,
    async () => (pattern.test(up.output()) ? true : up.child.exitCode !== null ? Promise.reject(new Error(up.output())) : undefined),
    60_000,
  );
  return /^NATS (nats:\/\/\S+)/m.exec(up.output())![1];
}

/** Every process below `pid` (children, their children...). */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
      .toString()
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // ps exits 1 when there are none
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

async function allGoneWithin(pids: number[], ms: number, what: string): Promise<void> {
  await until(`${what}: every process gone (${pids.join(', ')})`, async () => (pids.every((pid) => !isAlive(pid)) ? true : undefined), ms);
}

describe('faceshard up: one cluster per data dir, found through cluster.json, gone with up', { timeout: 240_000 }, () => {
  test('a second up on the dir is refused with pid and URL; kill -9 of up takes its children within 10 s and its lock never blocks; commands find the cluster by --data-dir; the default encoder answers faces.encode; SIGHUP stops everything', async () => {
    const dataDir = await tempDir('faceshard-lifecycle-');
    try {
      const first = startUp(['--shards', '1', '--encoders', '0', '--nats-port', '0', '--data-dir', dataDir]);
      const url = await ready(first);

      const second = startUp(['--shards', '1', '--encoders', '0', '--nats-port', '0', '--data-dir', dataDir]);
      assert.equal(await second.exited, 1, second.output());
      assert.match(second.output(), new RegExp(`in use by a running faceshard up \\(pid ${first.child.pid}, NATS ${url}\\)`));

      const children = descendants(first.child.pid!);
      assert.ok(children.length >= 4, `nats-server, its guard, a coordinator and a shard: ${children}`);
      first.child.kill('SIGKILL');
      await allGoneWithin(children, 10_000, 'kill -9 of up');
      assert.ok(existsSync(path.join(dataDir, 'cluster.json')), 'kill -9 leaves cluster.json behind');
      process.env.LOG_LEVEL = 'debug';
      const stale = await faceshard(['status', '--data-dir', dataDir]).finally(() => delete process.env.LOG_LEVEL);
      assert.match(stale.stderr, /ignoring a cluster file whose faceshard up is gone.*"pid":\d+/, "a dead pid's cluster.json is ignored, at debug level");
      const badDir = path.join(dataDir, 'bad');
      await mkdir(badDir);
      await writeFile(path.join(badDir, 'cluster.json'), '{"natsUrl": 4222}');
      const bad = await faceshard(['status', '--data-dir', badDir]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, new RegExp(`${path.join(badDir, 'cluster.json')} is not a faceshard cluster file`));

      // The dead up's lock does not block; this one starts the default encoder.
      const again = startUp(['--shards', '1', '--nats-port', '0', '--data-dir', dataDir]);
      const againUrl = await ready(again);
      assert.notEqual(againUrl, undefined);

      const status = await faceshard(['status', '--data-dir', dataDir]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /shard 0: 1 replica\(s\): pid \d+ ready/, 'status (as reader) found the cluster through cluster.json');
      const deleted = await faceshard(['delete', 'no-such-face', '--data-dir', dataDir]);
      assert.equal(deleted.code, 0, `delete (as writer, which the reader may not) found the cluster: ${deleted.stderr}`);

      const client = await FaceshardClient.connect(againUrl, { security: { creds: path.join(dataDir, 'credentials', 'writer.creds') } });
      try {
        const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
        const msg = await until(
          'faces.encode answers',
          () =>
            client.nc
              .request(client.subjects.encode, photo, { timeout: 30_000 })
              .catch((err: { code?: string }) => (err.code === '503' ? undefined : Promise.reject(err))),
          90_000,
        );
        const reply = EncodeReply.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        assert.ok(reply.faces.length >= 2, `faces in sample1.jpg: ${reply.faces.length}`);
      } finally {
        await client.close();
      }
      await ready(again, /^encoders ready: 1/m);

      const running = descendants(again.child.pid!);
      again.child.kill('SIGHUP');
      assert.equal(await again.exited, 0, again.output());
      await allGoneWithin(running, 10_000, 'SIGHUP of up');
      assert.equal(existsSync(path.join(dataDir, 'cluster.json')), false, 'a clean stop removes cluster.json');
    } finally {
      await removeDir(dataDir);
    }
  });

  test('the default NATS port taken: up picks a free one and says so, --detach returns once ready, commands find it, down stops it; the taken port given explicitly fails with the cause', async () => {
    const dataDir = await tempDir('faceshard-detach-');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    const env = { ...process.env, [DEFAULT_NATS_PORT_ENV]: String(taken) };
    try {
      const explicit = startUp(['--shards', '1', '--encoders', '0', '--nats-port', String(taken), '--data-dir', dataDir], env);
      assert.equal(await explicit.exited, 1);
      assert.match(explicit.output(), new RegExp(`nats-server did not start: .*127\\.0\\.0\\.1:${taken}.*address already in use`));
      assert.match(explicit.output(), /Leave out --nats-port to use a free port/);
      assert.doesNotMatch(explicit.output(), /Starting nats-server|Version:/, 'no banner');

      const detached = startUp(['--detach', '--shards', '1', '--encoders', '0', '--data-dir', dataDir], env);
      assert.equal(await detached.exited, 0, detached.output());
      const out = detached.output();
      assert.match(out, new RegExp(`port ${taken} is in use`));
      const url = /^NATS (nats:\/\/\S+)/m.exec(out)?.[1];
      assert.ok(url && !url.endsWith(`:${taken}`), out);
      assert.match(out, /^ready/m);
      assert.match(out, /--creds \S+reader\.creds/);
      const pid = Number(/running in the background \(pid (\d+)\)/.exec(out)?.[1]);
      assert.ok(isAlive(pid), out);
      const children = descendants(pid);

      const status = await faceshard(['status', '--data-dir', dataDir]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`NATS 127\\.0\\.0\\.1:${new URL(url).port}`));

      const down = await faceshard(['down', '--data-dir', dataDir]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, new RegExp(`stopped the cluster on .* \\(pid ${pid}, NATS ${url}\\)`));
      assert.equal(isAlive(pid), false);
      await allGoneWithin(children, 10_000, 'down');
      assert.equal(existsSync(path.join(dataDir, 'cluster.json')), false);
      assert.match((await faceshard(['down', '--data-dir', dataDir])).stdout, /no cluster runs on/);
    } finally {
      squatter.close();
      await removeDir(dataDir);
    }
  });
});
