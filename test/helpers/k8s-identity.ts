// Checks of the manifests' NATS identities and TLS (issue 20), beside the general ones in
// k8s.ts: every faceshard workload mounts only its own identity's Secret (the .creds file
// `faceshard credentials` writes), read-only, and NATS_CREDS names that file; an init Job
// runs `faceshard admin init` as admin; with the TLS component, NATS serves TLS from a
// Secret in cert-manager's layout and every faceshard container trusts it. Each check
// returns a list of problems, so tests can feed it broken manifests too.
import {
  faceshardContainers,
  mountedFiles,
  natsBlock,
  natsIncludes,
  natsServerConfig,
  includedFile,
  resolveEnv,
  SECRET_FILE_MODE_MASK,
  unnamedSecretKeys,
  type Container,
  type FaceshardContainer,
  type K8sObject,
  type MountedFile,
  type PodTemplate,
} from './k8s.js';
import { GATEWAY_API_KEYS_KEY, GATEWAY_API_KEYS_SECRET } from './k8s-gateway.js';

/** Secret faceshard-creds-<identity> holds <identity>.creds (README: kubectl create secret generic ... --from-file). */
export const CREDS_SECRET_PREFIX = 'faceshard-creds-';
/** The TLS component's Secrets (cert-manager layout: tls.crt, tls.key, ca.crt). */
export const TLS_SERVER_SECRET = 'faceshard-nats-tls';
export const TLS_CLIENT_SECRET = 'faceshard-nats-client-tls';
const TLS_KEYS = ['ca.crt', 'tls.crt', 'tls.key'];

export const credsSecretName = (identity: string) => `${CREDS_SECRET_PREFIX}${identity}`;
export const credsKey = (identity: string) => `${identity}.creds`;

function where(fc: FaceshardContainer): string {
  return `${fc.workload.kind}/${fc.workload.metadata.name} container ${fc.container.name}`;
}

/**
 * The kubelet's expansion of $(VAR) in command and args: a variable of the container's
 * environment is replaced, an unknown one is left as written, $$ is a literal $.
 */
export function expandCommand(argv: string[], env: Record<string, string>): string[] {
  return argv.map((arg) =>
    arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? whole))),
  );
}

/** A container's command line as the kubelet runs it. */
export function commandLine(container: Container, env: Record<string, string>): string[] {
  return expandCommand([...(container.command ?? []), ...(container.args ?? [])], env);
}

/** The CLI subcommands and the identity each needs (libs/nats/nats-auth/roles.ts). */
const CLI_IDENTITY: Record<string, string> = { admin: 'admin', encode: 'writer', ingest: 'writer', delete: 'writer', query: 'reader', status: 'reader' };

/** The gateway's own identity (libs/nats/nats-auth/roles.ts; services/gateway/main.ts connects with NATS_CREDS). */
export const GATEWAY_IDENTITY = 'gateway';

/** Secrets a program's pod reads besides its NATS identity's: the gateway's API keys. */
const OTHER_SECRETS: Partial<Record<FaceshardContainer['program'], { name: string; keys: string[] }>> = {
  gateway: { name: GATEWAY_API_KEYS_SECRET, keys: [GATEWAY_API_KEYS_KEY] },
};

/** The identity a faceshard container must run as: its service's, a shard's for its shards, the CLI's by subcommand. */
export function identityFor(fc: FaceshardContainer, objects: K8sObject[]): string | undefined {
  const { env } = resolveEnv(fc.container, objects);
  switch (fc.program) {
    case 'coordinator':
    case 'encoder':
      return fc.program;
    case 'gateway':
      return GATEWAY_IDENTITY;
    case 'shard':
      return env.SHARD_INDEX === undefined
        ? undefined
        : `shard-${env.SHARD_INDEX.split(',')
            .map((s) => s.trim())
            .join('-')}`;
    case 'cli': {
      const argv = commandLine(fc.container, env);
      const script = argv.findIndex((a) => a.endsWith('.js'));
      const subcommand = argv.slice(script + 1).find((a) => !a.startsWith('-'));
      return subcommand === undefined ? undefined : CLI_IDENTITY[subcommand];
    }
    default:
      return undefined;
  }
}

