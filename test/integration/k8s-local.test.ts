// A manifest-driven local run: the rendered `dev` overlay, run on this machine.
//
// Every faceshard Deployment of the overlay (the coordinator and each shard) is started
// `replicas` times with exactly its container's command, args and env (ConfigMap envFrom
// resolved, env on top, as the kubelet does), with only what a machine without Kubernetes
// has to change:
//   - one local nats-server with JetStream stands in for the NATS StatefulSet, and a
//     NATS_URL naming one of the overlay's Services points at it;
//   - the image's WORKDIR (/app) is the repository root, and its dist/ is the compiled
//     tree this test runs from (dist/ under `npm test`, or another tsc outDir);
//   - HTTP_PORT gets a free port per process: several pods share one machine here, each
//     with its own network namespace in a cluster (the probes use the same port there);
//   - env values pointing into an emptyDir mount (SNAPSHOT_DIR) get a temp dir each.
// Then: wait until each process's readinessProbe path answers 200, ingest faces through
// faces.ingest, query, and compare with a brute-force scan. It proves the manifests and
// the code agree. (The encoder Deployment is left out: it loads TensorFlow, ~10 s.)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FaceshardClient, type FaceToIngest } from '../../libs/client/index.js';
import { bruteForceSearch } from '../../libs/face-index/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/vector/index.js';
import {
  compiledRoot,
  faceshardContainers,
  hasKubectl,
  hasNatsServer,
  imageWorkdir,
  K8S_DIR,
  renderKustomization,
  repoRoot,
  resolveEnv,
  type FaceshardContainer,
  type K8sObject,
} from '../helpers/k8s.js';
import { withNatsServer, type NatsTestServer } from '../helpers/nats.js';
import { onGrid } from '../helpers/stored.js';

const skip = !hasKubectl() ? 'kubectl is not installed: the dev overlay cannot be rendered' : !hasNatsServer() ? 'nats-server is not on PATH' : false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

interface Pod {
  name: string;
  child: ChildProcess;
  httpPort: number;
  readyPath: string;
  exited?: number | string;
}

