// A manifest-driven local run: the rendered `dev` overlay, run on this machine, with
// authentication (and, in a second pass, with the TLS component) as the manifests say.
//
// The Secrets the README has you create come from the real tools, into a temp dir: the
// compiled `faceshard credentials --out DIR --shards N` writes nats-auth.conf and one
// <identity>.creds per identity, and `kubectl create secret generic NAME --from-file=FILE`
// gives Secret NAME a key named after the file; so Secret faceshard-creds-<id> key
// <id>.creds is DIR/<id>.creds, Secret faceshard-nats-auth key nats-auth.conf is
// DIR/nats-auth.conf. With TLS, certificates from openssl stand in for cert-manager's
// Secrets (faceshard-nats-tls: the server's, faceshard-nats-client-tls: the clients').
//
// NATS: the rendered StatefulSet's config directory is written out as the pod sees it
// (the ConfigMap's nats.conf and its TLS hooks, each Secret file it projects from its
// stand-in), and one local nats-server runs that nats.conf, its includes resolved to those
// files. Only what a machine without Kubernetes has to change: the client port, store dir
// and server name come from flags (store_dir, pid_file and http_port, fixed paths and
// ports of the pod, are taken out of nats.conf), sync_interval is dropped where the local
// server is older than 2.10.
//
// Then the init Job's container runs as its command line says ($(VAR) expanded as the
// kubelet does), twice (a retried or re-created Job must succeed again), and every
// faceshard Deployment of the overlay (the coordinator, each shard and the gateway) is started
// `replicas` times with exactly its container's command, args and env (ConfigMap envFrom
// resolved, env on top), with only these changes:
//   - a NATS_URL naming one of the overlay's Services points at the local NATS;
//   - the image's WORKDIR (/app) is the repository root, and its dist/ is the compiled
//     tree this test runs from (dist/ under `npm test`, or another tsc outDir);
//   - HTTP_PORT (and the gateway's GATEWAY_HTTP_PORT) gets a free port per process: several
//     pods share one machine here, each with its own network namespace in a cluster; the
//     probes follow the port they name;
//   - each Secret volume the container mounts becomes a temp dir holding exactly the items
//     it projects (with their modes), each emptyDir a temp dir; env values pointing into
//     a mount (NATS_CREDS, NATS_TLS_*, SNAPSHOT_DIR) follow it.
// Then: wait until each process's readinessProbe answers 200, ingest faces through
// faces.ingest as the writer, query, and compare with a brute-force scan; and through the
// gateway (its API keys Secret a file of generated keys, as docs/kubernetes.md has you
// write it): status, store a face and find it by its vector. It proves the manifests and
// the code agree. (The encoder Deployment is left out: it loads TensorFlow, ~10 s.)
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { connect } from 'nats';
import { FaceshardClient, type FaceToIngest } from '../../libs/nats/client/index.js';
import { bruteForceSearch } from '../../libs/index/face-index/index.js';
import { securityOptions, type NatsSecurity } from '../../libs/nats/nats-auth/index.js';
import { syntheticFaces, uniformVectors } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import {
  compiledRoot,
  faceshardContainers,
  hasKubectl,
  hasNatsServer,
  imageWorkdir,
  K8S_DIR,
  mountedFiles,
  natsServerConfig,
  renderKustomization,
  renderOverlayWith,
  repoRoot,
  resolveEnv,
  resolvePort,
  writeLocalNatsConfig,
  type FaceshardContainer,
  type K8sObject,
} from '../helpers/k8s.js';
import { GATEWAY_API_KEYS_KEY, GATEWAY_API_KEYS_SECRET } from '../helpers/k8s-gateway.js';
import { commandLine, credsKey, credsSecretName, initJobs, TLS_CLIENT_SECRET, TLS_SERVER_SECRET } from '../helpers/k8s-identity.js';
import { withNatsServer, type NatsTestServer } from '../helpers/nats.js';
import { onGrid } from '../helpers/stored.js';
import { makeTestCertificates } from '../helpers/tls.js';

const run = promisify(execFile);

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
  program: FaceshardContainer['program'];
  child: ChildProcess;
  /** The local ports of the container's HTTP_PORT (ops: /healthz, /metrics) and of its readinessProbe. */
  httpPort: number;
  readyPort: number;
  readyPath: string;
  /** The gateway's API (GATEWAY_HTTP_PORT), on its local port. */
  apiPort?: number;
  exited?: number | string;
}

