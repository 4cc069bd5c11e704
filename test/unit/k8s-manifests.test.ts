// The Kubernetes manifests (deploy/k8s) against the code: every overlay renders, every
// object is valid for the Kubernetes API, every env name a container sets is one its
// service's zod schema reads (and every required one is set), SHARD_COUNT matches the
// shard Deployments, probes point at HTTP_PORT. The schemas are read at test time, so a
// key added to or renamed in a service's config shows up here, not in a cluster.
// Offline: `kubectl kustomize` renders (the tests skip with a message without kubectl).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  compiledRoot,
  envProblems,
  faceshardContainers,
  findObject,
  hasKubectl,
  natsBlock,
  natsConfigProblems,
  natsRoutesModule,
  natsServerConfig,
  networkPolicyProblems,
  secretMaterialProblems,
  writeLocalNatsConfig,
  hasNatsServer,
  imageWorkdir,
  isFaceshardImage,
  K8S_DIR,
  overlayDirs,
  probeProblems,
  renderKustomization,
  renderOverlays,
  repoRoot,
  resolveEnv,
  securityProblems,
  shardDeployments,
  shardProblems,
  wiringProblems,
  manifestObjects,
  renderOverlayWith,
  validateAgainstApiSchema,
  type K8sObject,
} from '../helpers/k8s.js';
import {
  credentialsProblems,
  credsSecretName,
  expandCommand,
  identityFor,
  initJobProblems,
  initJobs,
  natsTls,
  TLS_CLIENT_SECRET,
  TLS_SERVER_SECRET,
} from '../helpers/k8s-identity.js';
import { makeTestCertificates } from '../helpers/tls.js';

const run = promisify(execFile);
const KUBECTL = hasKubectl();
const skipNoKubectl = KUBECTL ? false : 'kubectl is not installed: the manifests cannot be rendered here (install kubectl to run these tests)';

/** What the issue asks of each overlay: NATS servers, shards, replicas per shard, replicas of the FACES stream. */
const EXPECTED: Record<string, { nats: number; shards: number; replicas: number; streamReplicas: number }> = {
  dev: { nats: 1, shards: 2, replicas: 1, streamReplicas: 1 },
  prod: { nats: 3, shards: 4, replicas: 2, streamReplicas: 3 },
};

/** The NATS identity each faceshard workload runs as (issue 20's roles). */
function expectedIdentities(shards: number): Record<string, string> {
  const out: Record<string, string> = {
    'Deployment/faceshard-coordinator': 'coordinator',
    'Deployment/faceshard-encoder': 'encoder',
    'Deployment/faceshard-gateway': 'gateway',
    'CronJob/faceshard-encode-enqueue': 'writer',
    'Job/faceshard-init': 'admin',
  };
  for (let i = 0; i < shards; i++) out[`Deployment/faceshard-shard-${i}`] = `shard-${i}`;
  return out;
}

const clone = <T>(x: T): T => structuredClone(x);
const noProblems = (problems: string[]) => {
  if (problems.length) assert.fail(problems.join('\n'));
};

describe('kustomize sources', () => {
  test('no deprecated kustomize fields (bases, patchesStrategicMerge, patchesJson6902, commonLabels, vars)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name === 'kustomization.yaml') files.push(join(dir, e.name));
      }
    };
    walk(K8S_DIR());
    assert.ok(files.length >= 3, 'base and two overlays');
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const bad = /^(bases|patchesStrategicMerge|patchesJson6902|commonLabels|vars)\s*:/m.exec(text);
      assert.equal(bad, null, `${relative(repoRoot(), f)} uses the deprecated field ${bad?.[1]}`);
    }
  });

  test("the generated shard Deployments are up to date with each overlay's shards.env", async () => {
    const script = join(K8S_DIR(), 'generate-shards.mjs');
    await run(process.execPath, [script, '--check'], { cwd: repoRoot() }).catch((err: { stderr?: string; message: string }) => {
      assert.fail(`deploy/k8s/generate-shards.mjs --check: ${err.stderr || err.message}`);
    });
  });

  test('the image WORKDIR is where the manifests run dist/ from', () => {
    assert.equal(imageWorkdir(), '/app');
  });

  test('the Dockerfile copies every source folder tsconfig compiles (tests and benchmarks aside)', () => {
    const tsconfig = JSON.parse(readFileSync(join(repoRoot(), 'tsconfig.json'), 'utf8')) as { include: string[] };
    const roots = new Set(tsconfig.include.map((p) => p.split('/')[0]).filter((r) => r !== 'test' && r !== 'bench'));
    const dockerfile = readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8');
    for (const root of roots) assert.match(dockerfile, new RegExp(`^COPY ${root} `, 'm'), `the Dockerfile does not copy ${root}/ into the build stage`);
  });
});

