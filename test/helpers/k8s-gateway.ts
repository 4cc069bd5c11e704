// Checks of the manifests issue 25 adds, beside the general ones in k8s.ts: the gateway
// (Deployment, Service, probes on its API port, its API keys from a Secret), the photos'
// PVC the encode Job reads, and one namespace per overlay. Each check returns a list of
// problems, so tests can also feed it broken manifests and see it fail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faceshardContainers, findObject, mountedFiles, podTemplateOf, resolveEnv, resolvePort, type FaceshardContainer, type K8sObject } from './k8s.js';

/** The Secret of the gateway's API keys and its one key (the file GATEWAY_API_KEYS_FILE names). */
export const GATEWAY_API_KEYS_SECRET = 'faceshard-gateway-api-keys';
export const GATEWAY_API_KEYS_KEY = 'api-keys';
export const GATEWAY_NAME = 'faceshard-gateway';
/** The PVC holding the photos the encode Job reads. */
export const IMAGES_CLAIM = 'faceshard-images';

/** Kinds that live outside any namespace (only Namespace is expected in the overlays). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'CustomResourceDefinition',
  'IngressClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

function where(fc: FaceshardContainer): string {
  return `${fc.workload.kind}/${fc.workload.metadata.name} container ${fc.container.name}`;
}

export function gatewayContainers(objects: K8sObject[]): FaceshardContainer[] {
  return faceshardContainers(objects).filter((fc) => fc.program === 'gateway');
}

/**
 * One gateway Deployment: probes on its API port (GATEWAY_HTTP_PORT: startup and liveness
 * /healthz, readiness /readyz), the Service faceshard-gateway sending to that port, the API
 * keys file (GATEWAY_API_KEYS_FILE) mounted read-only from the Secret faceshard-gateway-api-keys,
 * memory request and limit, a PodDisruptionBudget.
 */
