// Issue 20: who may do what on an authenticated cluster. A real nats-server in operator
// mode, real services each with its own identity, and clients trying what their role
// must not do: each gets a clear refusal naming the subject (never a timeout), and the
// honest answers are the same afterwards.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, credsAuthenticator } from 'nats';
import { readFileSync } from 'node:fs';
import { FaceshardClient, FaceshardError } from '../../libs/nats/client/index.js';
import { connectAs, NatsAccessError, openCredentialsDir, securityOptions, type Identity } from '../../libs/nats/nats-auth/index.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { faceshard } from '../helpers/cli.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { permissionError, subscriptionsNotRefused } from '../helpers/permission-error.js';

const FACES = 60;

describe('an authenticated cluster: identities and what each may do', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  const vectors = uniformVectors(FACES, 20);
  const faces = Array.from({ length: FACES }, (_, i) => ({ id: `face-${i}`, vector: vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS) }));
  const as = (identity: Identity) => connectAs({ servers: cluster.url }, { creds: cluster.credentials!.credsFile(identity) });
  let honest: string[];

  before(async () => {
    cluster = await startTestCluster({ shards: 3, auth: true, shardProcesses: [[0, 2], [1]] });
    const reply = await cluster.client.ingestMany(faces);
    assert.equal(reply.accepted, FACES);
    const reader = await FaceshardClient.connect(cluster.url, { security: { creds: cluster.credentials!.credsFile({ role: 'reader' }) } });
    try {
      const answer = await reader.query([faces[7].vector, faces[42].vector], { k: 3, minSeq: reply.seq });
      assert.equal(answer.partial, false);
      honest = answer.results.map((r) => r[0].id);
      assert.deepEqual(honest, ['face-7', 'face-42'], 'a reader finds the faces the writer stored');
    } finally {
      await reader.close();
    }
  });
  after(async () => cluster?.cleanup());

  test('no credentials, foreign credentials, expired credentials: refused at connect, with what to do', async () => {
    await assert.rejects(
      connectAs({ servers: cluster.url }, {}),
      (err: Error) =>
        err instanceof NatsAccessError && err.code === 'auth_required' && /requires credentials: pass --creds FILE or set NATS_CREDS/.test(err.message),
    );

    const otherDir = await tempDir('faceshard-foreign-');
    try {
      const foreign = openCredentialsDir(otherDir, subjectsFor('faces')).credsFile({ role: 'admin' });
      await assert.rejects(
        connectAs({ servers: cluster.url }, { creds: foreign }),
        (err: Error) => err instanceof NatsAccessError && err.code === 'auth_refused' && err.message.includes(foreign) && err.message.includes('(admin)'),
      );

      const expired = cluster.credentials!.issueCreds({ role: 'reader' }, path.join(otherDir, 'expired.creds'), new Date(Date.now() - 60_000));
      // Checked before connecting ...
      assert.throws(
        () => securityOptions({ creds: expired }),
        (err: Error) => err instanceof NatsAccessError && err.code === 'auth_expired' && /expired at/.test(err.message),
      );
      // ... and the server refuses it too, whatever the client checks.
      await assert.rejects(
        connect({ servers: cluster.url, reconnect: false, authenticator: credsAuthenticator(readFileSync(expired)) }),
        (err: Error & { code?: string }) => /AUTH/.test(err.code ?? ''),
      );

      await assert.rejects(
        connectAs({ servers: cluster.url }, { creds: path.join(otherDir, 'missing.creds') }),
        /cannot read the credentials file .*missing\.creds: no such file/,
      );
    } finally {
      await removeDir(otherDir);
    }
  });

  test('a reader may query but not ingest, delete, purge, write a shard log or answer a shard leg', async () => {
    const reader = await FaceshardClient.connect(cluster.url, { security: { creds: cluster.credentials!.credsFile({ role: 'reader' }) } });
    try {
      await assert.rejects(
        reader.ingest([{ id: 'forged', vector: faces[0].vector }]),
        (err: Error) => err instanceof FaceshardError && err.code === 'permission_denied' && err.message === 'permission denied: faces.ingest (reader)',
      );
      await assert.rejects(reader.delete(['face-7']), /permission denied: faces\.delete \(reader\)/);

      const nc = reader.nc;
      const jsm = await nc.jetstreamManager({ checkAPI: false });
      await assert.rejects(jsm.streams.purge('FACES'), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');
      await assert.rejects(jsm.streams.delete('FACES'), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');
      await assert.rejects(nc.jetstream().publish('faces.data.0', new Uint8Array(8)), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');

      const allowed = await subscriptionsNotRefused(nc, [
        ['faces.shard.0.query', 'shard-0'],
        ['faces.query', 'coordinator'],
        ['_INBOX_writer.>', undefined],
        ['_INBOX.>', undefined],
        ['faces.data.>', undefined],
      ]);
      assert.deepEqual(allowed, [], 'a reader may subscribe to none of these');
    } finally {
      await reader.close();
    }
  });

  test('a writer may ingest but not purge, delete the stream, rewrite the config or write a shard log directly', async () => {
    const nc = await as({ role: 'writer' });
    try {
      const jsm = await nc.jetstreamManager({ checkAPI: false });
      await assert.rejects(jsm.streams.purge('FACES'), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');
      await assert.rejects(jsm.streams.delete('FACES_CONFIG'), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');
      await assert.rejects(nc.jetstream().publish('faces.data.1', new Uint8Array(8)), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');
      await assert.rejects(
        nc.jetstream().publish('$KV.FACES_CONFIG.shards', new TextEncoder().encode('7')),
        (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION',
      );
    } finally {
      await nc.close();
    }
  });

  test("a shard identity may not touch another shard's log, legs or queue group", async () => {
    const nc = await as({ role: 'shard', shards: [0] });
    try {
      await assert.rejects(
        nc.jetstream().publish('faces.data.0', new Uint8Array(8)),
        (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION',
        'not even its own log: only the coordinator writes logs',
      );
      const jsm = await nc.jetstreamManager({ checkAPI: false });
      await assert.rejects(
        jsm.consumers.add('FACES', { filter_subject: 'faces.data.1', name: 'spy' }),
        (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION',
      );
      const denied = permissionError(nc, 'subscription', 'faces.shard.1.query');
      nc.subscribe('faces.shard.1.query', { queue: 'shard-1' });
      assert.ok(await denied, "shard 0's identity may not join shard 1's queue group");
      // Its own log it may read: an ordered consumer filtered to faces.data.0.
      const consumer = await nc.jetstream().consumers.get('FACES', { filterSubjects: 'faces.data.0' });
      const first = await consumer.next({ expires: 2000 });
      assert.ok(first && first.subject === 'faces.data.0');
    } finally {
      await nc.close();
    }
  });

  test('admin may not purge or delete records either (deny_purge, deny_delete); a coordinator may not manage streams', async () => {
    const admin = await as({ role: 'admin' });
    try {
      const jsm = await admin.jetstreamManager();
      await assert.rejects(jsm.streams.purge('FACES'), /purge not permitted/);
      await assert.rejects(jsm.streams.deleteMessage('FACES', 1), /delete not permitted|message delete not permitted/);
      await assert.rejects(jsm.streams.update('FACES', { ...(await jsm.streams.info('FACES')).config, deny_purge: false }), /deny purge/);
    } finally {
      await admin.close();
    }
    const coordinator = await as({ role: 'coordinator' });
    try {
      const jsm = await coordinator.jetstreamManager({ checkAPI: false });
      await assert.rejects(jsm.streams.purge('FACES'), (err: Error & { code?: string }) => err.code === 'PERMISSIONS_VIOLATION');
    } finally {
      await coordinator.close();
    }
  });

  test('the CLI: no credentials and the wrong role are named; the right ones work', async () => {
    const noCreds = await faceshard(['status', '--nats', cluster.url]);
    assert.notEqual(noCreds.code, 0);
    assert.match(noCreds.stderr, /requires credentials: pass --creds FILE/);

    const file = path.join(await tempDir('faceshard-sec-cli-'), 'one.jsonl');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, JSON.stringify({ id: 'cli-face', vector: Array.from(faces[3].vector) }) + '\n');
    const asReader = await faceshard(['ingest', file, ...cluster.cliArgs({ role: 'reader' })]);
    assert.notEqual(asReader.code, 0);
    assert.match(asReader.stderr, /permission denied: faces\.ingest \(reader\)/);
    const asWriter = await faceshard(['ingest', file, ...cluster.cliArgs({ role: 'writer' })]);
    assert.equal(asWriter.code, 0, asWriter.stderr);
    const query = await faceshard([
      'query',
      '--vector',
      JSON.stringify(Array.from(faces[3].vector)),
      '-k',
      '2',
      '--json',
      ...cluster.cliArgs({ role: 'reader' }),
    ]);
    assert.equal(query.code, 0, query.stderr);
    const ids = (JSON.parse(query.stdout) as { results: { id: string }[][] }).results[0].map((m) => m.id).sort();
    assert.deepEqual(ids, ['cli-face', 'face-3']);
  });

  test('after every refusal, honest queries get the same answers', async () => {
    const reader = await FaceshardClient.connect(cluster.url, { security: { creds: cluster.credentials!.credsFile({ role: 'reader' }) } });
    try {
      const answer = await reader.query([faces[7].vector, faces[42].vector], { k: 3 });
      assert.equal(answer.partial, false);
      assert.deepEqual(
        answer.results.map((r) => r[0].id),
        honest,
      );
      assert.equal(answer.searched, FACES + 1);
    } finally {
      await reader.close();
    }
  });
});
