import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connect } from 'nats';
import { FaceshardClient } from '../../libs/client/index.js';
import { serviceProcess, type ServiceKind } from '../../libs/local-cluster/service-process.js';
import { waitForCluster } from '../../libs/local-cluster/wait-ready.js';
import { tempDir, withNatsServer, type NatsTestServer } from './nats.js';

export interface TestCluster {
  nats: NatsTestServer;
  url: string;
  client: FaceshardClient;
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
}): Promise<TestCluster> {
  let configFile: string | undefined;
  if (options.natsConfig !== undefined) {
    configFile = path.join(await tempDir('faceshard-nats-conf-'), 'nats.conf');
    await writeFile(configFile, options.natsConfig);
  }
  const nats = await withNatsServer({ configFile });
  const processes = new Map<string, ChildProcess>();
  const output: string[] = [];
  const common = { NATS_URL: nats.url, SHARD_COUNT: String(options.shards), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

  const startService = (name: string, kind: ServiceKind, env: Record<string, string> = {}) => {
    const spec = serviceProcess(kind, { ...common, ...env });
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

  startService('coordinator', 'coordinator', options.coordinatorEnv);
  const replicas = options.replicas ?? 1;
  const groups = options.shardProcesses ?? Array.from({ length: options.shards }, (_, shard) => [shard]);
  for (const shards of groups) {
    for (let r = 0; r < replicas; r++) startService(`shard-${shards.join('+')}.${r}`, 'shard', { ...options.shardEnv?.(shards[0], r), SHARD_INDEX: shards.join(',') });
  }

  const cleanup = async () => {
    await Promise.all([...processes.keys()].map((name) => stopProcess(name, 'SIGKILL')));
    await nats.cleanup();
    if (configFile) await rm(path.dirname(configFile), { recursive: true, force: true });
  };
  try {
    const nc = await connect({ servers: nats.url });
    try {
      await waitForCluster(nc, options.shards, replicas, options.readyTimeoutMs ?? 30_000);
    } finally {
      await nc.close();
    }
  } catch (err) {
    await cleanup();
    throw new Error(`${(err as Error).message}\n${output.join('')}`);
  }
  const client = await FaceshardClient.connect(nats.url);
  return {
    nats,
    url: nats.url,
    client,
    shards: options.shards,
    processes,
    output,
    startService,
    stopProcess,
    cleanup: async () => {
      await client.close().catch(() => undefined);
      await cleanup();
    },
  };
}