export function gatewayProblems(objects: K8sObject[]): string[] {
  const gateways = gatewayContainers(objects);
  if (gateways.length !== 1) return [`${gateways.length} gateway containers (${gateways.map(where).join(', ') || 'none'}); expected one Deployment's`];
  const [fc] = gateways;
  const at = where(fc);
  const problems: string[] = [];
  if (fc.workload.kind !== 'Deployment' || fc.workload.metadata.name !== GATEWAY_NAME) problems.push(`${at}: expected Deployment/${GATEWAY_NAME}`);
  const env = resolveEnv(fc.container, objects).env;
  const apiPort = Number(env.GATEWAY_HTTP_PORT);
  if (!Number.isInteger(apiPort) || apiPort <= 0) problems.push(`${at}: GATEWAY_HTTP_PORT must be a fixed port (got ${env.GATEWAY_HTTP_PORT ?? 'unset'})`);
  const probes = { startupProbe: '/healthz', readinessProbe: '/readyz', livenessProbe: '/healthz' } as const;
  for (const [kind, path] of Object.entries(probes) as Array<[keyof typeof probes, string]>) {
    const probe = fc.container[kind];
    const port = resolvePort(fc.container, probe?.httpGet?.port);
    if (!probe?.httpGet) problems.push(`${at}: no httpGet ${kind}`);
    else if (probe.httpGet.path !== path || port !== apiPort)
      problems.push(`${at}: ${kind} asks ${probe.httpGet.path} on port ${port}; expected ${path} on the API port ${apiPort} (what a load balancer checks)`);
  }
  const keysFile = env.GATEWAY_API_KEYS_FILE;
  const file = keysFile === undefined ? undefined : mountedFiles(fc.template, fc.container, objects).find((f) => f.path === keysFile);
  if (!keysFile) problems.push(`${at}: sets no GATEWAY_API_KEYS_FILE (the gateway refuses to start without keys)`);
  else if (!file) problems.push(`${at}: GATEWAY_API_KEYS_FILE is ${keysFile}, which no volume mounts`);
  else if (file.kind !== 'Secret' || file.name !== GATEWAY_API_KEYS_SECRET || file.key !== GATEWAY_API_KEYS_KEY)
    problems.push(
      `${at}: GATEWAY_API_KEYS_FILE ${keysFile} is ${file.kind} ${file.name} key ${file.key}; expected Secret ${GATEWAY_API_KEYS_SECRET} key ${GATEWAY_API_KEYS_KEY}`,
    );
  const service = findObject(objects, 'Service', GATEWAY_NAME);
  if (!service) problems.push(`no Service/${GATEWAY_NAME}`);
  else {
    const selector = (service.spec?.selector ?? {}) as Record<string, string>;
    const labels = fc.template.metadata?.labels ?? {};
    if (!Object.keys(selector).length || !Object.entries(selector).every(([k, v]) => labels[k] === v))
      problems.push(`Service/${GATEWAY_NAME}: does not select the gateway's pods`);
    const ports = (service.spec?.ports ?? []) as Array<{ targetPort?: number | string; port: number }>;
    if (!ports.some((p) => resolvePort(fc.container, p.targetPort ?? p.port) === apiPort))
      problems.push(`Service/${GATEWAY_NAME}: no port sends to the API port ${apiPort}`);
  }
  const resources = (fc.container as { resources?: { requests?: { memory?: string; cpu?: string }; limits?: { memory?: string } } }).resources;
  if (!resources?.requests?.memory || !resources.requests.cpu || !resources.limits?.memory)
    problems.push(`${at}: needs cpu and memory requests and a memory limit`);
  const labels = fc.template.metadata?.labels ?? {};
  const pdb = objects.find(
    (o) =>
      o.kind === 'PodDisruptionBudget' &&
      Object.entries((o.spec?.selector?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v) &&
      Object.keys(o.spec?.selector?.matchLabels ?? {}).length > 0,
  );
  if (!pdb) problems.push(`${at}: no PodDisruptionBudget selects its pods`);
  return problems;
}

/** The path a container's `faceshard encode PATH` reads, if it runs that. */
export function encodePath(fc: FaceshardContainer): string | undefined {
  if (fc.program !== 'cli') return undefined;
  const argv = [...(fc.container.command ?? []), ...(fc.container.args ?? [])];
  const rest = argv.slice(argv.findIndex((a) => a.endsWith('.js')) + 1).filter((a) => !a.startsWith('-'));
  return rest[0] === 'encode' ? rest[1] : undefined;
}

/**
 * The photos' PVC exists and every `faceshard encode PATH` container (the enqueue
 * CronJob) has PATH on a mount of that claim; the claim's access modes are `accessModes`.
 */
export function imagesVolumeProblems(objects: K8sObject[], accessModes?: string[]): string[] {
  const problems: string[] = [];
  const pvc = findObject(objects, 'PersistentVolumeClaim', IMAGES_CLAIM);
  if (!pvc) problems.push(`no PersistentVolumeClaim/${IMAGES_CLAIM}: the encode Job's pods would stay Pending`);
  else if (accessModes && JSON.stringify(pvc.spec?.accessModes) !== JSON.stringify(accessModes))
    problems.push(`PersistentVolumeClaim/${IMAGES_CLAIM}: accessModes ${JSON.stringify(pvc.spec?.accessModes)}, expected ${JSON.stringify(accessModes)}`);
  const encoders = faceshardContainers(objects).filter((fc) => encodePath(fc) !== undefined);
  if (!encoders.length) problems.push('no container runs `faceshard encode PATH`');
  for (const fc of encoders) {
    const path = encodePath(fc)!;
    const mount = fc.container.volumeMounts?.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
    const volume = mount && fc.template.spec.volumes?.find((v) => v.name === mount.name);
    if (!mount) problems.push(`${where(fc)}: encodes ${path}, which no volume mounts`);
    else if (volume?.persistentVolumeClaim?.claimName !== IMAGES_CLAIM)
      problems.push(`${where(fc)}: encodes ${path} from volume ${mount.name}, not the PVC ${IMAGES_CLAIM}`);
    else if (mount.readOnly !== true) problems.push(`${where(fc)}: mounts ${IMAGES_CLAIM} writable; the Job only reads it`);
  }
  return problems;
}

/** The `namespace:` an overlay's kustomization.yaml sets, or undefined. */
export function overlayNamespace(overlayDir: string): string | undefined {
  return /^namespace:\s*"?([a-z0-9-]+)"?\s*$/m.exec(readFileSync(join(overlayDir, 'kustomization.yaml'), 'utf8'))?.[1];
}

/** Every object of a rendered overlay is in `namespace`, which the overlay creates; no other cluster-scoped object. */
export function namespaceProblems(objects: K8sObject[], namespace: string): string[] {
  const problems: string[] = [];
  const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
  if (JSON.stringify(namespaces) !== JSON.stringify([namespace]))
    problems.push(`creates the namespaces [${namespaces.join(', ')}]; expected exactly [${namespace}]`);
  for (const o of objects) {
    if (o.kind === 'Namespace') continue;
    if (CLUSTER_SCOPED.has(o.kind)) problems.push(`${o.kind}/${o.metadata.name}: cluster-scoped, outside the overlay's namespace`);
    else if (o.metadata.namespace !== namespace)
      problems.push(`${o.kind}/${o.metadata.name}: in namespace ${o.metadata.namespace ?? '(none)'}, expected ${namespace}`);
  }
  return problems;
}

/**
 * Namespaces a text names literally in kubectl commands (`-n NAME`, `--namespace NAME`,
 * `--namespace=NAME`, `create namespace NAME`): the docs say `-n "$NS"` instead, with NS
 * set once to the overlay's namespace.
 */
export function literalNamespaces(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\s-n|--namespace)[ =]([A-Za-z0-9][A-Za-z0-9-]*)|create namespace ([A-Za-z0-9][A-Za-z0-9-]*)/g)) found.push(m[1] ?? m[2]);
  return found;
}

/** The pod's user and group of a workload's or Pod's template (pod-level securityContext). */
export function podUser(obj: K8sObject): { runAsUser?: number; fsGroup?: number } {
  const spec = (obj.kind === 'Pod' ? obj.spec : podTemplateOf(obj)?.spec) as { securityContext?: { runAsUser?: number; fsGroup?: number } } | undefined;
  return { runAsUser: spec?.securityContext?.runAsUser, fsGroup: spec?.securityContext?.fsGroup };
}

/**
 * The commands in a Markdown text's shell blocks that write `file`: in each block holding
 * `> file`, its lines from the last one holding `from` before that up to it.
 */
export function commandsWriting(markdown: string, file: string, from: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)) {
    const lines = m[1].split('\n');
    const end = lines.findIndex((l) => l.includes(`> ${file}`));
    if (end < 0) continue;
    let start = end;
    while (start >= 0 && !lines[start].includes(from)) start--;
    if (start >= 0) out.push(lines.slice(start, end + 1).join('\n'));
  }
  return out;
}