/** The mounted file an env variable of the container names, if it names one. */
export function mountedFileOf(fc: FaceshardContainer, objects: K8sObject[], name: string): { value?: string; file?: MountedFile } {
  const value = resolveEnv(fc.container, objects).env[name];
  return { value, file: value === undefined ? undefined : mountedFiles(fc.template, fc.container, objects).find((f) => f.path === value) };
}

/** Every Secret a pod template can read: volumes (direct or projected), env secretKeyRef, envFrom secretRef. */
export function secretsOfPod(template: PodTemplate): Array<{ name: string; keys?: string[]; how: string }> {
  const out: Array<{ name: string; keys?: string[]; how: string }> = [];
  for (const v of template.spec.volumes ?? []) {
    if (v.secret) out.push({ name: v.secret.secretName, keys: v.secret.items?.map((i) => i.key), how: `volume ${v.name}` });
    for (const s of v.projected?.sources ?? [])
      if (s.secret) out.push({ name: s.secret.name, keys: s.secret.items?.map((i) => i.key), how: `projected volume ${v.name}` });
  }
  for (const c of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
    for (const e of c.env ?? [])
      if (e.valueFrom?.secretKeyRef)
        out.push({ name: e.valueFrom.secretKeyRef.name, keys: [e.valueFrom.secretKeyRef.key], how: `env ${e.name} of container ${c.name}` });
    for (const f of c.envFrom ?? []) if (f.secretRef) out.push({ name: f.secretRef.name, how: `envFrom of container ${c.name}` });
  }
  return out;
}

/** Whether a volume gives Secret files. */
function holdsSecret(template: PodTemplate, volumeName: string): boolean {
  const v = template.spec.volumes?.find((x) => x.name === volumeName);
  return Boolean(v?.secret || v?.projected?.sources.some((s) => s.secret));
}

/**
 * Every faceshard workload runs as its own identity: NATS_CREDS names a file mounted from
 * the Secret faceshard-creds-<identity> (key <identity>.creds), read-only, mode at most
 * 0440; its pod can read no other Secret but the TLS component's client certificate.
 */
export function credentialsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const fc of faceshardContainers(objects)) {
    const at = where(fc);
    const identity = identityFor(fc, objects);
    if (!identity) {
      problems.push(`${at}: cannot tell which NATS identity it needs (${fc.program})`);
      continue;
    }
    const secret = credsSecretName(identity);
    const { value, file } = mountedFileOf(fc, objects, 'NATS_CREDS');
    if (value === undefined) problems.push(`${at}: sets no NATS_CREDS: it would connect without credentials (as ${identity} it needs ${secret})`);
    else if (!file) problems.push(`${at}: NATS_CREDS is ${value}, which no volume mounts`);
    else if (file.kind !== 'Secret' || file.name !== secret || file.key !== credsKey(identity)) {
      problems.push(
        `${at}: NATS_CREDS ${value} is ${file.kind} ${file.name} key ${file.key}; as ${identity} it must be Secret ${secret} key ${credsKey(identity)}`,
      );
    }
    for (const s of secretsOfPod(fc.template)) {
      if (s.name === secret) continue;
      if (s.name === TLS_CLIENT_SECRET && s.keys?.every((k) => TLS_KEYS.includes(k))) continue;
      const other = OTHER_SECRETS[fc.program];
      if (other && s.name === other.name && s.keys?.every((k) => other.keys.includes(k))) continue;
      problems.push(
        `${at}: its pod reads Secret ${s.name} (${s.how}); a ${identity} pod may read only ${secret}${s.name === TLS_CLIENT_SECRET ? ` and ${TLS_CLIENT_SECRET}'s ${TLS_KEYS.join(', ')}` : ''}`,
      );
    }
    for (const m of fc.container.volumeMounts ?? []) {
      if (holdsSecret(fc.template, m.name) && m.readOnly !== true)
        problems.push(`${at}: Secret volume ${m.name} is mounted at ${m.mountPath} without readOnly: true`);
    }
    for (const f of mountedFiles(fc.template, fc.container, objects)) {
      if (f.kind === 'Secret' && (f.mode & SECRET_FILE_MODE_MASK) !== 0)
        problems.push(`${at}: ${f.path} (Secret ${f.name}) has mode 0${f.mode.toString(8)}; at most 0440`);
    }
    problems.push(...unnamedSecretKeys(fc.template).map((p) => `${at}: ${p}`));
  }
  return problems;
}

