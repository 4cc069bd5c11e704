// Test helpers for the Kubernetes manifests in deploy/k8s: render an overlay offline with
// `kubectl kustomize`, read the rendered objects, find the faceshard containers in them,
// resolve a container's environment the way the kubelet does, and the checks that the
// manifests agree with the code (env names vs. the services' zod schemas, probe ports,
// shard indexes). The checks return lists of problems, so tests can also feed them
// broken manifests and see them fail.
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { z } from 'zod';
import { CommonEnv } from '../../libs/config/env.js';
import { CoordinatorEnv } from '../../services/coordinator/config.js';
import { EncoderEnv } from '../../services/encoder/config.js';
import { GatewayEnv } from '../../services/gateway/config.js';
import { ShardEnv } from '../../services/shard/config.js';
import { SHARD_MALLOC_ENV } from '../../libs/local/local-cluster/service-process.js';

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
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string }>;
  workingDir?: string;
}
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}
export interface Volume {
  name: string;
  emptyDir?: unknown;
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  projected?: {
    defaultMode?: number;
    sources: Array<{ configMap?: { name: string; items?: KeyToPath[] }; secret?: { name: string; items?: KeyToPath[]; optional?: boolean } }>;
  };
  persistentVolumeClaim?: { claimName: string };
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    restartPolicy?: string;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    volumes?: Volume[];
  };
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest's spec has any kind's shape; the tests read the fields they check
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
  return fileURLToPath(new URL('../..', import.meta.url));
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
 * turned into JSON by kubectl too, offline (manifestObjects).
 */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const { stdout: yaml } = await run('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 });
  return manifestObjects(yaml);
}

/**
 * The objects of a YAML stream, as JSON, converted by kubectl offline (`annotate --local`
 * removing an annotation no object has: a no-op that prints the objects as JSON without
 * asking any server; custom kinds such as cert-manager's work too).
 */