/** Where the content of each Secret key comes from: a local file (the stand-ins of the header). */
type SecretStandIns = (secret: string, key: string) => string;

/** Command, args, env and cwd of one pod of a manifest container, mapped onto this machine (see the header). */
async function localProcessSpec(fc: FaceshardContainer, objects: K8sObject[], podName: string, natsUrl: string, secrets: SecretStandIns, tempDirs: string[]) {
  const workdir = imageWorkdir();
  const mapPath = (arg: string) =>
    arg.startsWith(`${workdir}/dist/`)
      ? join(compiledRoot(), arg.slice(`${workdir}/dist/`.length))
      : arg.startsWith(`${workdir}/`)
        ? join(repoRoot(), arg.slice(workdir.length + 1))
        : arg;

  const { env, problems } = resolveEnv(fc.container, objects, { 'metadata.name': podName, 'metadata.namespace': fc.workload.metadata.namespace ?? 'default' });
  assert.deepEqual(problems, []);
  // The kubelet expands $(VAR) in the command line with the container's env (as the pod sees it).
  const argv = commandLine(fc.container, env).map(mapPath);
  assert.equal(argv[0], 'node', `${fc.workload.metadata.name}: expected a node command, got ${argv[0]}`);
  const serviceNames = new Set(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
  if (env.NATS_URL) {
    env.NATS_URL = env.NATS_URL.split(',')
      .map((u) => (serviceNames.has(new URL(u.trim()).hostname.split('.')[0]) ? natsUrl : u.trim()))
      .join(',');
  }
  // The manifest's fixed ports -> free local ones (the probes name the manifest's).
  const localPorts = new Map<number, number>();
  for (const name of ['HTTP_PORT', 'GATEWAY_HTTP_PORT']) {
    if (env[name] === undefined) continue;
    const declared = Number(env[name]);
    assert.ok(declared > 0, `${fc.workload.metadata.name}: the manifest sets a fixed ${name}`);
    localPorts.set(declared, await freePort());
    env[name] = String(localPorts.get(declared));
  }
  const httpPort = env.HTTP_PORT === undefined ? 0 : Number(env.HTTP_PORT);
  const apiPort = env.GATEWAY_HTTP_PORT === undefined ? undefined : Number(env.GATEWAY_HTTP_PORT);
  // Volumes of the pod: an emptyDir is an empty temp dir, a Secret volume a temp dir with
  // exactly the files it projects; env values pointing into a mount follow it.
  const template = fc.template;
  const files = mountedFiles(template, fc.container, objects);
  for (const mount of fc.container.volumeMounts ?? []) {
    const volume = template.spec.volumes?.find((v) => v.name === mount.name);
    const secretFiles = files.filter((f) => f.kind === 'Secret' && f.path.startsWith(`${mount.mountPath}/`));
    if (mount.mountPath === '/tmp' || (!volume?.emptyDir && !secretFiles.length)) continue;
    const dir = mkdtempSync(join(tmpdir(), `faceshard-${podName}-${mount.name}-`));
    tempDirs.push(dir);
    for (const f of secretFiles) {
      const local = join(dir, f.path.slice(mount.mountPath.length + 1));
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, readFileSync(secrets(f.name, f.key)));
      chmodSync(local, f.mode); // 0440: readable by its owner (this user), as by fsGroup in the pod
    }
    for (const [k, v] of Object.entries(env)) if (v === mount.mountPath || v.startsWith(`${mount.mountPath}/`)) env[k] = dir + v.slice(mount.mountPath.length);
  }
  const probe = fc.container.readinessProbe?.httpGet;
  const readyPath = probe?.path ?? '/readyz';
  const probed = resolvePort(fc.container, probe?.port);
  const readyPort = probed === undefined ? httpPort : (localPorts.get(probed) ?? 0);
  if (probe)
    assert.ok(readyPort, `${fc.workload.metadata.name}: its readinessProbe asks port ${probe.port}, which neither HTTP_PORT nor GATEWAY_HTTP_PORT sets`);
  // Only the manifest's env (plus PATH): a container does not inherit this machine's.
  const spawnEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
  return { command: process.execPath, args: argv.slice(1), env: spawnEnv, cwd: repoRoot(), httpPort, apiPort, readyPort, readyPath };
}

