// Issue 25: the gateway got its own identity after deployments had written their
// credentials. docs/kubernetes.md says: run `faceshard credentials` again on the same
// folder (it adds gateway.creds and keeps every other file), then secrets.sh, which
// refuses a folder without gateway.creds and says what to run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { decodeJwtClaims, parseCreds } from '../../libs/nats/nats-auth/index.js';
import { faceshard } from '../helpers/cli.js';
import { K8S_DIR } from '../helpers/k8s.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const run = promisify(execFile);

function filesOf(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const file = path.join(e.parentPath, e.name);
        return [path.relative(dir, file), readFileSync(file, 'utf8')];
      }),
  );
}

/** nats-auth.conf with each JWT in it replaced by its claims, less the time of signing and the id that hashes it. */
function serverClaims(conf: string): string {
  return conf.replace(/"(eyJ[\w-]+\.[\w-]+\.[\w-]+)"/g, (_, jwt: string) => {
    const { iat: _iat, jti: _jti, ...claims } = decodeJwtClaims(jwt);
    return JSON.stringify(claims);
  });
}

test('a credentials folder from before the gateway role: secrets.sh says what to run; credentials again adds gateway.creds, changes nothing else', async () => {
  const dir = await tempDir('faceshard-creds-upgrade-');
  try {
    const first = await faceshard(['credentials', '--out', dir, '--shards', '2']);
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(path.join(dir, 'api-keys'), `${'r'.repeat(24)} reader\n`);
    rmSync(path.join(dir, 'gateway.creds')); // what the folder held before the role existed
    const before = filesOf(dir);

    await assert.rejects(run('sh', [path.join(K8S_DIR(), 'secrets.sh'), '--print', 'faceshard-dev', dir]), (err: Error & { stderr: string }) =>
      err.stderr.includes(`${dir}/gateway.creds not found: run faceshard credentials --out ${dir} --shards N again`),
    );

    const again = await faceshard(['credentials', '--out', dir, '--shards', '2']);
    assert.equal(again.code, 0, again.stderr);
    const after = filesOf(dir);
    assert.deepEqual(
      [...after.keys()].filter((f) => !before.has(f)),
      ['gateway.creds'],
    );
    for (const [file, text] of before) {
      // The server's side is signed again on every run (a JWT's iat is the time of signing): the same claims by the same keys.
      if (file === 'nats-auth.conf') assert.deepEqual(serverClaims(after.get(file)!), serverClaims(text), 'nats-auth.conf: the same operator and accounts');
      else assert.equal(after.get(file), text, `${file} is as it was`);
    }
    const claims = decodeJwtClaims(parseCreds(after.get('gateway.creds')!, 'gateway.creds').jwt);
    assert.equal(claims.name, 'gateway');
    assert.deepEqual((claims.nats as { sub: { allow: string[] } }).sub.allow, ['_INBOX_gateway.>']);
  } finally {
    await removeDir(dir);
  }
});
