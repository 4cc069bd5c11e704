// Issue 25's Kubernetes part, rendered offline with `kubectl kustomize`: the gateway
// (Deployment, Service, probes, API keys Secret, the env names services/gateway/config.ts
// reads), the optional Ingress component, the photos' PVC the encode Job mounts (and the
// loader pod that fills it), and one namespace per overlay in the manifests and the docs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseApiKeys } from '../../services/gateway/api-keys.js';
import { GatewayEnv } from '../../services/gateway/config.js';
import {
  envProblems,
  faceshardContainers,
  findObject,
  GATEWAY_CLIENT_LABEL,
  hasKubectl,
  K8S_DIR,
  manifestObjects,
  networkAllows,
  networkPolicyProblems,
  compiledRoot,
  natsServerConfig,
  overlayDirs,
  podTemplateOf,
  probeProblems,
  renderKustomization,
  renderOverlays,
  renderOverlayWith,
  repoRoot,
  resolveEnv,
  schemaKeys,
  securityProblems,
  validateAgainstApiSchema,
  wiringProblems,
  type K8sObject,
  type PodRef,
} from '../helpers/k8s.js';
import { credentialsProblems, identityFor, secretsOfPod } from '../helpers/k8s-identity.js';
import {
  encodePath,
  gatewayContainers,
  gatewayProblems,
  IMAGES_CLAIM,
  imagesVolumeProblems,
  literalNamespaces,
  namespaceProblems,
  overlayNamespace,
  podUser,
  commandsWriting,
} from '../helpers/k8s-gateway.js';

const skipNoKubectl = hasKubectl() ? false : 'kubectl is not installed: the manifests cannot be rendered here (install kubectl to run these tests)';

/** Per overlay: its namespace, gateway replicas and the photos' PVC access mode. */
const EXPECTED: Record<string, { namespace: string; gateways: number; imagesAccess: string[] }> = {
  dev: { namespace: 'faceshard-dev', gateways: 1, imagesAccess: ['ReadWriteOnce'] },
  prod: { namespace: 'faceshard', gateways: 2, imagesAccess: ['ReadWriteMany'] },
};

const run = promisify(execFile);
const clone = <T>(x: T): T => structuredClone(x);
const noProblems = (problems: string[]) => {
  if (problems.length) assert.fail(problems.join('\n'));
};
const gatewayOf = (objects: K8sObject[]) => gatewayContainers(objects)[0];
const loaderPod = async () => (await manifestObjects(readFileSync(join(K8S_DIR(), 'images-loader.yaml'), 'utf8')))[0];
/** A Pod as a Job, for the checks that read workloads' pod templates. */
const asJob = (pod: K8sObject): K8sObject => ({ ...pod, kind: 'Job', apiVersion: 'batch/v1', spec: { template: { metadata: pod.metadata, spec: pod.spec } } });