/** Command, args, env and cwd of one pod of a manifest container, mapped onto this machine (see the header). */
async function localProcessSpec(fc: FaceshardContainer, objects: K8sObject[], podName: string, natsUrl: string, tempDirs: string[]) {
  const workdir = imageWorkdir();
  const mapPath = (arg: string) => (arg.startsWith(`${workdir}/dist/`) ? join(compiledRoot(), arg.slice(`${workdir}/dist/`.length)) : arg.startsWith(`${workdir}/`) ? join(repoRoot(), arg.slice(workdir.length + 1)) : arg);
  const argv = [...(fc.container.command ?? []), ...(fc.container.args ?? [])].map(mapPath);
  assert.equal(argv[0], 'node', `${fc.workload.metadata.name}: expected a node command, got ${argv[0]}`);

  const { env, problems } = resolveEnv(fc.container, objects, { 'metadata.name': podName, 'metadata.namespace': fc.workload.metadata.namespace ?? 'default' });
  assert.deepEqual(problems, []);
  const serviceNames = new Set(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
  if (env.NATS_URL) {
    env.NATS_URL = env.NATS_URL.split(',')
      .map((u) => (serviceNames.has(new URL(u.trim()).hostname.split('.')[0]) ? natsUrl : u.trim()))
      .join(',');
  }
  const httpPort = await freePort();
  assert.ok(Number(env.HTTP_PORT) > 0, `${fc.workload.metadata.name}: the manifest sets a fixed HTTP_PORT`);
  env.HTTP_PORT = String(httpPort);
  // Writable volumes of the pod (emptyDir) become temp dirs; env values pointing into them follow.
  const template = fc.template;
  for (const mount of fc.container.volumeMounts ?? []) {
    const volume = template.spec.volumes?.find((v) => v.name === mount.name);
    if (!volume?.emptyDir || mount.mountPath === '/tmp') continue;
    const dir = mkdtempSync(join(tmpdir(), `faceshard-${podName}-${mount.name}-`));
    tempDirs.push(dir);
    for (const [k, v] of Object.entries(env)) if (v === mount.mountPath || v.startsWith(`${mount.mountPath}/`)) env[k] = dir + v.slice(mount.mountPath.length);
  }
  const readyPath = fc.container.readinessProbe?.httpGet?.path ?? '/readyz';
  // Only the manifest's env (plus PATH): a container does not inherit this machine's.
  return { command: process.execPath, args: argv.slice(1), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, cwd: repoRoot(), httpPort, readyPath };
}

describe('the dev overlay, run locally from its manifests', { skip }, () => {
  let objects: K8sObject[] = [];
  let nats: NatsTestServer | undefined;
  let client: FaceshardClient | undefined;
  const pods: Pod[] = [];
  const output: string[] = [];
  const tempDirs: string[] = [];
  let shardCount = 0;
  let prefix = 'faces';

  before(async () => {
    objects = await renderKustomization(join(K8S_DIR(), 'overlays', 'dev'));
    nats = await withNatsServer();
    const workloads = faceshardContainers(objects).filter((fc) => fc.workload.kind === 'Deployment' && (fc.program === 'coordinator' || fc.program === 'shard'));
    assert.ok(workloads.some((w) => w.program === 'coordinator') && workloads.some((w) => w.program === 'shard'));
    for (const fc of workloads) {
      const env = resolveEnv(fc.container, objects).env;
      shardCount = Number(env.SHARD_COUNT);
      prefix = env.SUBJECT_PREFIX ?? prefix;
      const replicas = Number(fc.workload.spec?.replicas ?? 1);
      for (let r = 0; r < replicas; r++) {
        const name = `${fc.workload.metadata.name}-${r}`;
        const spec = await localProcessSpec(fc, objects, name, nats.url, tempDirs);
        const child = spawn(spec.command, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
        const pod: Pod = { name, child, httpPort: spec.httpPort, readyPath: spec.readyPath };
        child.stdout?.on('data', (d: Buffer) => output.push(`[${name}] ${d.toString()}`));
        child.stderr?.on('data', (d: Buffer) => output.push(`[${name}] ${d.toString()}`));
        child.once('exit', (code, signal) => (pod.exited = code ?? signal ?? 'exit'));
        pods.push(pod);
      }
    }
    // Ready = what the kubelet waits for: the readinessProbe path answers 200.
    const deadline = Date.now() + 30_000;
    for (const pod of pods) {
      for (;;) {
        if (pod.exited !== undefined) assert.fail(`${pod.name} exited (${pod.exited}) before it was ready\n${output.join('')}`);
        const res = await httpGet(pod.httpPort, pod.readyPath).catch(() => undefined);
        if (res?.status === 200) break;
        if (Date.now() > deadline) assert.fail(`${pod.name} not ready after 30 s\n${output.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    client = await FaceshardClient.connect(nats.url, { prefix });
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await Promise.all(
      pods.map(async (pod) => {
        if (pod.exited !== undefined) return;
        const exited = new Promise<void>((resolve) => pod.child.once('exit', () => resolve()));
        pod.child.kill('SIGTERM'); // what the kubelet sends; the services drain
        const timer = setTimeout(() => pod.child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await nats?.cleanup();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  test('every pod serves /healthz and /metrics on the port its probes use', async () => {
    assert.equal(pods.filter((p) => p.name.startsWith('faceshard-shard-')).length, shardCount, 'dev: one replica per shard');
    for (const pod of pods) {
      assert.equal((await httpGet(pod.httpPort, '/healthz')).status, 200, `${pod.name} /healthz`);
      const metrics = await httpGet(pod.httpPort, '/metrics');
      assert.equal(metrics.status, 200, `${pod.name} /metrics`);
      assert.match(metrics.body, /^# HELP /m);
    }
  });

  test('faces ingested through faces.ingest come back exactly, from every shard', async () => {
    assert.ok(client);
    // On the rows' grid, so an enrolled face's own vector finds it at distance 0.
    const people = onGrid(syntheticFaces({ identities: 150, photosPerIdentity: 4, seed: 61 }));
    const faces: FaceToIngest[] = people.ids.map((id, i) => ({ id, vector: people.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), meta: { path: `${id}.jpg` } }));
    const reply = await client.ingestMany(faces);
    assert.equal(reply.accepted, faces.length);
    assert.deepEqual(reply.rejected, []);
    assert.equal(Object.keys(reply.seq).length, shardCount, 'faces landed on every shard');

    // Enrolled faces themselves (each must find itself first, at distance 0) and random vectors.
    const enrolled = Array.from({ length: 12 }, (_, q) => q * 4);
    const queries = new Float32Array([...enrolled.flatMap((row) => Array.from(people.vectors.subarray(row * FACE_DIMENSIONS, (row + 1) * FACE_DIMENSIONS))), ...uniformVectors(3, 5)]);
    const queryVectors = Array.from({ length: queries.length / FACE_DIMENSIONS }, (_, q) => queries.subarray(q * FACE_DIMENSIONS, (q + 1) * FACE_DIMENSIONS));
    const k = 5;
    // Shards apply the log as it arrives: wait until they hold every face.
    const deadline = Date.now() + 15_000;
    let answer = await client.query(queryVectors, { k });
    while (answer.searched < faces.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await client.query(queryVectors, { k });
    }
    assert.equal(answer.searched, faces.length, `shards hold ${answer.searched} of ${faces.length} faces\n${output.join('')}`);
    assert.equal(answer.partial, false);
    assert.deepEqual(answer.shards, { total: shardCount, answered: shardCount });

    const expected = bruteForceSearch(people.vectors, people.ids, queries, k, FACE_DIMENSIONS);
    assert.equal(answer.results.length, expected.length);
    answer.results.forEach((list, q) => {
      assert.deepEqual(
        list.map((m) => m.id),
        expected[q].map((n) => n.id),
        `query ${q}`,
      );
      list.forEach((m, i) => assert.ok(Math.abs(m.distance - expected[q][i].distance) < 1e-6, `query ${q} rank ${i}: ${m.distance} vs ${expected[q][i].distance}`));
    });
    enrolled.forEach((row, q) => {
      assert.equal(answer.results[q][0].id, people.ids[row]);
      assert.equal(answer.results[q][0].distance, 0);
      assert.deepEqual(answer.results[q][0].meta, { path: `${people.ids[row]}.jpg` });
    });
  });
});