export interface InitJob {
  fc: FaceshardContainer;
  argv: string[];
  shards?: string;
  streamReplicas?: string;
}

function optionValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** The Jobs whose faceshard container runs `faceshard admin init` (its command line expanded as the kubelet does). */
export function initJobs(objects: K8sObject[]): InitJob[] {
  return faceshardContainers(objects)
    .filter((fc) => fc.workload.kind === 'Job' && fc.program === 'cli')
    .map((fc) => ({ fc, argv: commandLine(fc.container, resolveEnv(fc.container, objects).env) }))
    .filter(({ argv }) => {
      const script = argv.findIndex((a) => a.endsWith('.js'));
      return argv[script + 1] === 'admin' && argv[script + 2] === 'init';
    })
    .map((job) => ({ ...job, shards: optionValue(job.argv, '--shards'), streamReplicas: optionValue(job.argv, '--stream-replicas') }));
}

/**
 * One Job runs `faceshard admin init` as admin, with the shard count every service sees and
 * `streamReplicas` stream replicas (at most the NATS servers), retried while NATS starts.
 */
export function initJobProblems(objects: K8sObject[], streamReplicas?: number): string[] {
  const jobs = initJobs(objects);
  if (jobs.length !== 1)
    return [
      `${jobs.length} Jobs run \`faceshard admin init\` (${jobs.map((j) => j.fc.workload.metadata.name).join(', ') || 'none'}); one must, or no service starts (they only read the stream and the shard count)`,
    ];
  const [job] = jobs;
  const at = where(job.fc);
  const problems: string[] = [];
  const identity = identityFor(job.fc, objects);
  const { file } = mountedFileOf(job.fc, objects, 'NATS_CREDS');
  if (identity !== 'admin' || file?.name !== credsSecretName('admin'))
    problems.push(`${at}: runs as ${file ? `Secret ${file.name}` : 'nobody'}; admin init needs Secret ${credsSecretName('admin')}`);
  const counts = new Set(
    faceshardContainers(objects)
      .filter((fc) => fc.program !== 'cli')
      .map((fc) => resolveEnv(fc.container, objects).env.SHARD_COUNT),
  );
  if (!job.shards || !/^\d+$/.test(job.shards)) problems.push(`${at}: --shards is ${job.shards ?? 'not given'}, not a number once expanded`);
  else if (counts.size !== 1 || !counts.has(job.shards))
    problems.push(`${at}: --shards ${job.shards}, but the services run with SHARD_COUNT ${[...counts].join(', ')}`);
  const natsReplicas = natsServerConfig(objects)?.replicas ?? 1;
  if (!job.streamReplicas || !/^\d+$/.test(job.streamReplicas))
    problems.push(`${at}: --stream-replicas is ${job.streamReplicas ?? 'not given'}, not a number once expanded`);
  else {
    const r = Number(job.streamReplicas);
    if (streamReplicas !== undefined && r !== streamReplicas) problems.push(`${at}: --stream-replicas ${r}, expected ${streamReplicas}`);
    if (r > natsReplicas) problems.push(`${at}: --stream-replicas ${r} on ${natsReplicas} NATS server(s)`);
  }
  const spec = job.fc.workload.spec ?? {};
  if (!['OnFailure', 'Never'].includes(job.fc.template.spec.restartPolicy ?? '')) problems.push(`${at}: a Job's restartPolicy must be OnFailure or Never`);
  if (!(Number(spec.backoffLimit ?? 6) >= 3)) problems.push(`${at}: backoffLimit ${spec.backoffLimit}: the Job must retry while NATS starts`);
  return problems;
}

// ---- TLS ------------------------------------------------------------------------------------

/** The tls {} block of a config text, or undefined. */
function tlsBlock(text: string | undefined): string | undefined {
  return text === undefined ? undefined : natsBlock(text, 'tls', true);
}

function tlsSetting(block: string, name: string): string | undefined {
  return new RegExp(`^\\s*${name}\\s*[:=]\\s*"?([^"\\s]+)"?\\s*$`, 'm').exec(block)?.[1];
}