export async function manifestObjects(yaml: string): Promise<K8sObject[]> {
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

/** Every overlay rendered, by name. */
export async function renderOverlays(): Promise<Map<string, K8sObject[]>> {
  const rendered = new Map<string, K8sObject[]>();
  for (const { name, dir } of overlayDirs()) rendered.set(name, await renderKustomization(dir));
  return rendered;
}

/**
 * Renders overlay `name` with kustomize components added (e.g. ['tls'] for
 * deploy/k8s/components/tls: the one line an overlay adds), from a copy of deploy/k8s in
 * a temp dir, so the tree is never touched.
 */
export async function renderOverlayWith(name: string, components: string[]): Promise<K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'faceshard-k8s-'));
  try {
    cpSync(K8S_DIR(), join(dir, 'k8s'), { recursive: true });
    const file = join(dir, 'k8s', 'overlays', name, 'kustomization.yaml');
    const text = readFileSync(file, 'utf8');
    if (/^components:/m.test(text)) throw new Error(`${name} already lists components: add them by hand here`);
    writeFileSync(file, `${text.trimEnd()}\n\ncomponents:\n${components.map((c) => `  - ../../components/${c}\n`).join('')}`);
    return await renderKustomization(join(dir, 'k8s', 'overlays', name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kubernetes-models class for an object's apiVersion/kind, validated against the API schema. */
export async function validateAgainstApiSchema(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const spec = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  let mod: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    mod = await import(spec);
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata.name}: no schema for ${obj.apiVersion} ${obj.kind} (${(err as Error).message})`);
  }
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`${spec} exports no ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata.name} is not a valid ${obj.apiVersion} ${obj.kind}: ${(err as Error).message}`);
  }
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

export type FaceshardProgram = 'coordinator' | 'shard' | 'encoder' | 'gateway' | 'cli';

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
  const m = /^services\/(coordinator|shard|encoder|gateway)\/main\.js$/.exec(entry);
  if (m) return m[1] as FaceshardProgram;
  if (entry === 'cli/faceshard.js') return 'cli';
  return undefined;
}

/** A container's program: its entry point's, except `faceshard gateway`, which runs the gateway service through the CLI. */
export function programOfContainer(container: Container, entry: string): FaceshardProgram | undefined {
  const program = programOf(entry);
  if (program !== 'cli') return program;
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const subcommand = argv.slice(argv.findIndex((a) => a.endsWith('.js')) + 1).find((a) => !a.startsWith('-'));
  return subcommand === 'gateway' ? 'gateway' : 'cli';
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
      out.push({ workload, template, container, entry, program: programOfContainer(container, entry) ?? ('unknown' as FaceshardProgram) });
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
    case 'gateway':
      return GatewayEnv;
    default:
      return undefined;
  }
}

/** The env names a zod object schema reads, each with whether it is required (no default, not optional). */
export function schemaKeys(schema: z.ZodType): Map<string, { required: boolean }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks zod's internal definition objects, which have no public types
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
      if (!keys.has(name))
        problems.push(`${where(fc)}: sets ${name} (from ${sources[name]}), which the ${fc.program} does not read (it reads ${[...keys.keys()].join(', ')})`);
    }
    for (const [name, { required }] of keys) {
      if (required && env[name] === undefined) problems.push(`${where(fc)}: does not set ${name}, which the ${fc.program} requires`);
    }
    const schema = schemaFor(fc.program);
    if (schema) {
      const parsed = schema.safeParse(env);
      if (!parsed.success)
        problems.push(`${where(fc)}: its env does not parse: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
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

/**
 * The ports a service serves /healthz, /readyz and /metrics on: HTTP_PORT (the ops port of
 * every service), and for the gateway also GATEWAY_HTTP_PORT (its API answers them without a key).
 */
export function healthPorts(program: FaceshardProgram, env: Record<string, string>): number[] {
  const ports = [Number(env.HTTP_PORT ?? '0')];
  if (program === 'gateway') ports.push(Number(env.GATEWAY_HTTP_PORT ?? '0'));
  return ports;
}

/** Services (not the CLI) set a fixed HTTP_PORT; probes and the Prometheus annotation point at it (or, on the gateway, at its API port). */
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
      const served = healthPorts(fc.program, env);
      if (port === undefined || !served.includes(port))
        problems.push(
          `${where(fc)}: ${kind} targets port ${String(probe.httpGet.port)} (= ${port}), but HTTP_PORT is ${httpPort}${served.length > 1 ? ` and the API port ${served[1]}` : ''}`,
        );
      if (!expected[kind].includes(probe.httpGet.path ?? '/'))
        problems.push(`${where(fc)}: ${kind} path ${probe.httpGet.path} (expected ${expected[kind].join(' or ')})`);
    }
    if (fc.program === 'shard' && fc.container.startupProbe?.httpGet?.path !== '/readyz')
      problems.push(`${where(fc)}: a shard's startupProbe must wait for /readyz (replay)`);
    for (const port of healthPorts(fc.program, env))
      if (!fc.container.ports?.some((p) => p.containerPort === port))
        problems.push(`${where(fc)}: port ${port} (HTTP_PORT or the API port) is not a declared container port`);
    const ann = fc.template.metadata?.annotations ?? {};
    if (ann['prometheus.io/scrape'] !== 'true') problems.push(`${where(fc)}: no prometheus.io/scrape annotation`);
    if (Number(ann['prometheus.io/port']) !== httpPort)
      problems.push(`${where(fc)}: prometheus.io/port ${ann['prometheus.io/port']} but HTTP_PORT is ${httpPort}`);
    if (ann['prometheus.io/path'] !== undefined && ann['prometheus.io/path'] !== '/metrics')
      problems.push(`${where(fc)}: prometheus.io/path ${ann['prometheus.io/path']}`);
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
      return {
        name: fc.workload.metadata.name,
        index: Number(env.SHARD_INDEX),
        replicas: Number(fc.workload.spec?.replicas ?? 1),
        container: fc.container,
        workload: fc.workload,
      };
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
  if (shards.length !== count)
    problems.push(`SHARD_COUNT is ${[...counts][0]} but there are ${shards.length} shard Deployments (${shards.map((s) => s.name).join(', ')})`);
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
    if (o.kind !== 'Job' && o.kind !== 'CronJob' && (!sel || !matches(sel, t.metadata?.labels)))
      problems.push(`${o.kind}/${o.metadata.name}: selector does not match its pod labels`);
    for (const v of t.spec.volumes ?? []) {
      if (v.configMap && !findObject(objects, 'ConfigMap', v.configMap.name))
        problems.push(`${o.kind}/${o.metadata.name}: volume ${v.name} uses missing ConfigMap ${v.configMap.name}`);
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
          .some(({ t }) =>
            t.spec.containers.some(
              (c) => resolvePort(c, p.targetPort ?? p.port) !== undefined && c.ports?.some((cp) => cp.containerPort === resolvePort(c, p.targetPort ?? p.port)),
            ),
          );
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
      if (isFaceshardImage(c.image) && !c.volumeMounts?.some((m) => m.mountPath === '/tmp'))
        problems.push(`${at}: node needs a writable /tmp (emptyDir) under a read-only root`);
    }
  }
  return problems;
}

