import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterFilePath, DEFAULT_DATA_DIR, removeClusterFile, writeClusterFile } from '../../libs/local/cluster-file/index.js';
import { DataDirLock, DataDirLockedError } from '../../libs/local/data-dir-lock/index.js';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import {
  defaultNatsPort,
  DetachedStartError,
  localGatewayKey,
  portOrFree,
  startDetached,
  startLocalCluster,
  waitForCluster,
  waitForEncoders,
  type LocalCluster,
} from '../../libs/local/local-cluster/index.js';
import { NatsServerMissingError, NatsServerStartError } from '../../libs/local/nats-server/index.js';
import { DEFAULT_SUBJECT_PREFIX } from '../../libs/protocol/index.js';
import { createLogger, isWarningLine } from '../../libs/observability/logger.js';
import { intOption, parseCommandArgs, UsageError } from '../args.js';
import { runDemo } from './demo.js';

const CLI = fileURLToPath(new URL('../faceshard.js', import.meta.url));
/** An encoder loads TensorFlow and face-api's models first: ~10 s, more on a slow backend. */
const ENCODER_READY_TIMEOUT_MS = 180_000;
const DEFAULT_GATEWAY_PORT = 8080;

export async function upCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('up', argv, {
    shards: { type: 'string' },
    replicas: { type: 'string' },
    processes: { type: 'string' },
    encoders: { type: 'string' },
    'nats-port': { type: 'string' },
    'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
    prefix: { type: 'string', default: DEFAULT_SUBJECT_PREFIX },
    'ready-timeout': { type: 'string' },
    demo: { type: 'boolean', default: false },
    'no-auth': { type: 'boolean', default: false },
    detach: { type: 'boolean', default: false },
    'gateway-port': { type: 'string' },
    'no-gateway': { type: 'boolean', default: false },
  });
  if (positionals.length) throw new UsageError(`faceshard up: unexpected argument "${positionals[0]}"`);
  const shards = intOption('shards', values.shards, 4, 1, 256);
  const replicas = intOption('replicas', values.replicas, 1, 1, 64);
  const processes = values.processes === undefined ? undefined : intOption('processes', values.processes, 1, 1, 256);
  const encoders = intOption('encoders', values.encoders, 1, 0, 64);
  const portGiven = values['nats-port'] !== undefined;
  const natsPort = intOption('nats-port', values['nats-port'], defaultNatsPort(), 0, 65535);
  const gatewayPort = intOption('gateway-port', values['gateway-port'], DEFAULT_GATEWAY_PORT, 0, 65535);
  const readyTimeoutMs = intOption('ready-timeout', values['ready-timeout'], 120, 1, 3600) * 1000;
  const dataDir = path.resolve(values['data-dir']);
  mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
  if (values.detach) return upDetached(argv, dataDir, readyTimeoutMs);

  // A closed terminal must not turn the goodbye lines into a crash halfway through stopping.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  let lock: DataDirLock;
  try {
    lock = await DataDirLock.acquire(dataDir);
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    console.error(`faceshard up: ${err.message}`);
    return 1;
  }

  // The supervisor's own log goes to logs/up.log; the terminal gets only its warnings.
  const upLog = createWriteStream(path.join(dataDir, 'logs', 'up.log'), { flags: 'a' });
  const log = createLogger({ service: 'up' }, 'info', (line) => {
    upLog.write(line);
    if (isWarningLine(line)) process.stderr.write(line);
  });

  // The gateway on 8080, or a free port when that is taken (a port given is used as it is; 0: a free one).
  const portGivenForGateway = values['gateway-port'] !== undefined && gatewayPort !== 0;
  const gateway = values['no-gateway'] ? undefined : portGivenForGateway ? { port: gatewayPort } : await portOrFree(gatewayPort, '127.0.0.1');

  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      shards,
      replicas,
      processes,
      encoders,
      natsPort,
      freePortIfTaken: !portGiven,
      dataDir,
      prefix: values.prefix,
      auth: !values['no-auth'],
      gatewayPort: gateway?.port,
      log,
    });
  } catch (err) {
    await lock.release();
    if (err instanceof NatsServerMissingError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof NatsServerStartError) {
      console.error(`faceshard up: nats-server did not start: ${err.causeLine}`);
      console.error(
        err.addressInUse
          ? `port ${natsPort} is taken by another process (another nats-server? Debian's runs as a system service: \`sudo systemctl stop nats-server\`; a faceshard cluster: \`faceshard down --data-dir DIR\`). Leave out --nats-port to use a free port, or give another one.`
          : `its whole output is in ${path.join(dataDir, 'logs', 'nats-server.log')}`,
      );
      return 1;
    }
    throw err;
  }
  lock.describe(cluster.natsUrl);
  writeClusterFile(dataDir, {
    natsUrl: cluster.natsUrl,
    prefix: values.prefix,
    credentials: cluster.credentials && { reader: cluster.credentials.reader, writer: cluster.credentials.writer, admin: cluster.credentials.admin },
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  printWelcome(cluster, dataDir, natsPort, gateway?.taken);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await cluster.stop();
      removeClusterFile(dataDir, process.pid);
      await lock.release();
      console.log('stopped');
    })());
  const stopped = new Promise<void>((resolve) => {
    // A repeated signal while stopping must not kill us before the children are down.
    const onSignal = () => void stop().then(resolve);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  });

  const nc = await connectAs({ servers: cluster.natsUrl }, cluster.admin);
  try {
    const status = await waitForCluster(nc, shards, replicas, readyTimeoutMs);
    const faces = status.shards.reduce((sum, s) => sum + Math.max(0, ...s.replicas.map((r) => r.count)), 0);
    const encoding = encoders ? `; ${encoders} encoder(s) loading TensorFlow (faces.encode answers once they say ready)` : '';
    console.log(`ready: ${shards} shards x ${replicas} replica(s), ${faces} faces, query subject ${values.prefix}.query${encoding}`);
  } catch (err) {
    console.error((err as Error).message);
    await nc.close();
    await stop();
    return 1;
  }
  // Queries and ingest do not wait for the encoders: they say when they answer.
  const encodersReady = encoders
    ? waitForEncoders(nc, encoders, ENCODER_READY_TIMEOUT_MS).then(
        (backends) => console.log(`encoders ready: ${backends.length} (backend ${[...new Set(backends)].join(', ')}): ${values.prefix}.encode answers`),
        (err: Error) => console.error(`warning: ${err.message}; see ${cluster.logDir}/encoder-*.log`),
      )
    : Promise.resolve();
  void Promise.race([encodersReady, stopped]).then(() => nc.close());

  if (values.demo) {
    try {
      await runDemo(cluster.natsUrl, values.prefix, cluster.credentials && { writer: cluster.credentials.writer, reader: cluster.credentials.reader });
    } catch (err) {
      console.error(`demo failed: ${(err as Error).message}`);
    }
  }
  console.log('serving; Ctrl-C stops the cluster');
  await stopped;
  return 0;
}