describe('rendered overlays', { skip: skipNoKubectl }, () => {
  let rendered = new Map<string, K8sObject[]>();
  before(async () => {
    rendered = await renderOverlays();
  });

  test('every overlay renders with kubectl kustomize, and dev and prod exist', () => {
    assert.deepEqual([...rendered.keys()].filter((n) => n in EXPECTED).sort(), Object.keys(EXPECTED).sort());
    for (const [name, objects] of rendered) assert.ok(objects.length > 10, `${name}: only ${objects.length} objects`);
  });

  test('every rendered object validates against the Kubernetes API schema (kubernetes-models)', async () => {
    for (const [name, objects] of rendered) {
      for (const obj of objects) {
        await validateAgainstApiSchema(obj).catch((err: Error) => assert.fail(`${name}: ${err.message}`));
      }
    }
  });

  test("every env name a faceshard container sets is read by its service's zod schema, and every required one is set", () => {
    for (const [name, objects] of rendered) {
      const programs = new Set(faceshardContainers(objects).map((fc) => fc.program));
      assert.deepEqual([...programs].sort(), ['cli', 'coordinator', 'encoder', 'gateway', 'shard'], `${name}: workloads`);
      noProblems(envProblems(objects).map((p) => `${name}: ${p}`));
    }
  });

  test('SHARD_COUNT equals the number of shard Deployments, whose SHARD_INDEX values are 0..N-1', () => {
    for (const [name, objects] of rendered) {
      noProblems(shardProblems(objects).map((p) => `${name}: ${p}`));
      const expected = EXPECTED[name];
      if (!expected) continue;
      const shards = shardDeployments(objects);
      assert.equal(shards.length, expected.shards, `${name}: shards`);
      for (const s of shards) assert.equal(s.replicas, expected.replicas, `${name}: replicas of ${s.name}`);
    }
  });

  test('probes and Prometheus annotations point at the HTTP_PORT each container sets', () => {
    for (const [name, objects] of rendered) noProblems(probeProblems(objects).map((p) => `${name}: ${p}`));
  });

  test('selectors, Services, PDBs and ConfigMap references are wired up', () => {
    for (const [name, objects] of rendered) {
      noProblems(wiringProblems(objects).map((p) => `${name}: ${p}`));
      const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name);
      for (const s of shardDeployments(objects)) assert.ok(pdbs.includes(s.name), `${name}: no PodDisruptionBudget for ${s.name}`);
      for (const n of ['faceshard-nats', 'faceshard-coordinator', 'faceshard-gateway']) assert.ok(pdbs.includes(n), `${name}: no PodDisruptionBudget ${n}`);
    }
  });

  test('every container runs non-root, read-only root filesystem, no privilege escalation, no capabilities', () => {
    for (const [name, objects] of rendered) noProblems(securityProblems(objects).map((p) => `${name}: ${p}`));
  });

  test("faceshard containers run compiled entry points that exist, from the overlay's image", () => {
    for (const [name, objects] of rendered) {
      for (const fc of faceshardContainers(objects)) {
        assert.ok(!fc.entry.startsWith('<'), `${name}: ${fc.workload.metadata.name} runs ${fc.entry}`);
        assert.ok(existsSync(join(compiledRoot(), fc.entry)), `${name}: ${fc.workload.metadata.name} runs dist/${fc.entry}, which the build does not produce`);
        assert.match(fc.container.image ?? '', /:[^/:]+$/, `${name}: ${fc.workload.metadata.name}: the overlay sets no image tag`);
        assert.equal(fc.container.command?.[0], 'node');
      }
    }
  });

  test('NATS: a StatefulSet with JetStream on PVCs, routes to every pod, lame duck on preStop, probes on /healthz', async () => {
    for (const [name, objects] of rendered) {
      const sts = findObject(objects, 'StatefulSet', 'faceshard-nats');
      assert.ok(sts, `${name}: no NATS StatefulSet`);
      const replicas = Number(sts.spec.replicas);
      if (EXPECTED[name]) assert.equal(replicas, EXPECTED[name].nats, `${name}: NATS servers`);
      assert.equal(sts.spec.volumeClaimTemplates?.[0]?.metadata?.name, 'data');
      const container = sts.spec.template.spec.containers[0];
      assert.match(container.image, /^nats:\d+\.\d+\.\d+-alpine$/, 'a pinned official nats image');
      assert.deepEqual(container.lifecycle?.preStop?.exec?.command?.slice(0, 2), ['nats-server', '--signal']);
      assert.match(container.lifecycle.preStop.exec.command[2], /^ldm=/);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        assert.match(container[probe]?.httpGet?.path ?? '', /^\/healthz/, `${name}: NATS ${probe}`);
        assert.equal(container.ports.find((p: { name: string }) => p.name === container[probe].httpGet.port)?.containerPort, 8222);
      }
      const nats = natsServerConfig(objects);
      assert.ok(nats, `${name}: no NATS config`);
      const conf = nats.conf;
      assert.ok(conf, `${name}: no nats.conf from a ConfigMap at ${nats.configPath}`);
      assert.match(conf, /jetstream\s*\{[^}]*store_dir:\s*"?\/data/);
      assert.match(conf, /pid_file:\s*"?\/var\/run\/nats\/nats\.pid/);
      noProblems(natsConfigProblems(objects).map((p) => `${name}: ${p}`));
      // Route URLs (in the Secret, written by deploy/k8s/nats-routes.mjs with its defaults)
      // name every pod of this StatefulSet under its headless Service, on the cluster port.
      const routesModule = await natsRoutesModule();
      const password = routesModule.newPassword();
      const routesConf = routesModule.renderRoutesConf({ password, urls: routesModule.routeUrls({ replicas, password }) });
      if (replicas > 1) {
        const clusterPort = Number(/^\s*port:\s*(\d+)/m.exec(natsBlock(conf, 'cluster') ?? '')?.[1]);
        assert.equal(container.ports.find((p: { name: string }) => p.name === 'cluster')?.containerPort, clusterPort, `${name}: the cluster port`);
        for (let i = 0; i < replicas; i++) {
          assert.ok(
            routesConf.includes(`nats://${routesModule.ROUTE_USER}:${password}@${sts.metadata.name}-${i}.${sts.spec.serviceName}:${clusterPort}`),
            `${name}: nats-routes.mjs writes no route to pod ${i}`,
          );
        }
      } else {
        assert.doesNotMatch(conf, /^\s*cluster\s*\{/m, `${name}: a single NATS server must not configure a cluster (no quorum)`);
      }
      // nats.conf and what it includes form a config nats-server accepts (checked with the
      // local nats-server, 2.9+: settings of 2.10 it does not know are taken out first).
      if (hasNatsServer()) {
        const dir = mkdtempSync(join(tmpdir(), 'faceshard-natsconf-'));
        try {
          const secrets = { 'nats-auth.conf': '# stand-in for the Secret faceshard-nats-auth\n', 'routes.conf': routesConf };
          const path = writeLocalNatsConfig(nats, dir, secrets);
          await run('nats-server', ['-c', path, '-t'], { env: { ...process.env, SERVER_NAME: 'faceshard-nats-0' } }).catch(
            (err: { stderr?: string; message: string }) => assert.fail(`${name}: nats-server rejects nats.conf: ${err.stderr || err.message}`),
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      // The NATS_URL every service gets names the client Service.
      const svc = findObject(objects, 'Service', 'faceshard-nats');
      assert.ok(svc, 'client Service faceshard-nats');
      for (const fc of faceshardContainers(objects)) {
        const url = resolveEnv(fc.container, objects).env.NATS_URL ?? '';
        for (const u of url.split(','))
          assert.equal(new URL(u.trim()).hostname.split('.')[0], 'faceshard-nats', `${name}: ${fc.workload.metadata.name} NATS_URL ${url}`);
      }
    }
  });

  test("no ConfigMap, env literal or command line holds a password, an nkey seed, a key or the server's authorization", () => {
    for (const [name, objects] of rendered) noProblems(secretMaterialProblems(objects).map((p) => `${name}: ${p}`));
  });

  test('NetworkPolicies: default deny; NATS 4222 from faceshard pods and labelled clients only, 6222 between NATS pods, 8222 and HTTP_PORT from the monitoring namespace', () => {
    for (const [name, objects] of rendered) noProblems(networkPolicyProblems(objects).map((p) => `${name}: ${p}`));
  });

  test('every workload runs as its own NATS identity: NATS_CREDS names a file of its own Secret faceshard-creds-<identity>, mounted read-only, and its pod reads no other Secret', () => {
    for (const [name, objects] of rendered) {
      noProblems(credentialsProblems(objects).map((p) => `${name}: ${p}`));
      const identities = Object.fromEntries(
        faceshardContainers(objects).map((fc) => [`${fc.workload.kind}/${fc.workload.metadata.name}`, identityFor(fc, objects)]),
      );
      assert.deepEqual(identities, expectedIdentities(EXPECTED[name]?.shards ?? shardDeployments(objects).length), `${name}: identities`);
    }
  });

  test("an init Job runs `faceshard admin init` as admin with the overlay's shard count and stream replicas (dev 1, prod 3), and the NetworkPolicies let it reach NATS", () => {
    for (const [name, objects] of rendered) {
      noProblems(initJobProblems(objects, EXPECTED[name]?.streamReplicas).map((p) => `${name}: ${p}`));
      const [job] = initJobs(objects);
      assert.equal(job.fc.workload.metadata.name, 'faceshard-init');
      assert.deepEqual(
        job.argv.slice(2),
        ['admin', 'init', '--shards', String(EXPECTED[name]?.shards), '--stream-replicas', String(EXPECTED[name]?.streamReplicas)],
        `${name}: what the kubelet runs`,
      );
      // Its pod security and NetworkPolicy coverage are the general checks' (every workload):
      // make sure they did look at it.
      assert.equal(
        job.fc.template.metadata?.labels?.['app.kubernetes.io/name'],
        'faceshard',
        `${name}: the init Job's pods are faceshard pods for the NetworkPolicies`,
      );
    }
  });

  test('without the TLS component, NATS serves no TLS and no container is configured for it', () => {
    for (const [name, objects] of rendered) {
      const tls = natsTls(objects);
      noProblems(tls.problems.map((p) => `${name}: ${p}`));
      assert.deepEqual([tls.client, tls.routes], [false, false], `${name}: TLS is off by default`);
    }
  });

  test('shards: snapshot volume at SNAPSHOT_DIR, startupProbe budget of minutes for replay, memory sized', () => {
    for (const [name, objects] of rendered) {
      for (const s of shardDeployments(objects)) {
        const env = resolveEnv(s.container, objects).env;
        assert.ok(env.SNAPSHOT_DIR, `${name}: ${s.name} sets no SNAPSHOT_DIR`);
        assert.ok(
          s.container.volumeMounts?.some((m) => m.mountPath === env.SNAPSHOT_DIR),
          `${name}: ${s.name}: nothing mounted at SNAPSHOT_DIR ${env.SNAPSHOT_DIR}`,
        );
        const sp = s.container.startupProbe as { periodSeconds?: number; failureThreshold?: number };
        const budget = (sp.periodSeconds ?? 10) * (sp.failureThreshold ?? 3);
        assert.ok(budget >= 300, `${name}: ${s.name}: startup budget ${budget} s is too short for a replay`);
        const resources = (s.workload.spec.template.spec.containers[0] as { resources?: { requests?: { memory?: string }; limits?: { memory?: string } } })
          .resources;
        assert.ok(resources?.requests?.memory && resources?.limits?.memory, `${name}: ${s.name}: memory request and limit`);
      }
    }
  });
});

describe('the checks catch broken manifests', { skip: skipNoKubectl }, () => {
  let objects: K8sObject[] = [];
  before(async () => {
    objects = await renderKustomization(join(K8S_DIR(), 'overlays', 'dev'));
  });
  const shardContainer = (objs: K8sObject[]) => shardDeployments(objs)[0].container;

  test('a typo in an env name, or a missing required one, is reported', () => {
    const broken = clone(objects);
    const e = shardContainer(broken).env!.find((v) => v.name === 'SHARD_INDEX')!;
    e.name = 'SHARD_INDX';
    const problems = envProblems(broken).join('\n');
    assert.match(problems, /sets SHARD_INDX .* does not read/);
    assert.match(problems, /does not set SHARD_INDEX, which the shard requires/);
  });

  test('a ConfigMap key no service reads is reported', () => {
    const broken = clone(objects);
    const cm = broken.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-config'))!;
    cm.data!.SHARD_CONUT = '2';
    assert.match(envProblems(broken).join('\n'), /sets SHARD_CONUT \(from ConfigMap/);
  });

  test('a value the schema refuses is reported', () => {
    const broken = clone(objects);
    const cm = broken.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-config'))!;
    cm.data!.LOG_LEVEL = 'verbose';
    assert.match(envProblems(broken).join('\n'), /LOG_LEVEL/);
  });

  test('a probe on another port than HTTP_PORT, or a random HTTP_PORT, is reported', () => {
    const broken = clone(objects);
    shardContainer(broken).readinessProbe!.httpGet!.port = 9090;
    assert.match(probeProblems(broken).join('\n'), /readinessProbe targets port 9090/);
    const random = clone(objects);
    shardContainer(random).env!.find((v) => v.name === 'HTTP_PORT')!.value = '0';
    assert.match(probeProblems(random).join('\n'), /HTTP_PORT must be a fixed port/);
  });

  test('a missing shard or a duplicated SHARD_INDEX is reported', () => {
    const missing = clone(objects).filter((o) => o.metadata.name !== 'faceshard-shard-1' || o.kind !== 'Deployment');
    assert.match(shardProblems(missing).join('\n'), /SHARD_COUNT is 2 but there are 1 shard Deployments/);
    const dup = clone(objects);
    shardDeployments(dup)[1].container.env!.find((v) => v.name === 'SHARD_INDEX')!.value = '0';
    assert.match(shardProblems(dup).join('\n'), /SHARD_INDEX values are 0,0/);
  });

  test('an object the API would refuse fails kubernetes-models validation', async () => {
    const broken = clone(objects);
    const dep = broken.find((o) => o.kind === 'Deployment')!;
    dep.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    await assert.rejects(validateAgainstApiSchema(dep), /containerPort must be integer/);
  });

  test('a writable root filesystem or a pod running as root is reported', () => {
    const broken = clone(objects);
    const c = shardContainer(broken);
    c.securityContext!.readOnlyRootFilesystem = false;
    assert.match(securityProblems(broken).join('\n'), /root filesystem is writable/);
  });

  test('a missing default deny, a missing NATS policy or an allow-all policy is reported', () => {
    const noDeny = clone(objects).filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'faceshard-default-deny'));
    assert.match(networkPolicyProblems(noDeny).join('\n'), /no default-deny NetworkPolicy/);
    const noClients = clone(objects).filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'faceshard-nats-clients'));
    assert.match(networkPolicyProblems(noClients).join('\n'), /Deployment\/faceshard-coordinator cannot reach NATS on 4222/);
    const noEgress = clone(objects).filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'faceshard-egress'));
    assert.match(networkPolicyProblems(noEgress).join('\n'), /faceshard-shard-0 cannot reach NATS on 4222/);
    const open = clone(objects);
    open.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-all', namespace: 'faceshard-dev' },
      spec: { podSelector: {}, ingress: [{}] },
    });
    const problems = networkPolicyProblems(open).join('\n');
    assert.match(problems, /a pod in an unlabelled namespace can reach NATS on 4222/);
    assert.match(problems, /a pod in an unlabelled namespace can reach NATS on 8222/);
  });

  test('nats.conf without its Secret-borne authorization, with it in a ConfigMap, or without sync_interval always is reported', () => {
    const natsConfigMap = (objs: K8sObject[]) => objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-nats-config'))!;
    const noInclude = clone(objects);
    natsConfigMap(noInclude).data!['nats.conf'] = natsConfigMap(noInclude).data!['nats.conf'].replace(/^include "nats-auth.conf"$/m, '');
    assert.match(natsConfigProblems(noInclude).join('\n'), /does not include the server's authorization/);
    const inConfigMap = clone(objects);
    const sts = findObject(inConfigMap, 'StatefulSet', 'faceshard-nats')!;
    sts.spec.template.spec.volumes[0].projected.sources = sts.spec.template.spec.volumes[0].projected.sources.filter(
      (src: { secret?: unknown }) => !src.secret,
    );
    natsConfigMap(inConfigMap).data!['nats-auth.conf'] = 'operator: "eyJ0eXAi.x.y"\n';
    assert.match(natsConfigProblems(inConfigMap).join('\n'), /nats-auth.conf comes from ConfigMap/);
    assert.match(secretMaterialProblems(inConfigMap).join('\n'), /key nats-auth.conf holds server authorization/);
    const noSync = clone(objects);
    natsConfigMap(noSync).data!['nats.conf'] = natsConfigMap(noSync).data!['nats.conf'].replace(/^\s*sync_interval:.*$/m, '');
    assert.match(natsConfigProblems(noSync).join('\n'), /sync_interval: always/);
    const missingFile = clone(objects);
    natsConfigMap(missingFile).data!['nats.conf'] += '\ninclude "extra.conf"\n';
    assert.match(natsConfigProblems(missingFile).join('\n'), /includes extra.conf, which no volume puts beside it/);
  });

  test('a cluster whose routes sit in the ConfigMap, unauthenticated, is reported', async () => {
    const prod = await renderKustomization(join(K8S_DIR(), 'overlays', 'prod'));
    noProblems(natsConfigProblems(prod));
    const cm = prod.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-nats-config'))!;
    cm.data!['nats.conf'] = cm.data!['nats.conf'].replace(/^\s*include "routes.conf"$/m, '  routes: [ nats://faceshard-nats-0.faceshard-nats-headless:6222 ]');
    const problems = natsConfigProblems(prod).join('\n');
    assert.match(problems, /cluster \{\} includes no file from a Secret/);
    assert.match(problems, /routes are listed in the ConfigMap/);
  });

  test('a password, an nkey seed or a key in a ConfigMap, an env literal or a command line is reported', () => {
    const broken = clone(objects);
    const cm = broken.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-config'))!;
    cm.data!.NATS_URL = 'nats://admin:hunter2@faceshard-nats:4222';
    cm.data!.SEED = 'SUAM2HCUJ5CUMNIXCPE7KXJ46U3ACRPAYJQOF4GJLMHY3CUKNZSYNYR4ZA';
    const c = shardContainer(broken);
    c.env!.push({ name: 'NATS_PASSWORD', value: 'hunter2' });
    c.args = ['--tls-key', '-----BEGIN PRIVATE KEY-----'];
    const problems = secretMaterialProblems(broken).join('\n');
    assert.match(problems, /key NATS_URL holds a URL with credentials/);
    assert.match(problems, /key SEED holds an nkey seed/);
    assert.match(problems, /env NATS_PASSWORD holds a password/);
    assert.match(problems, /command line holds a PEM block/);
  });

  test("a workload with another identity's Secret, an extra Secret, no or a dangling NATS_CREDS, or a writable Secret mount is reported", () => {
    noProblems(credentialsProblems(objects));
    const coordinatorOf = (objs: K8sObject[]) => findObject(objs, 'Deployment', 'faceshard-coordinator')!.spec.template.spec;
    const credsVolume = (spec: { volumes: Array<{ name: string; secret?: { secretName: string } }> }) => spec.volumes.find((v) => v.name === 'nats-creds')!;
    const swapped = clone(objects);
    credsVolume(coordinatorOf(swapped)).secret!.secretName = credsSecretName('shard-0');
    const swappedProblems = credentialsProblems(swapped).join('\n');
    assert.match(swappedProblems, /faceshard-coordinator .*NATS_CREDS .* is Secret faceshard-creds-shard-0 .*must be Secret faceshard-creds-coordinator/);
    assert.match(swappedProblems, /faceshard-coordinator .*reads Secret faceshard-creds-shard-0/);
    const extra = clone(objects);
    shardDeployments(extra)[0].workload.spec.template.spec.volumes.push({
      name: 'spare',
      secret: { secretName: credsSecretName('admin'), items: [{ key: 'admin.creds', path: 'admin.creds' }] },
    });
    assert.match(credentialsProblems(extra).join('\n'), /faceshard-shard-0 .*reads Secret faceshard-creds-admin \(volume spare\)/);
    const none = clone(objects);
    const c = shardContainer(none);
    c.env = c.env!.filter((e) => e.name !== 'NATS_CREDS');
    assert.match(credentialsProblems(none).join('\n'), /faceshard-shard-0 .*sets no NATS_CREDS/);
    const dangling = clone(objects);
    shardContainer(dangling).env!.find((e) => e.name === 'NATS_CREDS')!.value = '/var/run/secrets/faceshard/creds/shard-00.creds';
    assert.match(credentialsProblems(dangling).join('\n'), /NATS_CREDS is \/var\/run\/secrets\/faceshard\/creds\/shard-00.creds, which no volume mounts/);
    const writable = clone(objects);
    shardContainer(writable).volumeMounts!.find((m) => m.name === 'nats-creds')!.readOnly = false;
    assert.match(credentialsProblems(writable).join('\n'), /Secret volume nats-creds is mounted at .* without readOnly: true/);
    const inEnv = clone(objects);
    shardContainer(inEnv).env!.push({ name: 'NATS_TOKEN', valueFrom: { secretKeyRef: { name: 'faceshard-creds-shard-0', key: 'shard-0.creds' } } });
    shardContainer(inEnv).env!.push({ name: 'OTHER', valueFrom: { secretKeyRef: { name: 'faceshard-nats-auth', key: 'nats-auth.conf' } } });
    assert.match(credentialsProblems(inEnv).join('\n'), /reads Secret faceshard-nats-auth \(env OTHER/);
  });

  test('a missing init Job, one not running as admin, or with the wrong shard count or stream replicas is reported; so is an init Job the NetworkPolicies do not cover', async () => {
    noProblems(initJobProblems(objects, 1));
    const none = clone(objects).filter((o) => o.kind !== 'Job');
    assert.match(initJobProblems(none).join('\n'), /0 Jobs run `faceshard admin init`/);
    const initSpec = (objs: K8sObject[]) => findObject(objs, 'Job', 'faceshard-init')!.spec.template.spec;
    const asWriter = clone(objects);
    initSpec(asWriter).volumes.find((v: { name: string }) => v.name === 'nats-creds').secret = {
      secretName: credsSecretName('writer'),
      defaultMode: 0o440,
      items: [{ key: 'writer.creds', path: 'admin.creds' }],
    };
    assert.match(initJobProblems(asWriter).join('\n'), /runs as Secret faceshard-creds-writer; admin init needs Secret faceshard-creds-admin/);
    assert.match(credentialsProblems(asWriter).join('\n'), /Job\/faceshard-init .*must be Secret faceshard-creds-admin/);
    const wrongCount = clone(objects);
    const cmd = initSpec(wrongCount).containers[0].command as string[];
    cmd[cmd.indexOf('--shards') + 1] = '3';
    assert.match(initJobProblems(wrongCount).join('\n'), /--shards 3, but the services run with SHARD_COUNT 2/);
    const typo = clone(objects);
    const cmd2 = initSpec(typo).containers[0].command as string[];
    cmd2[cmd2.indexOf('--shards') + 1] = '$(SHARD_CONUT)';
    assert.match(initJobProblems(typo).join('\n'), /--shards is \$\(SHARD_CONUT\), not a number once expanded/);
    assert.match(initJobProblems(objects, 3).join('\n'), /--stream-replicas 1, expected 3/);
    const prod = await renderKustomization(join(K8S_DIR(), 'overlays', 'prod'));
    const cm = prod.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-config'))!;
    cm.data!.STREAM_REPLICAS = '5';
    assert.match(initJobProblems(prod, 3).join('\n'), /--stream-replicas 5, expected 3[\s\S]*--stream-replicas 5 on 3 NATS server/);
    const unlabelled = clone(objects);
    const job = findObject(unlabelled, 'Job', 'faceshard-init')!;
    job.spec.template.metadata.labels = { 'app.kubernetes.io/component': 'init' };
    assert.match(networkPolicyProblems(unlabelled).join('\n'), /Job\/faceshard-init cannot reach NATS on 4222/);
    const asRoot = clone(objects);
    initSpec(asRoot).containers[0].securityContext.allowPrivilegeEscalation = true;
    assert.match(securityProblems(asRoot).join('\n'), /Job\/faceshard-init container init: allowPrivilegeEscalation is not false/);
  });

  test('$(VAR) in a command line expands like the kubelet: known variables, $$ escapes, unknown ones stay', () => {
    assert.deepEqual(expandCommand(['--shards', '$(SHARD_COUNT)', '$$(SHARD_COUNT)', '$(NOPE)', 'a$(SHARD_COUNT)b'], { SHARD_COUNT: '4' }), [
      '--shards',
      '4',
      '$(SHARD_COUNT)',
      '$(NOPE)',
      'a4b',
    ]);
  });

  test('the images are recognised as faceshard whatever the registry and tag', () => {
    assert.ok(isFaceshardImage('faceshard:dev'));
    assert.ok(isFaceshardImage('registry.example.com:5000/team/faceshard:0.1.0'));
    assert.ok(!isFaceshardImage('nats:2.10.22-alpine'));
  });
});

