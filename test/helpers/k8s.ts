// Test helpers for the Kubernetes manifests in deploy/k8s: render an overlay offline with
// `kubectl kustomize`, read the rendered objects, find the faceshard containers in them,
// resolve a container's environment the way the kubelet does, and the checks that the
// manifests agree with the code (env names vs. the services' zod schemas, probe ports,
// shard indexes). The checks return lists of problems, so tests can also feed them
// broken manifests and see them fail.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { z } from 'zod';
import { CommonEnv } from '../../libs/config/env.js';
import { CoordinatorEnv } from '../../services/coordinator/config.js';
import { EncoderEnv } from '../../services/encoder/config.js';
import { ShardEnv } from '../../services/shard/config.js';
import { SHARD_MALLOC_ENV } from '../../libs/local-cluster/service-process.js';

const run = promisify(execFile);

// ---- shapes of the rendered objects (only what the checks read) -------------------------

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}
export interface Probe {
  httpGet?: { path?: string; port: number | string };
  [key: string]: unknown;
}
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  workingDir?: string;
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    volumes?: Array<{ name: string; emptyDir?: unknown; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }>;
  };
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

// ---- locating things ---------------------------------------------------------------------

/** The repository root: the nearest ancestor of this file holding deploy/k8s (works from dist/ and from any outDir). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'deploy', 'k8s')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no deploy/k8s above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The root of the compiled tree this file runs from (dist/ for `npm test`, or another outDir). */
export function compiledRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

export const K8S_DIR = () => join(repoRoot(), 'deploy', 'k8s');