function printWelcome(cluster: LocalCluster, dataDir: string, natsPort: number, gatewayPortTaken: number | undefined): void {
  const rel = (file: string) => path.relative(process.cwd(), file) || file;
  console.log(`NATS ${cluster.natsUrl}`);
  if (cluster.natsPortTaken)
    console.log(`port ${natsPort} is in use (a system nats-server?), so this cluster's NATS listens on ${new URL(cluster.natsUrl).port}`);
  console.log(`data ${dataDir} (logs in ${cluster.logDir})`);
  const who = dataDir === path.resolve(DEFAULT_DATA_DIR) ? 'commands run in this directory' : `commands given --data-dir ${rel(dataDir)}`;
  console.log(`${who} find this cluster${cluster.credentials ? ' and its credentials' : ''} through ${rel(clusterFilePath(dataDir))}`);
  const credentials = cluster.credentials;
  if (credentials) {
    console.log(`authentication on: elsewhere, pass --nats ${cluster.natsUrl} and --creds FILE (or set NATS_CREDS):`);
    console.log(`  queries and status: --creds ${rel(credentials.reader)}`);
    console.log(`  ingest, delete, encode: --creds ${rel(credentials.writer)}`);
    console.log(`  streams and purge (admin): --creds ${rel(credentials.admin)}`);
  } else {
    console.warn(`WARNING: authentication is OFF (--no-auth): anyone who can reach ${cluster.natsUrl} can read, add, forge and delete faces`);
  }
  if (cluster.gateway) {
    if (gatewayPortTaken !== undefined) console.log(`port ${gatewayPortTaken} is in use, so the gateway listens on ${new URL(cluster.gateway.url).port}`);
    console.log(`gateway ${cluster.gateway.url} (REST API under /v1, described at /v1/openapi.json; API keys in ${rel(cluster.gateway.keysFile)})`);
    // The reader key rides in the fragment, which a browser never sends to a server; the page keeps it for the tab. Enrolling asks for the writer key.
    const reader = localGatewayKey(cluster.gateway.keysFile, 'reader');
    if (reader) console.log(`page ${cluster.gateway.url}/#key=${reader} (search with the reader key; enrolling asks for the writer key from the keys file)`);
  }
}

/** `up --detach`: the same `up` in the background, returned from once it is ready. */
async function upDetached(argv: string[], dataDir: string, readyTimeoutMs: number): Promise<number> {
  const consoleFile = path.join(dataDir, 'logs', 'up-console.log');
  try {
    const { pid, output } = await startDetached({
      command: process.execPath,
      args: [CLI, 'up', ...argv.filter((arg) => arg !== '--detach')],
      consoleFile,
      ready: /^ready/m,
      timeoutMs: readyTimeoutMs + 30_000,
    });
    process.stdout.write(output);
    console.log(
      `running in the background (pid ${pid}), its output in ${consoleFile}; \`faceshard down${dataDir === path.resolve(DEFAULT_DATA_DIR) ? '' : ` --data-dir ${dataDir}`}\` stops it`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof DetachedStartError)) throw err;
    console.error(err.message);
    return 1;
  }
}