/** Runs a Job's container to completion (as the kubelet would, once); its exit code and output. */
async function runToCompletion(spec: Awaited<ReturnType<typeof localProcessSpec>>): Promise<{ code: number | null; output: string }> {
  const child = spawn(spec.command, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

for (const variant of [
  { name: 'with authentication', components: [] as string[] },
  { name: 'with authentication and the TLS component', components: ['tls'] },
]) {
  describe(`the dev overlay, run locally from its manifests, ${variant.name}`, { skip }, () => {
    let objects: K8sObject[] = [];
    let nats: NatsTestServer | undefined;
    let client: FaceshardClient | undefined;
    let writer: NatsSecurity = {};
    // The gateway's API keys (the Secret faceshard-gateway-api-keys' file).
    const keys = { reader: `reader-${randomBytes(12).toString('hex')}`, writer: `writer-${randomBytes(12).toString('hex')}` };
    const pods: Pod[] = [];
    const output: string[] = [];
    const tempDirs: string[] = [];
    const initRuns: Array<{ code: number | null; output: string }> = [];
    let shardCount = 0;
    let prefix = 'faces';

    before(async () => {
      objects = variant.components.length ? await renderOverlayWith('dev', variant.components) : await renderKustomization(join(K8S_DIR(), 'overlays', 'dev'));
      const config = resolveEnv(faceshardContainers(objects).find((fc) => fc.program === 'coordinator')!.container, objects).env;
      shardCount = Number(config.SHARD_COUNT);
      prefix = config.SUBJECT_PREFIX ?? prefix;

      // The Secrets, from the tools the README names (see the header).
      const credsDir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-creds-'));
      tempDirs.push(credsDir);
      await run(process.execPath, [
        join(compiledRoot(), 'cli', 'faceshard.js'),
        'credentials',
        '--out',
        credsDir,
        '--shards',
        String(shardCount),
        '--prefix',
        prefix,
      ]);
      const fromFiles = new Map<string, string[]>([['faceshard-nats-auth', [join(credsDir, 'nats-auth.conf')]]]);
      for (const id of ['admin', 'writer', 'reader', 'coordinator', 'encoder', 'gateway', ...Array.from({ length: shardCount }, (_, i) => `shard-${i}`)])
        fromFiles.set(credsSecretName(id), [join(credsDir, credsKey(id))]);
      // docs/kubernetes.md's API keys file: lines KEY ROLE NAME, Secret faceshard-gateway-api-keys key api-keys.
      writeFileSync(join(credsDir, GATEWAY_API_KEYS_KEY), `${keys.reader} reader k8s-local\n${keys.writer} writer k8s-local\n`, { mode: 0o600 });
      fromFiles.set(GATEWAY_API_KEYS_SECRET, [join(credsDir, GATEWAY_API_KEYS_KEY)]);
      if (variant.components.includes('tls')) {
        const certDir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-certs-'));
        tempDirs.push(certDir);
        const certs = makeTestCertificates(certDir);
        // cert-manager's key names: copies named tls.crt, tls.key, ca.crt (what --from-file keys by).
        const secretDir = (name: string, crt: string, key: string) => {
          const dir = join(certDir, name);
          mkdirSync(dir);
          const out = [join(dir, 'tls.crt'), join(dir, 'tls.key'), join(dir, 'ca.crt')];
          [crt, key, certs.ca].forEach((from, i) => writeFileSync(out[i], readFileSync(from)));
          fromFiles.set(name, out);
        };
        secretDir(TLS_SERVER_SECRET, certs.serverCert, certs.serverKey);
        secretDir(TLS_CLIENT_SECRET, certs.clientCert, certs.clientKey);
      }
      const secrets: SecretStandIns = (name, key) => {
        const file = fromFiles.get(name)?.find((f) => basename(f) === key);
        if (!file) throw new Error(`the manifests mount Secret ${name} key ${key}, which the README's commands do not create`);
        return file;
      };
      const asIdentity = (id: string): NatsSecurity => {
        const tls = fromFiles.get(TLS_CLIENT_SECRET);
        return { creds: secrets(credsSecretName(id), credsKey(id)), ...(tls ? { tlsCa: tls[2], tlsCert: tls[0], tlsKey: tls[1] } : {}) };
      };
      writer = asIdentity('writer');

      // NATS, from the StatefulSet's config directory.
      const natsConfig = natsServerConfig(objects);
      assert.ok(natsConfig, 'the NATS StatefulSet');
      const natsDir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-nats-'));
      tempDirs.push(natsDir);
      const secretFiles = Object.fromEntries(
        [...natsConfig.files.values()].filter((f) => f.kind === 'Secret').map((f) => [f.key, readFileSync(secrets(f.name, f.key), 'utf8')]),
      );
      const confPath = writeLocalNatsConfig(natsConfig, natsDir, secretFiles, (conf) =>
        conf
          .replace(/^pid_file:.*$/m, `pid_file: "${join(natsDir, 'nats.pid')}"`)
          .replace(/^http_port:.*$/m, "# http_port: the pod's monitoring port (not needed here)")
          .replace(/^(\s*)store_dir:.*$/m, '$1# store_dir: the PVC in the pod; here a temp dir (-sd)'),
      );
      const serverName = resolveEnv(natsConfig.container, objects, { 'metadata.name': `${natsConfig.sts.metadata.name}-0` }).env.SERVER_NAME;
      const savedServerName = process.env.SERVER_NAME;
      process.env.SERVER_NAME = serverName; // nats.conf's $SERVER_NAME (the pod name, from the downward API)
      try {
        nats = await withNatsServer({ configFile: confPath, probeOptions: securityOptions(asIdentity('admin')).options });
      } finally {
        if (savedServerName === undefined) delete process.env.SERVER_NAME;
        else process.env.SERVER_NAME = savedServerName;
      }

      // The init Job, as admin; run twice: a retried or re-created Job must succeed again.
      const [init] = initJobs(objects);
      assert.ok(init, 'the init Job');
      for (let attempt = 0; attempt < 2; attempt++) {
        const spec = await localProcessSpec(init.fc, objects, `${init.fc.workload.metadata.name}-${attempt}`, nats.url, secrets, tempDirs);
        initRuns.push(await runToCompletion(spec));
      }
      for (const [i, r] of initRuns.entries()) assert.equal(r.code, 0, `init Job run ${i + 1} failed:\n${r.output}`);

      const workloads = faceshardContainers(objects).filter(
        (fc) => fc.workload.kind === 'Deployment' && (fc.program === 'coordinator' || fc.program === 'shard' || fc.program === 'gateway'),
      );
      for (const program of ['coordinator', 'shard', 'gateway'])
        assert.ok(
          workloads.some((w) => w.program === program),
          `a ${program} Deployment`,
        );
      for (const fc of workloads) {
        const replicas = Number(fc.workload.spec?.replicas ?? 1);
        for (let r = 0; r < replicas; r++) {
          const name = `${fc.workload.metadata.name}-${r}`;
          const spec = await localProcessSpec(fc, objects, name, nats.url, secrets, tempDirs);
          const child = spawn(spec.command, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
          const pod: Pod = {
            name,
            program: fc.program,
            child,
            httpPort: spec.httpPort,
            readyPort: spec.readyPort,
            readyPath: spec.readyPath,
            apiPort: spec.apiPort,
          };
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
          const res = await httpGet(pod.readyPort, pod.readyPath).catch(() => undefined);
          if (res?.status === 200) break;
          if (Date.now() > deadline) assert.fail(`${pod.name} not ready after 30 s\n${output.join('')}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      client = await FaceshardClient.connect(nats.url, { prefix, security: writer });
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

    test('the NATS server the manifests configure refuses a connection without credentials', async () => {
      assert.ok(nats);
      const tls = writer.tlsCa ? { tls: { caFile: writer.tlsCa, certFile: writer.tlsCert, keyFile: writer.tlsKey } } : {};
      await assert.rejects(
        connect({ servers: nats.url, reconnect: false, timeout: 3_000, ...tls }).then((nc) => nc.close()),
        (err: { code?: string; message: string }) => /AUTHORIZATION_VIOLATION/i.test(`${err.code} ${err.message}`),
      );
      if (writer.tlsCa) {
        // With TLS, the server also wants the client's certificate (verify: true).
        await assert.rejects(connect({ servers: nats.url, reconnect: false, timeout: 3_000, tls: { caFile: writer.tlsCa } }).then((nc) => nc.close()));
      }
    });

    test('the init Job ran as admin, and a second run changed nothing and succeeded', () => {
      assert.equal(initRuns.length, 2);
      for (const r of initRuns) assert.match(r.output, new RegExp(`initialized: .*${shardCount} shards`));
    });

    test('every pod serves /healthz and /metrics on the port its probes use', async () => {
      assert.equal(pods.filter((p) => p.name.startsWith('faceshard-shard-')).length, shardCount, 'dev: one replica per shard');
      for (const pod of pods) {
        assert.equal((await httpGet(pod.httpPort, '/healthz')).status, 200, `${pod.name} /healthz`);
        const metrics = await httpGet(pod.httpPort, '/metrics');
        assert.equal(metrics.status, 200, `${pod.name} /metrics`);
        assert.match(metrics.body, /^# HELP /m);
      }
      // Each ran as the identity its Secret holds (the services log the creds file's path).
      const identity: Partial<Record<Pod['program'], string>> = { coordinator: 'coordinator', shard: 'shard-\\d+', gateway: 'gateway' };
      for (const pod of pods)
        assert.match(
          output.filter((l) => l.startsWith(`[${pod.name}]`)).join(''),
          new RegExp(`"msg":"connected to NATS".*"creds":"[^"]*/${identity[pod.program]}\\.creds"`),
          `${pod.name} connected with its creds`,
        );
    });

    test('faces ingested through faces.ingest come back exactly, from every shard', async () => {
      assert.ok(client);
      // On the rows' grid, so an enrolled face's own vector finds it at distance 0.
      const people = onGrid(syntheticFaces({ identities: 150, photosPerIdentity: 4, seed: 61 }));
      const faces: FaceToIngest[] = people.ids.map((id, i) => ({
        id,
        vector: people.vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS),
        meta: { path: `${id}.jpg` },
      }));
      const reply = await client.ingestMany(faces);
      assert.equal(reply.accepted, faces.length);
      assert.deepEqual(reply.rejected, []);
      assert.equal(Object.keys(reply.seq).length, shardCount, 'faces landed on every shard');

      // Enrolled faces themselves (each must find itself first, at distance 0) and random vectors.
      const enrolled = Array.from({ length: 12 }, (_, q) => q * 4);
      const queries = new Float32Array([
        ...enrolled.flatMap((row) => Array.from(people.vectors.subarray(row * FACE_DIMENSIONS, (row + 1) * FACE_DIMENSIONS))),
        ...uniformVectors(3, 5),
      ]);
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
        list.forEach((m, i) =>
          assert.ok(Math.abs(m.distance - expected[q][i].distance) < 1e-6, `query ${q} rank ${i}: ${m.distance} vs ${expected[q][i].distance}`),
        );
      });
      enrolled.forEach((row, q) => {
        assert.equal(answer.results[q][0].id, people.ids[row]);
        assert.equal(answer.results[q][0].distance, 0);
        assert.deepEqual(answer.results[q][0].meta, { path: `${people.ids[row]}.jpg` });
      });
    });

    test('the gateway, as its Deployment runs it: no key 401; a reader reads the status and searches, a writer stores', async () => {
      const gateway = pods.find((p) => p.program === 'gateway');
      assert.ok(gateway?.apiPort, 'the gateway pod and its API port');
      const api = (path: string, key?: string, body?: unknown) =>
        fetch(`http://127.0.0.1:${gateway.apiPort}${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      assert.equal((await api('/v1/status')).status, 401);
      const status = await api('/v1/status', keys.reader);
      assert.equal(status.status, 200);
      const { shards } = (await status.json()) as { shards: Array<{ index: number; replicas: Array<{ ready: boolean }> }> };
      assert.deepEqual(
        shards.map((s) => [s.index, s.replicas.every((r) => r.ready)]),
        Array.from({ length: shardCount }, (_, i) => [i, true]),
      );

      const vector = Array.from(onGrid({ vectors: uniformVectors(1, 77) }).vectors);
      const face = { id: 'k8s-local/gateway.jpg#0', vector, meta: { path: 'gateway.jpg' } };
      assert.equal((await api('/v1/faces', keys.reader, { faces: [face] })).status, 403, 'a reader key may not store');
      const stored = await api('/v1/faces', keys.writer, { faces: [face] });
      const storedReply = (await stored.json()) as { accepted: number; seq: Record<string, number> };
      assert.equal(stored.status, 200, JSON.stringify(storedReply));
      assert.equal(storedReply.accepted, 1);

      const found = await api('/v1/search', keys.reader, { vectors: [vector], k: 1, minSeq: storedReply.seq });
      const answer = (await found.json()) as { results: Array<Array<{ id: string; distance: number }>>; partial: boolean };
      assert.equal(found.status, 200, JSON.stringify(answer));
      assert.equal(answer.partial, false);
      assert.deepEqual(answer.results[0][0], { ...answer.results[0][0], id: face.id, distance: 0 });
    });
  });
}