/** Every overlay directory (deploy/k8s/overlays/<name> with a kustomization.yaml). */
export function overlayDirs(): Array<{ name: string; dir: string }> {
  const root = join(K8S_DIR(), 'overlays');
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'kustomization.yaml')))
    .map((d) => ({ name: d.name, dir: join(root, d.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The image's WORKDIR (the Dockerfile's last WORKDIR), where dist/ lives in the container. */
export function imageWorkdir(): string {
  const lines = readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8').split('\n');
  const workdirs = lines.map((l) => /^\s*WORKDIR\s+(\S+)/i.exec(l)?.[1]).filter((w): w is string => w !== undefined);
  if (!workdirs.length) throw new Error('Dockerfile has no WORKDIR');
  return workdirs[workdirs.length - 1];
}

export function hasKubectl(): boolean {
  const r = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  return r.status === 0;
}

export function hasNatsServer(): boolean {
  const r = spawnSync('nats-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

// ---- rendering -----------------------------------------------------------------------------

/** Splits a stream of concatenated JSON documents ({...}{...} or pretty-printed, one after another). */
export function splitJsonStream(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  if (depth !== 0) throw new Error('truncated JSON stream');
  return docs;
}

/**
 * Renders a kustomization with `kubectl kustomize` and returns its objects. The YAML is
 * turned into JSON by kubectl too, offline (`annotate --local` removing an annotation no
 * object has: a no-op that prints the objects as JSON without asking any server).
 */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const { stdout: yaml } = await run('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 });
  const json = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'kubectl',
      ['annotate', '--local', '-f', '-', '-o', 'json', 'faceshard.test/none-'],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl annotate --local: ${stderr || err.message}`)) : resolve(stdout)),
    );
    child.stdin?.end(yaml);
  });
  const objects: K8sObject[] = [];
  for (const doc of splitJsonStream(json)) {
    const items = (doc as { kind?: string; items?: K8sObject[] }).kind === 'List' ? ((doc as { items: K8sObject[] }).items ?? []) : [doc as K8sObject];
    for (const obj of items) {
      // The annotate step leaves an empty annotations map on objects that had none.
      if (obj.metadata?.annotations && Object.keys(obj.metadata.annotations).length === 0) delete obj.metadata.annotations;
      objects.push(obj);
    }
  }
  const kinds = (yaml.match(/^kind:/gm) ?? []).length;
  if (kinds !== objects.length) throw new Error(`rendered ${kinds} objects but parsed ${objects.length}`);
  return objects;
}

// ---- workloads and containers ----------------------------------------------------------

export function podTemplateOf(obj: K8sObject): PodTemplate | undefined {
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return obj.spec?.template as PodTemplate;
    case 'CronJob':
      return obj.spec?.jobTemplate?.spec?.template as PodTemplate;
    default:
      return undefined;
  }
}

export type FaceshardProgram = 'coordinator' | 'shard' | 'encoder' | 'cli';

export interface FaceshardContainer {
  workload: K8sObject;
  template: PodTemplate;
  container: Container;
  /** The compiled entry point, relative to dist/ (e.g. services/shard/main.js). */
  entry: string;
  program: FaceshardProgram;
}

/** The program a container runs, when it runs faceshard's compiled code (`node <workdir>/dist/<entry>`). */
export function entryOf(container: Container, workdir = imageWorkdir()): string | undefined {
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const script = argv.find((a) => a.endsWith('.js'));
  if (!script) return undefined;
  const base = script.startsWith('/') ? '' : `${container.workingDir ?? workdir}/`;
  const full = base + script;
  const prefix = `${workdir}/dist/`;
  return full.startsWith(prefix) ? full.slice(prefix.length) : `<outside ${prefix}>${full}`;
}

export function programOf(entry: string): FaceshardProgram | undefined {
  const m = /^services\/(coordinator|shard|encoder)\/main\.js$/.exec(entry);
  if (m) return m[1] as FaceshardProgram;
  if (entry === 'cli/faceshard.js') return 'cli';
  return undefined;
}

/** Every container whose image is faceshard's (the `faceshard` image, whatever the registry and tag). */
export function faceshardContainers(objects: K8sObject[]): FaceshardContainer[] {
  const out: FaceshardContainer[] = [];
  for (const workload of objects) {
    const template = podTemplateOf(workload);
    if (!template) continue;
    for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
      if (!isFaceshardImage(container.image)) continue;
      const entry = entryOf(container) ?? '<no entry point>';
      out.push({ workload, template, container, entry, program: programOf(entry) ?? ('unknown' as FaceshardProgram) });
    }
  }
  return out;
}

export function isFaceshardImage(image: string | undefined): boolean {
  if (!image) return false;
  const name = image.split('@')[0].replace(/:[^/:]+$/, ''); // drop digest and tag
  return name === 'faceshard' || name.endsWith('/faceshard');
}

export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/**
 * The environment a container gets, resolved like the kubelet: envFrom sources in order,
 * then env (which wins), $(VAR) references expanded. Field refs get `fieldValues`
 * (e.g. {'metadata.name': 'pod-0'}). Returns the values and where each name came from.
 */
export function resolveEnv(
  container: Container,
  objects: K8sObject[],
  fieldValues: Record<string, string> = {},
): { env: Record<string, string>; sources: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const problems: string[] = [];
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = findObject(objects, 'ConfigMap', from.configMapRef.name);
      if (!cm) {
        problems.push(`envFrom ConfigMap ${from.configMapRef.name} is not in the rendered manifests`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        env[(from.prefix ?? '') + k] = v;
        sources[(from.prefix ?? '') + k] = `ConfigMap ${cm.metadata.name}`;
      }
    } else {
      problems.push(`envFrom ${JSON.stringify(from)}: only ConfigMaps are resolved here`);
    }
  }
  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.value !== undefined) value = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      value = findObject(objects, 'ConfigMap', ref.name)?.data?.[ref.key];
      if (value === undefined && !ref.optional) problems.push(`env ${e.name}: ConfigMap ${ref.name} key ${ref.key} not found`);
    } else if (e.valueFrom?.fieldRef) {
      value = fieldValues[e.valueFrom.fieldRef.fieldPath] ?? `<${e.valueFrom.fieldRef.fieldPath}>`;
    } else if (e.valueFrom) {
      problems.push(`env ${e.name}: ${Object.keys(e.valueFrom).join(',')} is not resolved here`);
    } else value = '';
    if (value !== undefined) {
      env[e.name] = value;
      sources[e.name] = 'env';
    }
  }
  return { env, sources, problems };
}

// ---- the services' configuration schemas -----------------------------------------------

/** The env schema each program reads. The CLI reads NATS_URL and SUBJECT_PREFIX (flags' defaults): it takes the common keys. */
export function schemaFor(program: FaceshardProgram): z.ZodType | undefined {
  switch (program) {
    case 'coordinator':
      return CoordinatorEnv;
    case 'shard':
      return ShardEnv;
    case 'encoder':
      return EncoderEnv;
    default:
      return undefined;
  }
}

/** The env names a zod object schema reads, each with whether it is required (no default, not optional). */
export function schemaKeys(schema: z.ZodType): Map<string, { required: boolean }> {
  let s: any = schema;
  // Unwrap pipes/transforms around the object (e.g. z.object(...).transform(...)).
  while (s && !s.shape && s.def?.in) s = s.def.in;
  if (!s?.shape) throw new Error('the service env schema is not a z.object: cannot list its keys');
  const keys = new Map<string, { required: boolean }>();
  for (const [name, field] of Object.entries(s.shape as Record<string, z.ZodType>)) {
    keys.set(name, { required: !field.safeParse(undefined).success });
  }
  return keys;
}

export function allowedKeys(program: FaceshardProgram): Map<string, { required: boolean }> {
  const schema = schemaFor(program);
  if (schema) return schemaKeys(schema);
  const common = new Map<string, { required: boolean }>();
  for (const [name, field] of Object.entries(CommonEnv)) common.set(name, { required: !(field as z.ZodType).safeParse(undefined).success });
  return common;
}

function where(fc: FaceshardContainer): string {
  return `${fc.workload.kind}/${fc.workload.metadata.name} container ${fc.container.name}`;
}

// ---- checks: each returns a list of problems (empty = fine) -------------------------------

/** Every env name set is read by the program's schema; every required key is set; the values parse. */
export function envProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const fc of faceshardContainers(objects)) {
    if (!programOf(fc.entry)) {
      problems.push(`${where(fc)}: runs ${fc.entry}, not a faceshard service or the CLI`);
      continue;
    }
    const keys = allowedKeys(fc.program);
    const { env, sources, problems: resolveProblems } = resolveEnv(fc.container, objects, { 'metadata.name': 'pod-0' });
    problems.push(...resolveProblems.map((p) => `${where(fc)}: ${p}`));
    // Read by the C library, not the service (the local cluster runs shards with the same).
    const runtime: Record<string, string> = fc.program === 'shard' ? SHARD_MALLOC_ENV : {};
    for (const name of Object.keys(env)) {
      if (name in runtime) {
        if (env[name] !== runtime[name]) problems.push(`${where(fc)}: sets ${name} to ${env[name]}, the local cluster runs shards with ${runtime[name]}`);
        continue;
      }
      if (!keys.has(name)) problems.push(`${where(fc)}: sets ${name} (from ${sources[name]}), which the ${fc.program} does not read (it reads ${[...keys.keys()].join(', ')})`);
    }
    for (const [name, { required }] of keys) {
      if (required && env[name] === undefined) problems.push(`${where(fc)}: does not set ${name}, which the ${fc.program} requires`);
    }
    const schema = schemaFor(fc.program);
    if (schema) {
      const parsed = schema.safeParse(env);
      if (!parsed.success) problems.push(`${where(fc)}: its env does not parse: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
  }
  return problems;
}

/** The container port a probe or Service targets: a number, or a named port of the container. */
export function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Services (not the CLI) set a fixed HTTP_PORT; probes and the Prometheus annotation point at it. */
export function probeProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const fc of faceshardContainers(objects)) {
    if (fc.program === 'cli' || !programOf(fc.entry)) continue;
    const { env } = resolveEnv(fc.container, objects);
    const httpPort = Number(env.HTTP_PORT ?? '0');
    if (!Number.isInteger(httpPort) || httpPort <= 0) {
      problems.push(`${where(fc)}: HTTP_PORT must be a fixed port (got ${env.HTTP_PORT ?? 'unset'}: the default 0 picks a random one)`);
      continue;
    }
    const expected: Record<string, string[]> = { readinessProbe: ['/readyz'], livenessProbe: ['/healthz'], startupProbe: ['/healthz', '/readyz'] };
    for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      const probe = fc.container[kind];
      if (!probe) {
        if (kind !== 'startupProbe') problems.push(`${where(fc)}: no ${kind}`);
        continue;
      }
      if (!probe.httpGet) {
        problems.push(`${where(fc)}: ${kind} is not an httpGet probe`);
        continue;
      }
      const port = resolvePort(fc.container, probe.httpGet.port);
      if (port !== httpPort) problems.push(`${where(fc)}: ${kind} targets port ${String(probe.httpGet.port)} (= ${port}), but HTTP_PORT is ${httpPort}`);
      if (!expected[kind].includes(probe.httpGet.path ?? '/')) problems.push(`${where(fc)}: ${kind} path ${probe.httpGet.path} (expected ${expected[kind].join(' or ')})`);
    }
    if (fc.program === 'shard' && fc.container.startupProbe?.httpGet?.path !== '/readyz') problems.push(`${where(fc)}: a shard's startupProbe must wait for /readyz (replay)`);
    if (!fc.container.ports?.some((p) => p.containerPort === httpPort)) problems.push(`${where(fc)}: HTTP_PORT ${httpPort} is not a declared container port`);
    const ann = fc.template.metadata?.annotations ?? {};
    if (ann['prometheus.io/scrape'] !== 'true') problems.push(`${where(fc)}: no prometheus.io/scrape annotation`);
    if (Number(ann['prometheus.io/port']) !== httpPort) problems.push(`${where(fc)}: prometheus.io/port ${ann['prometheus.io/port']} but HTTP_PORT is ${httpPort}`);
    if (ann['prometheus.io/path'] !== undefined && ann['prometheus.io/path'] !== '/metrics') problems.push(`${where(fc)}: prometheus.io/path ${ann['prometheus.io/path']}`);
  }
  return problems;
}

export interface ShardDeployment {
  name: string;
  index: number;
  replicas: number;
  container: Container;
  workload: K8sObject;
}

export function shardDeployments(objects: K8sObject[]): ShardDeployment[] {
  return faceshardContainers(objects)
    .filter((fc) => fc.program === 'shard')
    .map((fc) => {
      const { env } = resolveEnv(fc.container, objects);
      return { name: fc.workload.metadata.name, index: Number(env.SHARD_INDEX), replicas: Number(fc.workload.spec?.replicas ?? 1), container: fc.container, workload: fc.workload };
    });
}

/** SHARD_COUNT (as every service sees it) equals the number of shard Deployments; their SHARD_INDEX values are exactly 0..N-1. */
export function shardProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const shards = shardDeployments(objects);
  const counts = new Set<string>();
  for (const fc of faceshardContainers(objects)) {
    if (fc.program === 'cli') continue;
    const value = resolveEnv(fc.container, objects).env.SHARD_COUNT;
    if (value === undefined) problems.push(`${where(fc)}: SHARD_COUNT is not set (every service must agree on it)`);
    else counts.add(value);
  }
  if (counts.size > 1) problems.push(`containers disagree on SHARD_COUNT: ${[...counts].join(', ')}`);
  const count = Number([...counts][0]);
  if (shards.length !== count) problems.push(`SHARD_COUNT is ${[...counts][0]} but there are ${shards.length} shard Deployments (${shards.map((s) => s.name).join(', ')})`);
  const indexes = shards.map((s) => s.index).sort((a, b) => a - b);
  const want = Array.from({ length: shards.length }, (_, i) => i);
  if (JSON.stringify(indexes) !== JSON.stringify(want)) problems.push(`shard SHARD_INDEX values are ${indexes.join(',')}, expected ${want.join(',')}`);
  for (const s of shards) {
    if (s.workload.kind !== 'Deployment') problems.push(`${s.workload.kind}/${s.name}: shards are Deployments`);
    if (s.name !== `faceshard-shard-${s.index}`) problems.push(`${s.name}: has SHARD_INDEX ${s.index}; expected the name faceshard-shard-${s.index}`);
  }
  return problems;
}