describe('the TLS component (deploy/k8s/components/tls), one line in an overlay', { skip: skipNoKubectl }, () => {
  const withTls = new Map<string, K8sObject[]>();
  before(async () => {
    for (const { name } of overlayDirs()) withTls.set(name, await renderOverlayWith(name, ['tls']));
  });

  test("NATS serves TLS to clients (verifying their certificates) and on routes, from the Secret faceshard-nats-tls in cert-manager's layout; every faceshard container trusts it and presents faceshard-nats-client-tls", () => {
    for (const [name, objects] of withTls) {
      const tls = natsTls(objects);
      noProblems(tls.problems.map((p) => `${name}: ${p}`));
      const replicas = natsServerConfig(objects)!.replicas;
      assert.deepEqual({ client: tls.client, routes: tls.routes, verify: tls.verify }, { client: true, routes: replicas > 1, verify: true }, name);
      const nats = natsServerConfig(objects)!;
      const tlsFiles = [...nats.files.values()]
        .filter((f) => f.kind === 'Secret' && f.name === TLS_SERVER_SECRET)
        .map((f) => f.key)
        .sort();
      assert.deepEqual(tlsFiles, ['ca.crt', 'tls.crt', 'tls.key'], `${name}: the server's Secret`);
      for (const fc of faceshardContainers(objects)) {
        const env = resolveEnv(fc.container, objects).env;
        assert.ok(env.NATS_TLS_CA && env.NATS_TLS_CERT && env.NATS_TLS_KEY, `${name}: ${fc.workload.metadata.name} gets the TLS files`);
      }
    }
  });

  test('every other check holds with the component on', async () => {
    for (const [name, objects] of withTls) {
      for (const obj of objects) await validateAgainstApiSchema(obj).catch((err: Error) => assert.fail(`${name}: ${err.message}`));
      for (const check of [
        envProblems,
        credentialsProblems,
        securityProblems,
        wiringProblems,
        natsConfigProblems,
        networkPolicyProblems,
        secretMaterialProblems,
        probeProblems,
        shardProblems,
      ]) {
        noProblems(check(objects).map((p) => `${name} with TLS: ${check.name}: ${p}`));
      }
      noProblems(initJobProblems(objects, EXPECTED[name]?.streamReplicas).map((p) => `${name} with TLS: ${p}`));
    }
  });

  test('nats-server accepts the TLS configuration with certificates in place', { skip: hasNatsServer() ? false : 'nats-server is not on PATH' }, async () => {
    const certDir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-certs-'));
    try {
      const certs = makeTestCertificates(certDir);
      for (const [name, objects] of withTls) {
        const nats = natsServerConfig(objects)!;
        const dir = mkdtempSync(join(tmpdir(), 'faceshard-natsconf-'));
        try {
          const routes = await natsRoutesModule();
          const password = routes.newPassword();
          const secrets = {
            'nats-auth.conf': '# stand-in for the Secret faceshard-nats-auth\n',
            'routes.conf': routes.renderRoutesConf({ password, urls: routes.routeUrls({ replicas: nats.replicas, password }) }),
            'tls.crt': readFileSync(certs.serverCert, 'utf8'),
            'tls.key': readFileSync(certs.serverKey, 'utf8'),
            'ca.crt': readFileSync(certs.ca, 'utf8'),
          };
          const path = writeLocalNatsConfig(nats, dir, secrets);
          assert.ok(readFileSync(join(dir, 'tls.conf'), 'utf8').includes(`"${dir}/tls/tls.crt"`), 'the TLS paths point at the local copies');
          await run('nats-server', ['-c', path, '-t'], { env: { ...process.env, SERVER_NAME: 'faceshard-nats-0' } }).catch(
            (err: { stderr?: string; message: string }) => assert.fail(`${name}: nats-server rejects the TLS configuration: ${err.stderr || err.message}`),
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      rmSync(certDir, { recursive: true, force: true });
    }
  });

  test('the sample cert-manager manifest makes the two Secrets the component mounts, for the names clients and routes dial', async () => {
    const sample = await manifestObjects(readFileSync(join(K8S_DIR(), 'components', 'tls', 'cert-manager.example.yaml'), 'utf8'));
    const certificates = sample.filter((o) => o.kind === 'Certificate');
    const bySecret = new Map(certificates.map((c) => [c.spec.secretName as string, c]));
    const server = bySecret.get(TLS_SERVER_SECRET);
    const client = bySecret.get(TLS_CLIENT_SECRET);
    assert.ok(server && client, `Certificates for ${TLS_SERVER_SECRET} and ${TLS_CLIENT_SECRET}`);
    const objects = withTls.get('prod')!;
    const sts = findObject(objects, 'StatefulSet', 'faceshard-nats')!;
    const clientHost = new URL(resolveEnv(faceshardContainers(objects)[0].container, objects).env.NATS_URL.split(',')[0]).hostname;
    for (const dns of [clientHost, `*.${sts.spec.serviceName}`]) assert.ok(server.spec.dnsNames.includes(dns), `the server certificate names ${dns}`);
    for (const usage of ['server auth', 'client auth'])
      assert.ok(server.spec.usages.includes(usage), `server certificate usage ${usage} (routes are mutual TLS)`);
    assert.ok(client.spec.usages.includes('client auth'));
    const issuers = new Set(sample.filter((o) => o.kind === 'Issuer').map((o) => o.metadata.name));
    for (const c of certificates) assert.ok(issuers.has(c.spec.issuerRef.name), `${c.metadata.name}: issuer ${c.spec.issuerRef.name} is in the sample`);
    assert.equal(server.spec.issuerRef.name, client.spec.issuerRef.name, 'one CA signs servers and clients (each side verifies the other)');
  });

  test('a TLS file that is not mounted, a container without NATS_TLS_CA, or plain routes under client TLS is reported', () => {
    const dev = withTls.get('dev')!;
    const noSecret = clone(dev);
    const sts = findObject(noSecret, 'StatefulSet', 'faceshard-nats')!;
    sts.spec.template.spec.volumes[0].projected.sources = sts.spec.template.spec.volumes[0].projected.sources.filter(
      (s: { secret?: { name: string } }) => s.secret?.name !== TLS_SERVER_SECRET,
    );
    assert.match(natsTls(noSecret).problems.join('\n'), /client tls \{\} cert_file \/etc\/nats\/tls\/tls.crt is not a mounted file/);
    const noCa = clone(dev);
    const shard = shardDeployments(noCa)[0].container;
    shard.env = shard.env!.filter((e) => e.name !== 'NATS_TLS_CA');
    assert.match(natsTls(noCa).problems.join('\n'), /faceshard-shard-0 .*sets no NATS_TLS_CA/);
    const stray = clone(objects0());
    shardDeployments(stray)[0].container.env!.push({ name: 'NATS_TLS_CA', value: '/etc/ca.crt' });
    assert.match(natsTls(stray).problems.join('\n'), /sets NATS_TLS_CA, but NATS serves no TLS/);
    const prod = clone(withTls.get('prod')!);
    const cm = prod.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('faceshard-nats-config'))!;
    cm.data!['cluster-tls.conf'] = '# off\n';
    assert.match(natsTls(prod).problems.join('\n'), /client connections are TLS but routes between the 3 servers are not/);
    const clientSecretElsewhere = clone(dev);
    const coordinator = findObject(clientSecretElsewhere, 'Deployment', 'faceshard-coordinator')!.spec.template.spec;
    coordinator.volumes.find((v: { name: string }) => v.name === 'nats-tls').secret.items.push({ key: 'extra.creds', path: 'extra.creds' });
    assert.match(credentialsProblems(clientSecretElsewhere).join('\n'), /reads Secret faceshard-nats-client-tls/);
  });

  let plain: K8sObject[] = [];
  before(async () => {
    plain = await renderKustomization(join(K8S_DIR(), 'overlays', 'dev'));
  });
  const objects0 = () => plain;
});

describe('the shard count lives in one place', { skip: skipNoKubectl }, () => {
  test("changing an overlay's shards.env and re-running the generator gives a consistent overlay", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-'));
    try {
      cpSync(K8S_DIR(), join(dir, 'k8s'), { recursive: true });
      const envFile = join(dir, 'k8s', 'overlays', 'prod', 'shards.env');
      writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(/^SHARD_COUNT=.*$/m, 'SHARD_COUNT=3'));
      // Stale until regenerated: the check says so.
      await assert.rejects(run(process.execPath, [join(dir, 'k8s', 'generate-shards.mjs'), '--check']), /out of date/);
      await run(process.execPath, [join(dir, 'k8s', 'generate-shards.mjs'), 'prod']);
      const objects = await renderKustomization(join(dir, 'k8s', 'overlays', 'prod'));
      noProblems(shardProblems(objects));
      assert.deepEqual(
        shardDeployments(objects).map((s) => s.name),
        ['faceshard-shard-0', 'faceshard-shard-1', 'faceshard-shard-2'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