describe('the gateway, the photos PVC and the namespace of each overlay', { skip: skipNoKubectl }, () => {
  let rendered = new Map<string, K8sObject[]>();
  before(async () => {
    rendered = await renderOverlays();
  });

  test('a gateway Deployment and Service in every overlay: probes on the API port, API keys from the Secret, replicas per overlay', () => {
    assert.deepEqual([...rendered.keys()].filter((n) => n in EXPECTED).sort(), Object.keys(EXPECTED).sort());
    for (const [name, objects] of rendered) {
      noProblems(gatewayProblems(objects).map((p) => `${name}: ${p}`));
      const fc = gatewayOf(objects);
      assert.equal(fc.entry, 'services/gateway/main.js', `${name}: the gateway's entry point`);
      if (EXPECTED[name]) assert.equal(Number(fc.workload.spec.replicas), EXPECTED[name].gateways, `${name}: gateway replicas`);
      assert.equal(identityFor(fc, objects), 'gateway', `${name}: the gateway's NATS identity`);
      const service = findObject(objects, 'Service', 'faceshard-gateway')!;
      assert.deepEqual(service.spec.ports, [{ name: 'api', port: 80, targetPort: 'api' }]);
    }
  });

  test("the gateway's env names are the ones GatewayEnv (services/gateway/config.ts) reads, its required ones are set, and they parse", () => {
    const keys = schemaKeys(GatewayEnv);
    assert.deepEqual(keys.get('GATEWAY_API_KEYS_FILE'), { required: true }, 'the schema as the test reads it');
    for (const [name, objects] of rendered) {
      const fc = gatewayOf(objects);
      const { env } = resolveEnv(fc.container, objects);
      for (const key of Object.keys(env)) assert.ok(keys.has(key), `${name}: the gateway gets ${key}, which GatewayEnv does not read`);
      const parsed = GatewayEnv.parse(env);
      assert.equal(parsed.GATEWAY_HTTP_PORT, 8000, `${name}: API port`);
      assert.equal(parsed.HTTP_PORT, 8080, `${name}: ops port`);
      assert.equal(parsed.GATEWAY_API_KEYS_FILE, '/var/run/secrets/faceshard/gateway/api-keys');
      assert.deepEqual(parsed.GATEWAY_CORS_ORIGINS, [], `${name}: CORS off`);
      noProblems(envProblems(objects).map((p) => `${name}: ${p}`));
      noProblems(probeProblems(objects).map((p) => `${name}: ${p}`));
    }
  });

  test('NetworkPolicies: the API port from labelled pods and namespaces (an ingress controller), not from others; the gateway reaches NATS', () => {
    for (const [name, objects] of rendered) {
      noProblems(networkPolicyProblems(objects).map((p) => `${name}: ${p}`));
      const fc = gatewayOf(objects);
      const namespace = fc.workload.metadata.namespace!;
      const gateway: PodRef = { labels: fc.template.metadata?.labels ?? {}, namespace };
      const controller: PodRef = {
        labels: { 'app.kubernetes.io/name': 'ingress-nginx' },
        namespace: 'ingress-nginx',
        namespaceLabels: { [GATEWAY_CLIENT_LABEL]: 'true' },
      };
      assert.ok(networkAllows(objects, controller, gateway, 8000), `${name}: the ingress controller reaches the API`);
      assert.ok(!networkAllows(objects, controller, gateway, 8080), `${name}: ... not the ops port`);
      assert.ok(!networkAllows(objects, { labels: {}, namespace: 'ingress-nginx' }, gateway, 8000), `${name}: an unlabelled namespace does not`);
      const nats: PodRef = { labels: { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/component': 'nats' }, namespace };
      assert.ok(networkAllows(objects, gateway, nats, 4222), `${name}: the gateway reaches NATS`);
    }
  });

  test('the gateway pod reads only the gateway identity and its API keys Secret, read-only, at most 0440; it runs non-root with a read-only root', () => {
    for (const [name, objects] of rendered) {
      noProblems(credentialsProblems(objects).map((p) => `${name}: ${p}`));
      noProblems(securityProblems(objects).map((p) => `${name}: ${p}`));
      noProblems(wiringProblems(objects).map((p) => `${name}: ${p}`));
    }
  });

  test('the PVC faceshard-images exists (dev ReadWriteOnce, prod ReadWriteMany) and the encode Job reads its /data from it', () => {
    for (const [name, objects] of rendered) {
      noProblems(imagesVolumeProblems(objects, EXPECTED[name]?.imagesAccess).map((p) => `${name}: ${p}`));
      const job = faceshardContainers(objects).find((fc) => encodePath(fc) !== undefined)!;
      assert.equal(job.workload.metadata.name, 'faceshard-encode-enqueue');
      assert.equal(encodePath(job), '/data');
    }
  });

  test("the loader pod mounts the same PVC writable at /data, as the encode Job's user and group, with no namespace of its own", async () => {
    const pod = await loaderPod();
    await validateAgainstApiSchema(pod);
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.metadata.namespace, undefined, 'applied with -n "$NS"');
    const volume = pod.spec.volumes.find((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === IMAGES_CLAIM);
    assert.ok(volume, `mounts ${IMAGES_CLAIM}`);
    const mount = pod.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
    assert.equal(mount.mountPath, '/data');
    assert.notEqual(mount.readOnly, true, 'the loader writes');
    noProblems(securityProblems([asJob(pod)]));
    for (const [name, objects] of rendered) {
      const job = findObject(objects, 'CronJob', 'faceshard-encode-enqueue')!;
      assert.deepEqual(podUser(asJob(pod)), podUser(job), `${name}: the loader writes files as the user that the Job reads them as`);
    }
  });

  test("every object of an overlay is in the overlay's namespace (dev faceshard-dev, prod faceshard), which it creates; the base sets none", () => {
    for (const { name, dir } of overlayDirs()) {
      const namespace = overlayNamespace(dir);
      assert.ok(namespace, `${name}: its kustomization.yaml sets no namespace`);
      if (EXPECTED[name]) assert.equal(namespace, EXPECTED[name].namespace, name);
      noProblems(namespaceProblems(rendered.get(name)!, namespace).map((p) => `${name}: ${p}`));
    }
    assert.equal(overlayNamespace(join(K8S_DIR(), 'base')), undefined, 'the base sets no namespace');
    for (const dir of ['base', 'components']) {
      for (const file of yamlFiles(join(K8S_DIR(), dir))) {
        assert.doesNotMatch(readFileSync(file, 'utf8'), /^\s*namespace:/m, `${relative(repoRoot(), file)} sets a namespace; only overlays do`);
      }
    }
  });

  test('the manifests\' comments and docs/kubernetes.md name no namespace in kubectl commands: they say -n "$NS"', () => {
    const files = [...allFiles(K8S_DIR()), join(repoRoot(), 'docs', 'kubernetes.md')].filter(existsSync);
    for (const file of files) {
      const found = literalNamespaces(readFileSync(file, 'utf8'));
      assert.deepEqual(found, [], `${relative(repoRoot(), file)} names the namespace ${found.join(', ')} in a command`);
    }
  });
});

test('every deploy/k8s path docs/kubernetes.md names exists', () => {
  const docs = readFileSync(join(repoRoot(), 'docs', 'kubernetes.md'), 'utf8');
  const paths = [...new Set([...docs.matchAll(/deploy\/k8s\/[A-Za-z0-9_./-]*[A-Za-z0-9_]/g)].map((m) => m[0]))];
  assert.ok(paths.length > 5, `found ${paths.join(', ')}`);
  for (const path of paths) assert.ok(existsSync(join(repoRoot(), path)), `docs/kubernetes.md names ${path}, which does not exist`);
});

describe('the Secrets: deploy/k8s/secrets.sh and the API keys command of docs/kubernetes.md make every Secret the pods mount', { skip: skipNoKubectl }, () => {
  test("from the real tools' files: each Secret a pod or NATS mounts, with the key it mounts, in the overlay's namespace; the API keys file parses", async () => {
    const docs = readFileSync(join(repoRoot(), 'docs', 'kubernetes.md'), 'utf8');
    const keysCommands = commandsWriting(docs, 'creds/api-keys', 'umask 077');
    assert.equal(keysCommands.length, 2, 'docs/kubernetes.md writes creds/api-keys in the whole path and in "API keys"');
    for (const [name, objects] of await renderOverlays()) {
      const dir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-secrets-'));
      try {
        const namespace = overlayNamespace(join(K8S_DIR(), 'overlays', name))!;
        const coordinator = faceshardContainers(objects).find((fc) => fc.program === 'coordinator')!;
        const shards = resolveEnv(coordinator.container, objects).env.SHARD_COUNT;
        const creds = join(dir, 'creds');
        await run(process.execPath, [join(compiledRoot(), 'cli', 'faceshard.js'), 'credentials', '--out', creds, '--shards', shards]);
        const natsServers = natsServerConfig(objects)!.replicas;
        if (natsServers > 1)
          await run(process.execPath, [join(K8S_DIR(), 'nats-routes.mjs'), '--out', join(creds, 'routes.conf'), '--replicas', String(natsServers)]);
        // Only the lines that write the file (the blocks also talk to a cluster). Each of them
        // writes a file the gateway accepts; the last one stays for secrets.sh.
        for (const command of keysCommands) {
          await run('sh', ['-c', command], { cwd: dir });
          assert.deepEqual(
            parseApiKeys(readFileSync(join(creds, 'api-keys'), 'utf8'), 'api-keys').map((k) => k.role),
            ['admin', 'writer', 'reader'],
          );
        }
        const { stdout } = await run('sh', [join(K8S_DIR(), 'secrets.sh'), '--print', namespace, creds]);
        const created = new Map((await manifestObjects(stdout)).map((o) => [o.metadata.name, o]));
        for (const [secretName, secret] of created) {
          assert.equal(secret.kind, 'Secret');
          assert.equal(secret.metadata.namespace, namespace, `${name}: Secret ${secretName}`);
        }
        assert.ok(![...created.keys()].some((n) => /signing/.test(n)), `${name}: the signing keys stay out of the cluster`);
        for (const o of objects) {
          const template = podTemplateOf(o);
          if (!template) continue;
          for (const s of secretsOfPod(template)) {
            const secret = created.get(s.name);
            assert.ok(secret, `${name}: ${o.kind}/${o.metadata.name} mounts Secret ${s.name}, which secrets.sh does not create`);
            for (const key of s.keys ?? [])
              assert.ok(key in (secret.data ?? {}), `${name}: Secret ${s.name} has no key ${key} (${o.kind}/${o.metadata.name} mounts it)`);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('the Ingress component (deploy/k8s/components/ingress), off by default', { skip: skipNoKubectl }, () => {
  const withIngress = new Map<string, K8sObject[]>();
  before(async () => {
    for (const { name } of overlayDirs()) withIngress.set(name, await renderOverlayWith(name, ['ingress']));
  });

  test('no Ingress without it', async () => {
    for (const { name, dir } of overlayDirs()) assert.ok(!(await renderKustomization(dir)).some((o) => o.kind === 'Ingress'), name);
  });

  test("with it: an Ingress to the gateway Service's API port, letting a photo of GATEWAY_MAX_BODY_BYTES through, in the overlay's namespace", async () => {
    for (const [name, objects] of withIngress) {
      const ingress = findObject(objects, 'Ingress', 'faceshard-gateway');
      assert.ok(ingress, `${name}: no Ingress`);
      await validateAgainstApiSchema(ingress);
      const backend = ingress.spec.rules[0].http.paths[0].backend.service;
      const service = findObject(objects, 'Service', backend.name);
      assert.ok(service, `${name}: the Ingress sends to Service ${backend.name}, which is not there`);
      assert.ok(
        service.spec.ports.some((p: { name?: string; port: number }) => p.name === backend.port.name || p.port === backend.port.number),
        `${name}: Service ${backend.name} has no port ${backend.port.name ?? backend.port.number}`,
      );
      const maxBody = Number(resolveEnv(gatewayOf(objects).container, objects).env.GATEWAY_MAX_BODY_BYTES);
      assert.ok(
        bytesOf(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size']) >= maxBody,
        `${name}: the Ingress refuses bodies the gateway takes`,
      );
      noProblems(namespaceProblems(objects, overlayNamespace(join(K8S_DIR(), 'overlays', name))!).map((p) => `${name}: ${p}`));
      for (const check of [gatewayProblems, envProblems, credentialsProblems, wiringProblems, networkPolicyProblems, securityProblems])
        noProblems(check(objects).map((p) => `${name} with the Ingress: ${check.name}: ${p}`));
    }
  });
});

describe('the checks catch broken gateway, PVC and namespace manifests', { skip: skipNoKubectl }, () => {
  let objects: K8sObject[] = [];
  before(async () => {
    objects = await renderKustomization(join(K8S_DIR(), 'overlays', 'dev'));
  });
  const gatewaySpec = (objs: K8sObject[]) => findObject(objs, 'Deployment', 'faceshard-gateway')!.spec.template.spec;

  test('a probe on the ops port, a missing or renamed API keys Secret, or an env name GatewayEnv does not read is reported', () => {
    const opsProbe = clone(objects);
    gatewaySpec(opsProbe).containers[0].readinessProbe.httpGet.port = 'http';
    assert.match(gatewayProblems(opsProbe).join('\n'), /readinessProbe asks \/readyz on port 8080; expected \/readyz on the API port 8000/);
    const renamed = clone(objects);
    gatewaySpec(renamed).volumes.find((v: { name: string }) => v.name === 'api-keys').secret.secretName = 'api-keys';
    assert.match(gatewayProblems(renamed).join('\n'), /is Secret api-keys key api-keys; expected Secret faceshard-gateway-api-keys/);
    assert.match(credentialsProblems(renamed).join('\n'), /faceshard-gateway .*reads Secret api-keys/);
    const typo = clone(objects);
    gatewaySpec(typo).containers[0].env.find((e: { name: string }) => e.name === 'GATEWAY_API_KEYS_FILE').name = 'GATEWAY_API_KEY_FILE';
    const problems = envProblems(typo).join('\n');
    assert.match(problems, /faceshard-gateway .*sets GATEWAY_API_KEY_FILE .*which the gateway does not read/);
    assert.match(problems, /faceshard-gateway .*does not set GATEWAY_API_KEYS_FILE, which the gateway requires/);
    assert.match(gatewayProblems(typo).join('\n'), /sets no GATEWAY_API_KEYS_FILE/);
    const noService = clone(objects).filter((o) => !(o.kind === 'Service' && o.metadata.name === 'faceshard-gateway'));
    assert.match(gatewayProblems(noService).join('\n'), /no Service\/faceshard-gateway/);
  });

  test('the gateway on the CLI (`faceshard gateway`) is still the gateway: its env is checked against GatewayEnv', () => {
    const viaCli = clone(objects);
    gatewaySpec(viaCli).containers[0].command = ['node', '/app/dist/cli/faceshard.js', 'gateway'];
    assert.equal(gatewayOf(viaCli).program, 'gateway');
    noProblems(envProblems(viaCli));
    noProblems(credentialsProblems(viaCli));
  });

  test('without the gateway NetworkPolicy its API is unreachable, and the check says so', () => {
    const noPolicy = clone(objects).filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'faceshard-gateway-clients'));
    assert.match(networkPolicyProblems(noPolicy).join('\n'), /a labelled gateway client of the namespace cannot reach Deployment\/faceshard-gateway on 8000/);
    const open = clone(objects);
    findObject(open, 'NetworkPolicy', 'faceshard-gateway-clients')!.spec.ingress[0].ports = [];
    assert.match(networkPolicyProblems(open).join('\n'), /a pod in a namespace labelled for gateway clients can reach Deployment\/faceshard-gateway on 8080/);
  });

  test('a missing PVC, an encode Job reading another volume, or a writable mount is reported', () => {
    const noPvc = clone(objects).filter((o) => o.kind !== 'PersistentVolumeClaim');
    assert.match(imagesVolumeProblems(noPvc).join('\n'), /no PersistentVolumeClaim\/faceshard-images/);
    const jobSpec = (objs: K8sObject[]) => findObject(objs, 'CronJob', 'faceshard-encode-enqueue')!.spec.jobTemplate.spec.template.spec;
    const otherClaim = clone(objects);
    jobSpec(otherClaim).volumes.find((v: { name: string }) => v.name === 'images').persistentVolumeClaim.claimName = 'photos';
    assert.match(imagesVolumeProblems(otherClaim).join('\n'), /encodes \/data from volume images, not the PVC faceshard-images/);
    const writable = clone(objects);
    jobSpec(writable).containers[0].volumeMounts.find((m: { name: string }) => m.name === 'images').readOnly = false;
    assert.match(imagesVolumeProblems(writable).join('\n'), /mounts faceshard-images writable/);
    assert.match(imagesVolumeProblems(objects, ['ReadWriteMany']).join('\n'), /accessModes \["ReadWriteOnce"\], expected \["ReadWriteMany"\]/);
  });

  test('an object in another namespace, a second namespace or a cluster-scoped object is reported; so is a literal namespace in a command', () => {
    const moved = clone(objects);
    findObject(moved, 'Service', 'faceshard-gateway')!.metadata.namespace = 'faceshard';
    assert.match(namespaceProblems(moved, 'faceshard-dev').join('\n'), /Service\/faceshard-gateway: in namespace faceshard, expected faceshard-dev/);
    const extra = clone(objects);
    extra.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'faceshard' } });
    extra.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' } });
    const problems = namespaceProblems(extra, 'faceshard-dev').join('\n');
    assert.match(problems, /creates the namespaces \[faceshard-dev, faceshard\]/);
    assert.match(problems, /ClusterRole\/x: cluster-scoped/);
    assert.deepEqual(
      literalNamespaces(
        'kubectl -n faceshard get pods\nkubectl --namespace=faceshard-dev logs x\nkubectl create namespace faceshard\nkubectl -n "$NS" get pods',
      ),
      ['faceshard', 'faceshard-dev', 'faceshard'],
    );
  });
});

/** Parses nginx's size notation (4m, 512k, 1g, bytes). */
function bytesOf(size: string | undefined): number {
  const m = /^(\d+)([kmg]?)$/i.exec(size ?? '');
  if (!m) return 0;
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

function yamlFiles(dir: string): string[] {
  return allFiles(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'));
}