/** Selectors match their pods; PDBs and Services select something; ConfigMap volumes exist. */
export function wiringProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const templates = objects.map((o) => ({ o, t: podTemplateOf(o) })).filter((x): x is { o: K8sObject; t: PodTemplate } => x.t !== undefined);
  const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  for (const { o, t } of templates) {
    const sel = o.spec?.selector?.matchLabels as Record<string, string> | undefined;
    if (o.kind !== 'Job' && o.kind !== 'CronJob' && (!sel || !matches(sel, t.metadata?.labels))) problems.push(`${o.kind}/${o.metadata.name}: selector does not match its pod labels`);
    for (const v of t.spec.volumes ?? []) {
      if (v.configMap && !findObject(objects, 'ConfigMap', v.configMap.name)) problems.push(`${o.kind}/${o.metadata.name}: volume ${v.name} uses missing ConfigMap ${v.configMap.name}`);
    }
  }
  for (const o of objects) {
    if (o.kind === 'PodDisruptionBudget' || o.kind === 'Service') {
      const sel = (o.kind === 'Service' ? o.spec?.selector : o.spec?.selector?.matchLabels) as Record<string, string> | undefined;
      if (!sel || !templates.some(({ t }) => matches(sel, t.metadata?.labels))) problems.push(`${o.kind}/${o.metadata.name}: selects no pods`);
    }
    if (o.kind === 'Service') {
      for (const p of (o.spec?.ports ?? []) as Array<{ name?: string; targetPort?: string | number; port: number }>) {
        const sel = o.spec?.selector as Record<string, string>;
        const ok = templates
          .filter(({ t }) => matches(sel, t.metadata?.labels))
          .some(({ t }) => t.spec.containers.some((c) => resolvePort(c, p.targetPort ?? p.port) !== undefined && c.ports?.some((cp) => cp.containerPort === resolvePort(c, p.targetPort ?? p.port))));
        if (!ok) problems.push(`Service/${o.metadata.name}: port ${p.name ?? p.port} targets ${String(p.targetPort)}, which no selected container exposes`);
      }
    }
  }
  return problems;
}

/** Non-root, no privilege escalation, all capabilities dropped, read-only root filesystem. */
export function securityProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const t = podTemplateOf(o);
    if (!t) continue;
    for (const c of [...(t.spec.initContainers ?? []), ...t.spec.containers]) {
      const at = `${o.kind}/${o.metadata.name} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (!(sc.runAsNonRoot ?? t.spec.securityContext?.runAsNonRoot)) problems.push(`${at}: runAsNonRoot is not set`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities are not dropped (drop: [ALL])`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: the root filesystem is writable`);
      if (isFaceshardImage(c.image) && !c.volumeMounts?.some((m) => m.mountPath === '/tmp')) problems.push(`${at}: node needs a writable /tmp (emptyDir) under a read-only root`);
    }
  }
  return problems;
}