// ---- files a container sees from ConfigMap, Secret and projected volumes ------------------

export interface MountedFile {
  /** Absolute path in the container. */
  path: string;
  kind: 'ConfigMap' | 'Secret';
  /** The object's name as rendered (generated ConfigMaps carry a hash suffix). */
  name: string;
  key: string;
  /** The file's mode as declared (the API's default 0644 when none is). */
  mode: number;
  /** The content, for ConfigMaps in the rendered manifests (Secrets are created outside them). */
  content?: string;
}

const DEFAULT_VOLUME_MODE = 0o644;

/**
 * The files a container's ConfigMap, Secret and projected volume mounts put where. A
 * ConfigMap without `items` gives all its keys; a Secret is not in the manifests, so only
 * the keys its `items` name are known (the manifests always name them).
 */
export function mountedFiles(template: PodTemplate, container: Container, objects: K8sObject[]): MountedFile[] {
  const files: MountedFile[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = template.spec.volumes?.find((v) => v.name === mount.name);
    if (!volume) continue;
    const add = (kind: MountedFile['kind'], name: string, items: KeyToPath[] | undefined, defaultMode: number | undefined) => {
      const data = kind === 'ConfigMap' ? (findObject(objects, 'ConfigMap', name)?.data ?? {}) : {};
      const list: KeyToPath[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of list) {
        const path =
          mount.subPath !== undefined ? (item.path === mount.subPath ? mount.mountPath : undefined) : `${mount.mountPath.replace(/\/$/, '')}/${item.path}`;
        if (path === undefined) continue;
        files.push({
          path,
          kind,
          name,
          key: item.key,
          mode: item.mode ?? defaultMode ?? DEFAULT_VOLUME_MODE,
          content: kind === 'ConfigMap' ? data[item.key] : undefined,
        });
      }
    };
    if (volume.configMap) add('ConfigMap', volume.configMap.name, volume.configMap.items, volume.configMap.defaultMode);
    if (volume.secret) add('Secret', volume.secret.secretName, volume.secret.items, volume.secret.defaultMode);
    for (const source of volume.projected?.sources ?? []) {
      if (source.configMap) add('ConfigMap', source.configMap.name, source.configMap.items, volume.projected?.defaultMode);
      if (source.secret) add('Secret', source.secret.name, source.secret.items, volume.projected?.defaultMode);
    }
  }
  return files;
}

/** Secret volumes that do not name their keys (the checks cannot tell which files they give). */
export function unnamedSecretKeys(template: PodTemplate): string[] {
  const problems: string[] = [];
  for (const v of template.spec.volumes ?? []) {
    if (v.secret && !v.secret.items?.length) problems.push(`volume ${v.name}: Secret ${v.secret.secretName} mounted without items`);
    for (const s of v.projected?.sources ?? [])
      if (s.secret && !s.secret.items?.length) problems.push(`volume ${v.name}: Secret ${s.secret.name} projected without items`);
  }
  return problems;
}

// ---- the NATS server's configuration ---------------------------------------------------------

export interface NatsServerConfig {
  sts: K8sObject;
  container: Container;
  replicas: number;
  /** The path given to --config / -c. */
  configPath: string;
  /** nats.conf's text (from its ConfigMap). */
  conf: string;
  /** Every file the NATS container sees, by absolute path. */
  files: Map<string, MountedFile>;
}

