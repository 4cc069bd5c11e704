import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect, StringCodec, type NatsConnection } from 'nats';
import {
  findNatsServer,
  freePort,
  NatsServerMissingError,
  NatsServerStartError,
  NATS_SERVER_BINARY_ENV,
  startNatsServer,
  type NatsServerProcess,
} from '../../libs/local/nats-server/index.js';
import { removeDir, tempDir, withNatsServer } from '../helpers/nats.js';
import { isAlive } from '../helpers/process.js';

const sc = StringCodec();
// Per-test timeout: a hang fails the test, and the server's exit hook kills leftovers.
const T = { timeout: 15_000 };

async function withConnection<T>(url: string, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

describe('findNatsServer', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map(removeDir)));

  test('returns undefined when no search dir holds nats-server', T, async () => {
    const empty = await tempDir('faceshard-nopath-');
    dirs.push(empty);
    assert.equal(findNatsServer({ env: { PATH: empty }, searchDirs: [empty] }), undefined);
  });

  test('finds an executable nats-server in the search dirs and skips a non-executable one', T, async () => {
    const dir = await tempDir('faceshard-fakebin-');
    dirs.push(dir);
    const notExecutable = join(dir, 'a');
    const executable = join(dir, 'b');
    await mkdir(notExecutable);
    await mkdir(executable);
    await writeFile(join(notExecutable, 'nats-server'), '#!/bin/sh\n', { mode: 0o644 });
    await writeFile(join(executable, 'nats-server'), '#!/bin/sh\n');
    await chmod(join(executable, 'nats-server'), 0o755);
    assert.equal(findNatsServer({ env: {}, searchDirs: [notExecutable, executable] }), join(executable, 'nats-server'));
  });

  test(`reads PATH from the given env, and ${NATS_SERVER_BINARY_ENV} overrides the search`, T, async () => {
    const dir = await tempDir('faceshard-fakebin-');
    dirs.push(dir);
    const fake = join(dir, 'nats-server');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    const empty = await tempDir('faceshard-nopath-');
    dirs.push(empty);
    assert.equal(findNatsServer({ env: { PATH: `${empty}:${dir}` }, searchDirs: undefined }), fake);
    assert.equal(findNatsServer({ env: { [NATS_SERVER_BINARY_ENV]: fake }, searchDirs: [empty] }), fake);
    assert.equal(findNatsServer({ env: { [NATS_SERVER_BINARY_ENV]: join(empty, 'nope') } }), undefined);
  });

  test('startNatsServer throws NatsServerMissingError with install instructions when nothing is found', T, async () => {
    const empty = await tempDir('faceshard-nopath-');
    dirs.push(empty);
    await assert.rejects(startNatsServer({ storeDir: join(empty, 'store'), search: { env: { PATH: empty }, searchDirs: [empty] } }), (error: unknown) => {
      assert.ok(error instanceof NatsServerMissingError, `unexpected error: ${String(error)}`);
      assert.match(error.message, /sudo apt-get install -y nats-server/);
      assert.match(error.message, /https:\/\/github\.com\/nats-io\/nats-server\/releases/);
      assert.match(error.message, /2\.9 or newer/);
      assert.match(error.message, new RegExp(empty));
      return true;
    });
  });
});

describe('freePort', () => {
  test('returns a usable TCP port', T, async () => {
    const port = await freePort();
    assert.ok(Number.isInteger(port) && port > 0 && port < 65536);
  });
});

