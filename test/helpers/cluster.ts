import { spawn, type ChildProcess } from 'node:child_process';
import type { NatsConnection } from 'nats';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { initializeCluster } from '../../libs/nats/cluster/initialize.js';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { connectAs, openCredentialsDir, securityOptions, type CredentialsDir, type Identity, type NatsSecurity } from '../../libs/nats/nats-auth/index.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { serviceProcess, type ServiceKind } from '../../libs/local/local-cluster/service-process.js';
import { waitForCluster } from '../../libs/local/local-cluster/wait-ready.js';
import { tempDir, withNatsServer, type NatsTestServer } from './nats.js';
import { until } from './wait.js';

export interface TestCluster {
  nats: NatsTestServer;
  url: string;
  /** Connected as the writer where authentication is on. */
  client: FaceshardClient;
  /** With `auth`: the cluster's credentials (creds files by identity); the admin's security. */
  credentials?: CredentialsDir;
  admin: NatsSecurity;
  /** A connection as the admin (opened on first use, closed by cleanup): what a test inspects streams and consumers with. */
  adminNc(): Promise<NatsConnection>;
  /** CLI flags naming the cluster as `identity` (`--nats URL`, and `--creds FILE` with auth). */
  cliArgs(identity?: Identity): string[];
  shards: number;
  /** Processes by name: `coordinator`, `shard-<i>.<r>` (`shard-<i>+<j>.<r>` serving several). */
  processes: Map<string, ChildProcess>;
  /** Output of every process, for a failing test's message. */
  output: string[];
  startService(name: string, kind: ServiceKind, env?: Record<string, string>): ChildProcess;
  stopProcess(name: string, signal?: NodeJS.Signals): Promise<void>;
  cleanup(): Promise<void>;
}

/** A real cluster for a test: its own nats-server on a free port, a coordinator and shard processes. */
export async function startTestCluster(options: {
  shards: number;
  replicas?: number;
  readyTimeoutMs?: number;
  shardEnv?: (shard: number, replica: number) => Record<string, string>;
  /** Shards served together by one process (per replica), e.g. [[0, 2], [1]]; default: one process a shard. */
  shardProcesses?: number[][];
  coordinatorEnv?: Record<string, string>;
  /** nats-server config file text (e.g. "max_pending: 256KB"). */
  natsConfig?: string;
  /** NATS authentication as `faceshard up` sets it up: every service and the client with its own identity. */
  auth?: boolean;
  /** TLS files every service, the admin and the client connect with (the server's `tls` block goes in natsConfig). */
  tls?: Pick<NatsSecurity, 'tlsCa' | 'tlsCert' | 'tlsKey'>;
}): Promise<TestCluster> {
  let configFile: string | undefined;
  let credentials: CredentialsDir | undefined;
  if (options.natsConfig !== undefined || options.auth) {
    const dir = await tempDir('faceshard-nats-conf-');
    configFile = path.join(dir, 'nats.conf');
    credentials = options.auth ? openCredentialsDir(path.join(dir, 'credentials'), subjectsFor('faces')) : undefined;
    const authConfig = credentials ? await readFile(credentials.serverConfigFile, 'utf8') : '';
    await writeFile(configFile, `${authConfig}\n${options.natsConfig ?? ''}\n`);
  }
  const tls = options.tls ?? {};
  const admin: NatsSecurity = { creds: credentials?.credsFile({ role: 'admin' }), ...tls };
  const tlsEnv = Object.fromEntries(
    Object.entries({ NATS_TLS_CA: tls.tlsCa, NATS_TLS_CERT: tls.tlsCert, NATS_TLS_KEY: tls.tlsKey }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const tlsArgs = Object.entries({ '--tls-ca': tls.tlsCa, '--tls-cert': tls.tlsCert, '--tls-key': tls.tlsKey }).flatMap(([flag, file]) =>
    file ? [flag, file] : [],
  );
  const credsFor = (identity: Identity): Record<string, string> => ({ ...tlsEnv, ...(credentials ? { NATS_CREDS: credentials.credsFile(identity) } : {}) });
  const nats = await withNatsServer({ configFile, probeOptions: securityOptions(admin).options });
  const processes = new Map<string, ChildProcess>();
  const output: string[] = [];
  const common = { NATS_URL: nats.url, SHARD_COUNT: String(options.shards), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

  const startService = (name: string, kind: ServiceKind, env: Record<string, string> = {}) => {
    const shards = (env.SHARD_INDEX ?? '').split(',').map(Number);
    const identity: Identity = kind === 'shard' ? { role: 'shard', shards } : { role: kind };
    const spec = serviceProcess(kind, { ...common, ...credsFor(identity), ...env });
    const child = spawn(spec.command, spec.args, { env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => output.push(`[${name}] ${d.toString()}`));
    child.stderr?.on('data', (d: Buffer) => output.push(`[${name}] ${d.toString()}`));
    processes.set(name, child);
    return child;
  };
  const stopProcess = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = processes.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  };

  // The admin's step (what `faceshard up` and `faceshard admin init` do): services only read it.
  const adminNc = await connectAs({ servers: nats.url }, admin);
  try {
    await initializeCluster(adminNc, subjectsFor('faces'), { shards: options.shards });
  } finally {
    await adminNc.close();
  }
  startService('coordinator', 'coordinator', options.coordinatorEnv);
  const replicas = options.replicas ?? 1;
  const groups = options.shardProcesses ?? Array.from({ length: options.shards }, (_, shard) => [shard]);
  for (const shards of groups) {
    for (let r = 0; r < replicas; r++)
      startService(`shard-${shards.join('+')}.${r}`, 'shard', { ...options.shardEnv?.(shards[0], r), SHARD_INDEX: shards.join(',') });
  }

  const cleanup = async () => {
    await Promise.all([...processes.keys()].map((name) => stopProcess(name, 'SIGKILL')));
    await nats.cleanup();
    if (configFile) await rm(path.dirname(configFile), { recursive: true, force: true });
  };
  try {
    const nc = await connectAs({ servers: nats.url }, admin);
    try {
      await waitForCluster(nc, options.shards, replicas, options.readyTimeoutMs ?? 30_000);
    } finally {
      await nc.close();
    }
  } catch (err) {
    await cleanup();
    throw new Error(`${(err as Error).message}\n${output.join('')}`);
  }
  const client = await FaceshardClient.connect(nats.url, { security: { creds: credentials?.credsFile({ role: 'writer' }), ...tls } });
  let adminConnection: Promise<NatsConnection> | undefined;
  return {
    nats,
    url: nats.url,
    client,
    credentials,
    admin,
    adminNc: () => (adminConnection ??= connectAs({ servers: nats.url }, admin)),
    cliArgs: (identity: Identity = { role: 'writer' }) => [
      '--nats',
      nats.url,
      ...(credentials ? ['--creds', credentials.credsFile(identity)] : []),
      ...tlsArgs,
    ],
    shards: options.shards,
    processes,
    output,
    startService,
    stopProcess,
    cleanup: async () => {
      await client.close().catch(() => undefined);
      if (adminConnection) await (await adminConnection).close().catch(() => undefined);
      await cleanup();
    },
  };
}

/** Starts an encoder service in `cluster` and waits until discovery shows it (its models loaded: a minute on a slow machine). */
export async function startEncoder(cluster: TestCluster, env: Record<string, string> = {}): Promise<void> {
  cluster.startService('encoder', 'encoder', env);
  await until(
    () => `the encoder ready (${cluster.output.join('')})`,
    async () => ((await cluster.client.status()).encoders.length ? true : undefined),
    120_000,
    500,
  );
}