export function natsServerConfig(objects: K8sObject[]): NatsServerConfig | undefined {
  const sts = objects.find((o) => o.kind === 'StatefulSet' && podTemplateOf(o)?.spec.containers.some((c) => /^nats:/.test(c.image ?? '')));
  if (!sts) return undefined;
  const template = podTemplateOf(sts)!;
  const container = template.spec.containers.find((c) => /^nats:/.test(c.image ?? ''))!;
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const at = argv.findIndex((a) => a === '--config' || a === '-c');
  const configPath = at >= 0 ? argv[at + 1] : '';
  const files = new Map(mountedFiles(template, container, objects).map((f) => [f.path, f]));
  return { sts, container, replicas: Number(sts.spec?.replicas ?? 1), configPath, conf: files.get(configPath)?.content ?? '', files };
}

/** The include directives of a nats-server config, each with the block it sits in ('' = top level). */
export function natsIncludes(conf: string): Array<{ file: string; block: string }> {
  const out: Array<{ file: string; block: string }> = [];
  const stack: string[] = [];
  for (const raw of conf.split('\n')) {
    const line = raw.replace(/(^|\s)(#|\/\/).*$/, '').trim();
    if (!line) continue;
    const include = /^include\s+"?([^"\s]+)"?\s*;?$/.exec(line);
    if (include) out.push({ file: include[1], block: stack.join('.') });
    const open = /^([A-Za-z_][\w-]*)\s*[:=]?\s*\{/.exec(line);
    const opens = (line.match(/\{/g) ?? []).length;
    const closes = (line.match(/\}/g) ?? []).length;
    if (open && opens > closes) stack.push(open[1]);
    else for (let i = 0; i < closes - opens; i++) stack.pop();
  }
  return out;
}

/** The body of a top-level block (`jetstream { ... }`) of a nats-server config, or undefined; `indented`: the first such block at any indentation. */
export function natsBlock(conf: string, name: string, indented = false): string | undefined {
  const m = new RegExp(`^${indented ? '[ \\t]*' : ''}${name}\\s*[:=]?\\s*\\{`, 'm').exec(conf);
  if (!m) return undefined;
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    else if (conf[i] === '}' && --depth === 0) return conf.slice(m.index + m[0].length, i);
  }
  return undefined;
}

const posix = {
  dirname: (p: string) => p.replace(/\/[^/]*$/, '') || '/',
  join: (dir: string, file: string) =>
    (file.startsWith('/') ? file : `${dir}/${file}`)
      .split('/')
      .reduce<string[]>((acc, part) => (part === '..' ? acc.slice(0, -1) : part === '.' || part === '' ? acc : [...acc, part]), [])
      .join('/')
      .replace(/^/, '/'),
};

/** The NATS file a config include names (nats-server resolves it against the including file's directory). */
export function includedFile(nats: NatsServerConfig, file: string): MountedFile | undefined {
  return nats.files.get(posix.join(posix.dirname(nats.configPath), file));
}

export const SECRET_FILE_MODE_MASK = 0o337; // no write bits, nothing for others, no execute for anyone

/**
 * nats.conf in a ConfigMap holds no secret; it includes the server's authorization
 * (nats-auth.conf) from a Secret at top level and, on a cluster, the route authorization from
 * a Secret inside cluster {}; every include resolves to a mounted file; JetStream fsyncs
 * every write (sync_interval: always).
 */
export function natsConfigProblems(objects: K8sObject[]): string[] {
  const nats = natsServerConfig(objects);
  if (!nats) return ['no NATS StatefulSet'];
  const problems: string[] = [];
  const at = `StatefulSet/${nats.sts.metadata.name}`;
  if (!nats.conf) return [`${at}: no nats.conf from a ConfigMap at --config ${nats.configPath || '(none)'}`];
  const includes = natsIncludes(nats.conf);
  for (const inc of includes) if (!includedFile(nats, inc.file)) problems.push(`${at}: nats.conf includes ${inc.file}, which no volume puts beside it`);
  const auth = includes
    .filter((i) => i.block === '')
    .map((i) => includedFile(nats, i.file))
    .find((f) => f?.key === 'nats-auth.conf');
  if (!auth) problems.push(`${at}: nats.conf does not include the server's authorization (nats-auth.conf) at top level`);
  else if (auth.kind !== 'Secret') problems.push(`${at}: nats-auth.conf comes from ${auth.kind} ${auth.name}, not a Secret`);
  const cluster = natsBlock(nats.conf, 'cluster');
  if (nats.replicas > 1) {
    if (cluster === undefined) problems.push(`${at}: ${nats.replicas} servers but no cluster {} block`);
    const routes = includes
      .filter((i) => i.block === 'cluster')
      .map((i) => includedFile(nats, i.file))
      .filter((f): f is MountedFile => f?.kind === 'Secret');
    if (!routes.length) problems.push(`${at}: cluster {} includes no file from a Secret: routes are not authenticated`);
    if (cluster !== undefined && /^\s*routes\s*[:=]/m.test(cluster))
      problems.push(`${at}: routes are listed in the ConfigMap; they carry the route credentials and belong in the Secret`);
  }
  const jetstream = natsBlock(nats.conf, 'jetstream');
  if (jetstream === undefined) problems.push(`${at}: no jetstream {} block`);
  else if (!/^\s*sync_interval\s*[:=]\s*"?always"?\s*$/m.test(jetstream))
    problems.push(`${at}: jetstream {} does not set sync_interval: always (writes would be fsynced every 2 minutes)`);
  for (const f of nats.files.values()) {
    if (f.kind === 'Secret' && (f.mode & SECRET_FILE_MODE_MASK) !== 0)
      problems.push(`${at}: ${f.path} (Secret ${f.name}) has mode 0${f.mode.toString(8)}; at most 0440`);
  }
  problems.push(...unnamedSecretKeys(podTemplateOf(nats.sts)!).map((p) => `${at}: ${p}`));
  return problems;
}