// These need the real binary; on a machine without it they fail with the install hint.
describe('startNatsServer', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('serves core NATS and JetStream; a stream survives stop + restart and kill -9 + restart on the same store and port', T, async () => {
    const storeDir = await tempDir('faceshard-store-');
    let server: NatsServerProcess = await startNatsServer({ storeDir, monitorPort: 0 });
    cleanups.push(async () => {
      await server.stop('SIGTERM', 3_000);
      await removeDir(storeDir);
    });
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.ok(isAlive(server.pid));
    const { port } = server;

    // Monitoring endpoint answers when asked for.
    assert.ok(server.monitorPort);
    const health = await fetch(`http://127.0.0.1:${server.monitorPort}/healthz`);
    assert.equal(health.status, 200);

    await withConnection(server.url, async (nc) => {
      // Core pub/sub.
      const sub = nc.subscribe('faceshard.test.ping', { max: 1 });
      nc.publish('faceshard.test.ping', sc.encode('hello'));
      for await (const msg of sub) assert.equal(sc.decode(msg.data), 'hello');

      // JetStream: add a stream, publish, read back.
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'FACES_TEST', subjects: ['faceshard.test.data.>'] });
      const ack = await nc.jetstream().publish('faceshard.test.data.0', sc.encode('record-1'));
      assert.equal(ack.stream, 'FACES_TEST');
      assert.equal(ack.seq, 1);
      const stored = await jsm.streams.getMessage('FACES_TEST', { seq: 1 });
      assert.equal(sc.decode(stored.data), 'record-1');
    });

    // Graceful stop, then restart on the same store dir and port.
    const oldPid = server.pid;
    await server.stop();
    assert.ok(!isAlive(oldPid));
    server = await startNatsServer({ storeDir, port });
    assert.equal(server.port, port);
    assert.notEqual(server.pid, oldPid);
    await withConnection(server.url, async (nc) => {
      const jsm = await nc.jetstreamManager();
      const stored = await jsm.streams.getMessage('FACES_TEST', { seq: 1 });
      assert.equal(sc.decode(stored.data), 'record-1');
      await nc.jetstream().publish('faceshard.test.data.1', sc.encode('record-2'));
    });

    // Crash (SIGKILL), then restart: JetStream recovers both records.
    const crashedPid = server.pid;
    server.kill9();
    assert.equal(await server.exited, null);
    assert.ok(!isAlive(crashedPid));
    server = await startNatsServer({ storeDir, port });
    await withConnection(server.url, async (nc) => {
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info('FACES_TEST');
      assert.equal(info.state.messages, 2);
      const second = await jsm.streams.getMessage('FACES_TEST', { seq: 2 });
      assert.equal(sc.decode(second.data), 'record-2');
    });
  });

  test("fails with a clear error and the server's output when the port is taken", T, async () => {
    const first = await withNatsServer();
    cleanups.push(first.cleanup);
    const storeDir = await tempDir('faceshard-store-');
    cleanups.push(() => removeDir(storeDir));
    const started = Date.now();
    await assert.rejects(startNatsServer({ storeDir, port: first.port }), (error: unknown) => {
      assert.ok(error instanceof NatsServerStartError, `unexpected error: ${String(error)}`);
      assert.match(error.message, /exited with code 1 before it was ready/);
      assert.match(error.message, /address already in use/);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${first.port}`));
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'did not notice the early exit promptly');
    // The first server is unharmed.
    await withConnection(first.url, async (nc) => nc.flush());
  });

  test("appends the server's output to logFile", T, async () => {
    const dir = await tempDir('faceshard-log-');
    const logFile = join(dir, 'logs', 'nats.log');
    const nats = await withNatsServer({ logFile });
    cleanups.push(() => removeDir(dir));
    cleanups.push(nats.cleanup);
    assert.match(nats.server.outputTail(), /Server is ready/);
    await nats.cleanup();
    assert.match(await readFile(logFile, 'utf8'), /Server is ready/);
  });

  test("goMaxProcs sets the server's GOMAXPROCS (its /varz says so); a non-positive or fractional one is refused", T, async () => {
    const nats = await withNatsServer({ goMaxProcs: 1, monitorPort: 0 });
    cleanups.push(nats.cleanup);
    const varz = (await (await fetch(`http://127.0.0.1:${nats.server.monitorPort}/varz`)).json()) as { gomaxprocs?: number };
    assert.equal(varz.gomaxprocs, 1);
    const storeDir = await tempDir('faceshard-gomaxprocs-');
    cleanups.push(() => removeDir(storeDir));
    for (const goMaxProcs of [0, 1.5, -2]) {
      await assert.rejects(startNatsServer({ storeDir, goMaxProcs }), {
        name: 'RangeError',
        message: new RegExp(`goMaxProcs must be a positive integer, got ${goMaxProcs}`),
      });
    }
  });

  test('withNatsServer cleanup stops the server and removes its store dir', T, async () => {
    const nats = await withNatsServer();
    cleanups.push(nats.cleanup);
    const { pid } = nats.server;
    await nats.cleanup();
    assert.ok(!isAlive(pid));
    await assert.rejects(stat(nats.storeDir), { code: 'ENOENT' });
  });
});
