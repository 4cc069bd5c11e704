// `faceshard up` starts one gateway beside the cluster: it prints the gateway's URL and
// where its API keys are, the keys file is its owner's alone, and the gateway answers
// with those keys (a reader reads status, a writer stores a face, no key is refused).
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { faceshard } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

test('faceshard up: a gateway on the port asked, its URL and keys file printed; its keys work; down stops it', { timeout: 90_000 }, async () => {
  const dataDir = await tempDir('faceshard-up-gateway-');
  let gatewayUrl: string | undefined;
  try {
    const up = await faceshard(['up', '--detach', '--nats-port', '0', '--encoders', '0', '--shards', '1', '--data-dir', dataDir, '--gateway-port', '0']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const printed = /^gateway (http:\/\/127\.0\.0\.1:\d+) \(REST API under \/v1, described at \/v1\/openapi\.json; API keys in (\S+)\)$/m.exec(up.stdout);
    assert.ok(printed, `up's gateway line:\n${up.stdout}`);
    const [, base, keysFile] = printed;
    gatewayUrl = base;
    const keysPath = path.resolve(keysFile);
    assert.equal(path.dirname(keysPath), dataDir);
    assert.equal((await stat(keysPath)).mode & 0o777, 0o600, 'the keys file is its owner’s alone');
    const keyOf = async (role: string) =>
      (await readFile(keysPath, 'utf8'))
        .split('\n')
        .find((line) => line.split(' ')[1] === role)!
        .split(' ')[0];
    const [reader, writer] = [await keyOf('reader'), await keyOf('writer')];
    await until('the gateway ready', async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000);
    // The page's address, signed in with the reader key in the fragment.
    assert.match(
      up.stdout,
      new RegExp(`^page ${base}/#key=${reader} \\(search with the reader key; enrolling asks for the writer key from the keys file\\)$`, 'm'),
    );
    assert.equal(
      (await stat(path.join(dataDir, 'logs', 'up-console.log'))).mode & 0o777,
      0o600,
      'the detached console log (it holds that line) is its owner’s alone',
    );
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>faceshard<\/title>/);

    const status = await fetch(`${base}/v1/status`, { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { shards: unknown[] }).shards.length, 1);
    assert.equal((await fetch(`${base}/v1/status`)).status, 401);
    const face = { faces: [{ id: 'up/one.jpg#0', vector: Array.from({ length: 128 }, (_, i) => Math.sin(i) / 8) }] };
    const stored = await fetch(`${base}/v1/faces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
      body: JSON.stringify(face),
    });
    assert.equal(stored.status, 200, await stored.clone().text());
    assert.equal(((await stored.json()) as { accepted: number }).accepted, 1, 'the gateway speaks to the cluster as the writer identity');
  } finally {
    const down = await faceshard(['down', '--data-dir', dataDir]);
    await removeDir(dataDir);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    if (gatewayUrl) await assert.rejects(fetch(`${gatewayUrl}/healthz`), 'the gateway stopped with the cluster');
  }
});