// ---- secret material where it does not belong ------------------------------------------------

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/(^|[^a-z])pass(word)?\s*[:=]/i, 'a password'],
  [/\bS[OAUNCX][A-Z2-7]{56}\b/, 'an nkey seed'],
  [/-----BEGIN/, 'a PEM block (key, certificate or creds)'],
  [/[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i, 'a URL with credentials'],
  [/^\s*(operator|resolver_preload|authorization|accounts)\s*[:=]?\s*["{[A-Za-z0-9]/m, 'server authorization (it belongs in a Secret)'],
];

/** What secret material a text holds ([] when none). */
export function secretMaterialIn(text: string): string[] {
  return SECRET_PATTERNS.filter(([re]) => re.test(text)).map(([, what]) => what);
}

/** No ConfigMap, env literal, command or argument holds a password, an nkey seed, a key or the server's authorization. */
export function secretMaterialProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries(o.data ?? {}))
        for (const what of secretMaterialIn(value)) problems.push(`ConfigMap/${o.metadata.name} key ${key} holds ${what}`);
    }
    const t = podTemplateOf(o);
    if (!t) continue;
    for (const c of [...(t.spec.initContainers ?? []), ...t.spec.containers]) {
      const at = `${o.kind}/${o.metadata.name} container ${c.name}`;
      for (const e of c.env ?? [])
        if (e.value !== undefined) for (const what of secretMaterialIn(`${e.name}=${e.value}`)) problems.push(`${at}: env ${e.name} holds ${what}`);
      for (const a of [...(c.command ?? []), ...(c.args ?? [])]) for (const what of secretMaterialIn(a)) problems.push(`${at}: command line holds ${what}`);
      if ((c.envFrom ?? []).some((f) => f.secretRef)) problems.push(`${at}: envFrom a Secret puts secrets in the environment; mount them as files`);
    }
  }
  return problems;
}

// ---- NetworkPolicies: who may reach whom -----------------------------------------------------

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(labels[e.key])
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(labels[e.key])
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** A pod as NetworkPolicies see it: its labels, its namespace and that namespace's labels. */
export interface PodRef {
  labels: Record<string, string>;
  namespace: string;
  namespaceLabels?: Record<string, string>;
  /** Named container ports (for policies that name ports). */
  ports?: Record<string, number>;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}
interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}

function policyTypes(policy: K8sObject): string[] {
  return policy.spec?.policyTypes ?? ['Ingress', ...(policy.spec?.egress ? ['Egress'] : [])];
}

function namespaceLabelsOf(pod: PodRef): Record<string, string> {
  return { 'kubernetes.io/metadata.name': pod.namespace, ...(pod.namespaceLabels ?? {}) };
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, pod: PodRef): boolean {
  if (peer.ipBlock) return false; // pod traffic is judged by selectors here
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, namespaceLabelsOf(pod)) : pod.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string, target: PodRef): boolean {
  if (!ports?.length) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const n = typeof p.port === 'number' ? p.port : /^\d+$/.test(p.port) ? Number(p.port) : target.ports?.[p.port];
    return n !== undefined && (p.endPort ? port >= n && port <= p.endPort : port === n);
  });
}

