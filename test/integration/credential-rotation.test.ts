// Issue 20: rotating an identity with `faceshard credentials --rotate` on a running
// nats-server: after a config reload (SIGHUP) the old key is refused and the new one
// connects, and the server keeps running. nats-server refuses to reload a changed
// operator JWT, so re-running the command must leave that line as it was.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { connectAs, NatsAccessError, openCredentialsDir, securityOptions } from '../../libs/nats/nats-auth/index.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir, withNatsServer } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const operatorLine = (file: string) => /^operator: .*$/m.exec(readFileSync(file, 'utf8'))?.[0];

test('credentials --rotate on a running server: a reload revokes the old key, the new one connects', { timeout: 60_000 }, async () => {
  const dir = await tempDir('faceshard-rotate-');
  const out = path.join(dir, 'credentials');
  const nats = { cleanup: async () => undefined } as { cleanup(): Promise<void> };
  try {
    const first = await faceshard(['credentials', '--out', out, '--shards', '2']);
    assert.equal(first.code, 0, first.stderr);
    const store = openCredentialsDir(out, subjectsFor('faces'));
    const reader = store.credsFile({ role: 'reader' });
    const oldReader = path.join(dir, 'old-reader.creds');
    copyFileSync(reader, oldReader);
    const operatorBefore = operatorLine(store.serverConfigFile);
    assert.ok(operatorBefore);

    const server = await withNatsServer({
      configFile: store.serverConfigFile,
      probeOptions: securityOptions({ creds: store.credsFile({ role: 'admin' }) }).options,
    });
    nats.cleanup = server.cleanup;
    await (await connectAs({ servers: server.url }, { creds: oldReader })).close();

    const again = await faceshard(['credentials', '--out', out, '--shards', '2']);
    assert.equal(again.code, 0, again.stderr);
    const rotated = await faceshard(['credentials', '--out', out, '--shards', '2', '--rotate', 'reader']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /rotated reader: new key; the old one \(U[A-Z0-9]+\) is revoked once the NATS servers reload/);
    assert.equal(operatorLine(store.serverConfigFile), operatorBefore, 'the operator JWT is written once and kept');
    assert.notEqual(readFileSync(reader, 'utf8'), readFileSync(oldReader, 'utf8'));

    process.kill(server.server.pid, 'SIGHUP');
    await until(
      'the old reader key is refused after the reload',
      async () => {
        try {
          await (await connectAs({ servers: server.url, reconnect: false }, { creds: oldReader })).close();
          return undefined;
        } catch (err) {
          return err instanceof NatsAccessError && err.code === 'auth_refused' ? true : undefined;
        }
      },
      10_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${server.server.outputTail()}`));
    const fresh = await connectAs({ servers: server.url }, { creds: reader });
    await fresh.close();
    assert.doesNotMatch(server.server.outputTail(), /reload not supported/);
  } finally {
    await nats.cleanup();
    await removeDir(dir);
  }
});
