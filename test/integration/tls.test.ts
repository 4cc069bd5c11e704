// Issue 20: TLS between every process and NATS. A real nats-server that requires TLS and
// a client certificate (mutual TLS, as the k8s TLS overlay sets it up), credentials on
// top; services, the client and the CLI connect with the CA and their certificate. A
// client that does not trust the CA, or has no certificate, is refused with a message
// naming the flag to pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { connectAs, NatsAccessError } from '../../libs/nats/nats-auth/index.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { faceshard } from '../helpers/cli.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { makeTestCertificates, natsTlsConfig, type TestCertificates } from '../helpers/tls.js';

const FACES = 40;

describe('a cluster over mutual TLS with credentials', { timeout: 120_000 }, () => {
  let certDir: string;
  let certs: TestCertificates;
  let cluster: TestCluster;
  const vectors = uniformVectors(FACES, 31);
  const faces = Array.from({ length: FACES }, (_, i) => ({ id: `tls-${i}`, vector: vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS) }));

  before(async () => {
    certDir = await tempDir('faceshard-tls-');
    certs = makeTestCertificates(certDir);
    cluster = await startTestCluster({
      shards: 2,
      auth: true,
      natsConfig: natsTlsConfig(certs, true),
      tls: { tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: certs.clientKey },
    });
  });
  after(async () => {
    await cluster?.cleanup();
    await removeDir(certDir);
  });

  test('services, the client and the CLI work over TLS', async () => {
    const reply = await cluster.client.ingestMany(faces);
    assert.equal(reply.accepted, FACES);
    const answer = await cluster.client.query([faces[5].vector], { k: 1, minSeq: reply.seq });
    assert.equal(answer.partial, false);
    assert.equal(answer.results[0][0].id, 'tls-5');

    const query = await faceshard([
      'query',
      '--vector',
      JSON.stringify(Array.from(faces[9].vector)),
      '-k',
      '1',
      '--json',
      ...cluster.cliArgs({ role: 'reader' }),
    ]);
    assert.equal(query.code, 0, query.stderr);
    assert.equal((JSON.parse(query.stdout) as { results: { id: string }[][] }).results[0][0].id, 'tls-9');
  });

  test('a client that does not trust the CA is refused and told to pass --tls-ca', async () => {
    const creds = cluster.credentials!.credsFile({ role: 'reader' });
    for (const tlsCa of [undefined, certs.otherCa]) {
      await assert.rejects(
        connectAs({ servers: cluster.url, reconnect: false }, { creds, tlsCa, tlsCert: certs.clientCert, tlsKey: certs.clientKey }),
        (err: Error) => err instanceof NatsAccessError && err.code === 'tls' && /--tls-ca/.test(err.message) && err.message.includes(cluster.url),
      );
    }
    const cli = await faceshard(['status', '--nats', cluster.url, '--creds', creds]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /TLS with NATS at .* failed.*--tls-ca/s);
  });

  test('a client without a certificate is refused when the server verifies clients', async () => {
    const creds = cluster.credentials!.credsFile({ role: 'reader' });
    await assert.rejects(
      connectAs({ servers: cluster.url, reconnect: false }, { creds, tlsCa: certs.ca }),
      (err: Error) => err instanceof NatsAccessError && err.code === 'tls' && /--tls-cert/.test(err.message),
    );
  });

  test('a certificate without its key is a clear error before any connection', async () => {
    await assert.rejects(
      connectAs({ servers: cluster.url }, { tlsCa: certs.ca, tlsCert: certs.clientCert }),
      /needs both its certificate \(--tls-cert \/ NATS_TLS_CERT\) and its key \(--tls-key \/ NATS_TLS_KEY\)/,
    );
    const reader = await FaceshardClient.connect(cluster.url, {
      security: { creds: cluster.credentials!.credsFile({ role: 'reader' }), tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: certs.clientKey },
    });
    try {
      const answer = await reader.query([faces[0].vector], { k: 1 });
      assert.equal(answer.results[0][0].id, 'tls-0', 'the right files still work after the refusals');
    } finally {
      await reader.close();
    }
  });
});