/** Whether one direction lets the traffic through: `side` is the pod whose policies apply. */
function directionAllows(
  policies: K8sObject[],
  direction: 'Ingress' | 'Egress',
  side: PodRef,
  peer: PodRef,
  port: number,
  protocol: string,
  target: PodRef,
): boolean {
  const applying = policies.filter(
    (p) => (p.metadata.namespace ?? 'default') === side.namespace && policyTypes(p).includes(direction) && selects(p.spec?.podSelector ?? {}, side.labels),
  );
  if (!applying.length) return true; // not isolated in this direction
  return applying.some((p) =>
    ((direction === 'Ingress' ? p.spec?.ingress : p.spec?.egress) ?? []).some((rule: PolicyRule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      return (!peers?.length || peers.some((x) => peerMatches(x, side.namespace, peer))) && portMatches(rule.ports, port, protocol, target);
    }),
  );
}

/** Whether the NetworkPolicies let `from` open a connection to `to` on `port` (egress of one, ingress of the other). */
export function networkAllows(objects: K8sObject[], from: PodRef, to: PodRef, port: number, protocol = 'TCP'): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  return directionAllows(policies, 'Egress', from, to, port, protocol, to) && directionAllows(policies, 'Ingress', to, from, port, protocol, to);
}

/** The pods of every workload (Deployment, StatefulSet, Job, CronJob) as NetworkPolicies see them. */
export function workloadPods(objects: K8sObject[]): Array<{ workload: K8sObject; pod: PodRef; template: PodTemplate }> {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind))
    .map((workload) => {
      const template = podTemplateOf(workload)!;
      const ports: Record<string, number> = {};
      for (const c of template.spec.containers) for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
      return { workload, template, pod: { labels: template.metadata?.labels ?? {}, namespace: workload.metadata.namespace ?? 'default', ports } };
    });
}

/** The labels that open doors (deploy/k8s/base/network-policies.yaml, README.md). */
export const NATS_CLIENT_LABEL = 'faceshard.io/nats-client';
export const MONITORING_NAMESPACE_LABEL = 'faceshard.io/monitoring';
/** On a pod of the namespace, or on a namespace (an ingress controller's): it may reach the gateway's API port. */
export const GATEWAY_CLIENT_LABEL = 'faceshard.io/gateway-client';

/** The gateway's API ports of a workload (GATEWAY_HTTP_PORT of its gateway containers), open to gateway clients. */
export function gatewayApiPorts(workload: K8sObject, objects: K8sObject[]): number[] {
  return faceshardContainers([workload])
    .filter((fc) => fc.program === 'gateway')
    .map((fc) => Number(resolveEnv(fc.container, objects).env.GATEWAY_HTTP_PORT ?? '8080'));
}

/**
 * The network the manifests promise: a default deny (ingress and egress) selecting every
 * pod; every workload selected by some policy; faceshard pods and labelled clients reach
 * NATS 4222, nothing else does; 6222 only between NATS pods; 8222 and the services'
 * HTTP_PORT only from a namespace labelled for monitoring; the gateway's API port only from
 * pods (of the namespace) or namespaces labelled as gateway clients; DNS to kube-dns.
 */