export interface NatsTls {
  /** Client connections (4222) are TLS. */
  client: boolean;
  /** Route connections (6222) are TLS. */
  routes: boolean;
  /** The server verifies client certificates. */
  verify: boolean;
  problems: string[];
}

/**
 * NATS's TLS as the manifests configure it: tls {} at top level (client) and inside
 * cluster {} (routes), directly or through the included hooks; the certificate, key and CA
 * files are mounted from a Secret in cert-manager's layout; a cluster with client TLS
 * has route TLS too; every faceshard container trusts the CA (NATS_TLS_CA) and, where the
 * server verifies clients, presents a certificate (NATS_TLS_CERT/KEY), all from Secret
 * files; and none sets NATS_TLS_* when the server has no TLS.
 */
export function natsTls(objects: K8sObject[]): NatsTls {
  const nats = natsServerConfig(objects);
  if (!nats) return { client: false, routes: false, verify: false, problems: ['no NATS StatefulSet'] };
  const problems: string[] = [];
  const at = `StatefulSet/${nats.sts.metadata.name}`;
  const includes = natsIncludes(nats.conf);
  const blockIn = (scope: '' | 'cluster') => {
    const direct = tlsBlock(scope === '' ? nats.conf.replace(/^cluster\s*[:=]?\s*\{[\s\S]*?^\}/m, '') : natsBlock(nats.conf, 'cluster'));
    return (
      direct ??
      includes
        .filter((i) => i.block === scope)
        .map((i) => tlsBlock(includedFile(nats, i.file)?.content))
        .find((b) => b !== undefined)
    );
  };
  const client = blockIn('');
  const routes = blockIn('cluster');
  const checkFiles = (block: string, what: string) => {
    for (const [setting, key] of [
      ['cert_file', 'tls.crt'],
      ['key_file', 'tls.key'],
      ['ca_file', 'ca.crt'],
    ] as const) {
      const path = tlsSetting(block, setting);
      const file = path === undefined ? undefined : nats.files.get(path);
      if (!path) problems.push(`${at}: ${what} tls {} sets no ${setting}`);
      else if (!file) problems.push(`${at}: ${what} tls {} ${setting} ${path} is not a mounted file`);
      else if (file.kind !== 'Secret' || file.key !== key)
        problems.push(
          `${at}: ${what} tls {} ${setting} ${path} is ${file.kind} ${file.name} key ${file.key}; expected a Secret's ${key} (cert-manager's layout)`,
        );
    }
  };
  if (client) checkFiles(client, 'client');
  if (routes) checkFiles(routes, 'route');
  if (client && nats.replicas > 1 && !routes) problems.push(`${at}: client connections are TLS but routes between the ${nats.replicas} servers are not`);
  const verify = client !== undefined && /^\s*verify\s*[:=]\s*true\s*$/m.test(client);
  for (const fc of faceshardContainers(objects)) {
    const want: Array<[string, string]> = client
      ? [
          ['NATS_TLS_CA', 'ca.crt'],
          ...(verify
            ? ([
                ['NATS_TLS_CERT', 'tls.crt'],
                ['NATS_TLS_KEY', 'tls.key'],
              ] as Array<[string, string]>)
            : []),
        ]
      : [];
    for (const name of ['NATS_TLS_CA', 'NATS_TLS_CERT', 'NATS_TLS_KEY']) {
      const key = want.find(([n]) => n === name)?.[1];
      const { value, file } = mountedFileOf(fc, objects, name);
      if (!key) {
        if (value !== undefined) problems.push(`${where(fc)}: sets ${name}, but NATS ${client ? 'does not verify client certificates' : 'serves no TLS'}`);
      } else if (value === undefined)
        problems.push(`${where(fc)}: sets no ${name}: NATS's client port is TLS${verify ? ' and verifies client certificates' : ''}`);
      else if (!file) problems.push(`${where(fc)}: ${name} is ${value}, which no volume mounts`);
      else if (file.kind !== 'Secret' || file.key !== key)
        problems.push(`${where(fc)}: ${name} ${value} is ${file.kind} ${file.name} key ${file.key}; expected a Secret's ${key}`);
    }
  }
  return { client: client !== undefined, routes: routes !== undefined, verify, problems };
}