export function networkPolicyProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const pods = workloadPods(objects);
  if (!pods.length) return ['no workloads'];
  const namespace = pods[0].pod.namespace;
  const defaultDeny = policies.find(
    (p) =>
      selects(p.spec?.podSelector ?? {}, {}) &&
      Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
      !(p.spec?.podSelector?.matchExpressions ?? []).length &&
      !p.spec?.ingress?.length &&
      !p.spec?.egress?.length,
  );
  if (!defaultDeny) problems.push('no default-deny NetworkPolicy (podSelector {}, no rules)');
  else
    for (const t of ['Ingress', 'Egress'])
      if (!policyTypes(defaultDeny).includes(t)) problems.push(`NetworkPolicy/${defaultDeny.metadata.name} does not deny ${t}`);
  for (const { workload, pod } of pods) {
    if (!policies.some((p) => (p.metadata.namespace ?? 'default') === pod.namespace && selects(p.spec?.podSelector ?? {}, pod.labels)))
      problems.push(`${workload.kind}/${workload.metadata.name}: no NetworkPolicy selects its pods`);
  }
  const nats = pods.filter((p) => p.template.spec.containers.some((c) => /^nats:/.test(c.image ?? '')));
  const faceshard = pods.filter((p) => p.template.spec.containers.some((c) => isFaceshardImage(c.image)));
  if (!nats.length) return [...problems, 'no NATS pods'];
  const natsPod = nats[0].pod;
  const dns: PodRef = { labels: { 'k8s-app': 'kube-dns' }, namespace: 'kube-system' };
  const stranger: PodRef = { labels: { app: 'something-else' }, namespace };
  const client: PodRef = { labels: { [NATS_CLIENT_LABEL]: 'true' }, namespace };
  const clientElsewhere: PodRef = { labels: { [NATS_CLIENT_LABEL]: 'true' }, namespace: 'apps', namespaceLabels: { [NATS_CLIENT_LABEL]: 'true' } };
  const clientInUnlabelledNamespace: PodRef = { labels: { [NATS_CLIENT_LABEL]: 'true' }, namespace: 'apps' };
  const monitor: PodRef = { labels: { app: 'prometheus' }, namespace: 'monitoring', namespaceLabels: { [MONITORING_NAMESPACE_LABEL]: 'true' } };
  const outsider: PodRef = { labels: { app: 'prometheus' }, namespace: 'elsewhere' };
  const gatewayClient: PodRef = { labels: { [GATEWAY_CLIENT_LABEL]: 'true' }, namespace };
  const ingressController: PodRef = { labels: { app: 'ingress-nginx' }, namespace: 'ingress-nginx', namespaceLabels: { [GATEWAY_CLIENT_LABEL]: 'true' } };
  const gatewayClientElsewhere: PodRef = { labels: { [GATEWAY_CLIENT_LABEL]: 'true' }, namespace: 'apps' };
  const expect = (ok: boolean, from: PodRef, fromName: string, to: PodRef, toName: string, port: number, protocol = 'TCP') => {
    if (networkAllows(objects, from, to, port, protocol) !== ok) problems.push(`${fromName} ${ok ? 'cannot' : 'can'} reach ${toName} on ${port}/${protocol}`);
  };
  for (const { workload, pod } of [...faceshard, ...nats]) {
    const name = `${workload.kind}/${workload.metadata.name}`;
    expect(true, pod, name, dns, 'kube-dns', 53, 'UDP');
    expect(true, pod, name, dns, 'kube-dns', 53, 'TCP');
  }
  for (const { workload, pod } of faceshard) {
    const name = `${workload.kind}/${workload.metadata.name}`;
    expect(true, pod, name, natsPod, 'NATS', 4222);
    expect(false, pod, name, natsPod, 'NATS', 6222);
    expect(false, pod, name, natsPod, 'NATS', 8222);
    expect(false, pod, name, { labels: { app: 'x' }, namespace: 'elsewhere' }, 'a pod in another namespace', 443);
    const apiPorts = gatewayApiPorts(workload, objects);
    for (const port of apiPorts) {
      expect(true, gatewayClient, 'a labelled gateway client of the namespace', pod, name, port);
      expect(true, ingressController, 'a pod in a namespace labelled for gateway clients', pod, name, port);
      expect(false, gatewayClientElsewhere, 'a labelled gateway client in an unlabelled namespace', pod, name, port);
      expect(false, stranger, 'an unlabelled pod of the namespace', pod, name, port);
      expect(false, outsider, 'a pod in an unlabelled namespace', pod, name, port);
      expect(false, client, 'a labelled NATS client', pod, name, port);
    }
    for (const c of podTemplateOf(workload)!.spec.containers) {
      for (const p of c.ports ?? []) {
        if (apiPorts.includes(p.containerPort)) continue;
        expect(false, gatewayClient, 'a labelled gateway client', pod, name, p.containerPort);
        expect(false, ingressController, 'a pod in a namespace labelled for gateway clients', pod, name, p.containerPort);
        expect(true, monitor, 'a pod in a namespace labelled for monitoring', pod, name, p.containerPort);
        expect(false, outsider, 'a pod in an unlabelled namespace', pod, name, p.containerPort);
        expect(false, client, 'a labelled NATS client', pod, name, p.containerPort);
        expect(false, stranger, 'an unlabelled pod of the namespace', pod, name, p.containerPort);
      }
    }
  }
  expect(true, natsPod, 'a NATS pod', natsPod, 'another NATS pod', 6222);
  expect(true, client, 'a labelled NATS client of the namespace', natsPod, 'NATS', 4222);
  expect(true, clientElsewhere, 'a labelled NATS client in a labelled namespace', natsPod, 'NATS', 4222);
  expect(false, clientInUnlabelledNamespace, 'a labelled NATS client in an unlabelled namespace', natsPod, 'NATS', 4222);
  expect(false, client, 'a labelled NATS client', natsPod, 'NATS', 6222);
  expect(false, client, 'a labelled NATS client', natsPod, 'NATS', 8222);
  expect(false, stranger, 'an unlabelled pod of the namespace', natsPod, 'NATS', 4222);
  expect(false, gatewayClient, 'a labelled gateway client', natsPod, 'NATS', 4222);
  expect(false, ingressController, 'a pod in a namespace labelled for gateway clients', natsPod, 'NATS', 4222);
  expect(false, outsider, 'a pod in an unlabelled namespace', natsPod, 'NATS', 4222);
  expect(true, monitor, 'a pod in a namespace labelled for monitoring', natsPod, 'NATS', 8222);
  expect(false, monitor, 'a pod in a namespace labelled for monitoring', natsPod, 'NATS', 4222);
  expect(false, outsider, 'a pod in an unlabelled namespace', natsPod, 'NATS', 8222);
  expect(false, natsPod, 'a NATS pod', { labels: { app: 'x' }, namespace: 'elsewhere' }, 'a pod in another namespace', 443);
  return problems;
}

// ---- running the manifests' NATS config on this machine ---------------------------------------

/** deploy/k8s/nats-routes.mjs: writes the route authorization the Secret faceshard-nats-routes holds. */
export interface NatsRoutesModule {
  ROUTE_USER: string;
  routeUrls(o: { replicas: number; statefulSet?: string; service?: string; port?: number; user?: string; password: string }): string[];
  renderRoutesConf(o: { password: string; urls: string[]; user?: string }): string;
  passwordOf(text: string): string | undefined;
  newPassword(): string;
}

export async function natsRoutesModule(): Promise<NatsRoutesModule> {
  return (await import(pathToFileURL(join(K8S_DIR(), 'nats-routes.mjs')).href)) as NatsRoutesModule;
}

/** The local nats-server's version ([2, 9, 10]), or undefined without one. */
export function natsServerVersion(): number[] | undefined {
  const r = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m ? m.slice(1).map(Number) : undefined;
}

/** Settings the manifests' image (nats 2.10+) has and an older local nats-server refuses. */
export function withoutNewerSettings(conf: string, version = natsServerVersion()): string {
  const older = !version || version[0] < 2 || (version[0] === 2 && version[1] < 10);
  return older ? conf.replace(/^\s*sync_interval\s*[:=].*$/m, '  # sync_interval: always (nats-server >= 2.10; removed for the local server)') : conf;
}

/**
 * Writes the files the NATS container sees in its config directory into `dir`: ConfigMap
 * files as rendered (absolute paths into the config directory, e.g. TLS files, pointed at
 * `dir`), Secret files from `secrets` (by key); `rewrite` edits nats.conf (ports, paths)
 * for this machine. Returns the path of nats.conf there.
 */
export function writeLocalNatsConfig(
  nats: NatsServerConfig,
  dir: string,
  secrets: Record<string, string>,
  rewrite: (conf: string) => string = (c) => c,
): string {
  const configDir = nats.configPath.replace(/\/[^/]*$/, '');
  for (const f of nats.files.values()) {
    if (!f.path.startsWith(`${configDir}/`)) continue;
    const rel = f.path.slice(configDir.length + 1);
    const content = f.kind === 'ConfigMap' ? f.content?.replaceAll(`"${configDir}/`, `"${dir}/`) : secrets[f.key];
    if (content === undefined) throw new Error(`no stand-in for ${f.path} (Secret ${f.name} key ${f.key})`);
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), f.path === nats.configPath ? rewrite(withoutNewerSettings(content)) : content, { mode: 0o600 });
  }
  return join(dir, nats.configPath.slice(configDir.length + 1));
}
