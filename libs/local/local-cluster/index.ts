import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initializeCluster } from '../../nats/cluster/initialize.js';
import { connectAs, openCredentialsDir, securityOptions, type Identity, type NatsSecurity } from '../../nats/nats-auth/index.js';
import { NatsServerStartError, startNatsServer, type NatsServerProcess, type StartNatsServerOptions } from '../nats-server/index.js';
import { isWarningLine, type Logger } from '../../observability/logger.js';
import { DEFAULT_SUBJECT_PREFIX, subjectsFor } from '../../protocol/index.js';
import { Supervisor, type OutputLine } from '../supervisor/index.js';
import { moveStreamsToAccount, OPEN_ACCOUNT } from './account-store.js';
import { localGatewayKeys } from './gateway-keys.js';
import { supervisedService } from './supervised-service.js';

export { waitForCluster, waitForEncoders, isClusterReady } from './wait-ready.js';
export { defaultNatsPort, DEFAULT_NATS_PORT_ENV } from './default-nats-port.js';
export { startDetached, DetachedStartError } from './start-detached.js';
export { portOrFree } from './free-port.js';
export { localGatewayKey } from './gateway-keys.js';

export interface LocalClusterOptions {
  shards: number;
  replicas: number;
  /** 0 picks a free port. */
  natsPort: number;
  /** When natsPort is taken by another process, listen on a free port instead of failing (`up` without --nats-port). */
  freePortIfTaken?: boolean;
  /** Encoder processes (`faces.encode` and the encode work queue). Default 0. */
  encoders?: number;
  dataDir: string;
  prefix?: string;
  /**
   * Shard processes per replica set: shard s runs in process s mod `processes` (one
   * process serving several shards). Default: one per core, at most one per shard.
   */
  processes?: number;
  /**
   * GOMAXPROCS of the cluster's nats-server. Default: GOMAXPROCS from the environment
   * when set, else half the cores (at least 1): see `natsGoMaxProcs`.
   */
  natsGoMaxProcs?: number;
  /**
   * NATS authentication (default on): identities and their credentials under
   * dataDir/credentials/, one per role and shard process; off: anyone who reaches the port may do anything.
   */
  auth?: boolean;
  /** The HTTP gateway's port on 127.0.0.1 (connected as the gateway identity; keys in dataDir/gateway-keys.txt); absent: no gateway. */
  gatewayPort?: number;
  log: Logger;
}

/** The credentials files a person uses with an authenticated local cluster. */
export interface LocalCredentials {
  dir: string;
  admin: string;
  writer: string;
  reader: string;
}

/**
 * nats-server shares the machine with the services here, and Go's scheduler spins idle
 * threads looking for work before parking them: on 2 cores, the 1,000,000-face cluster
 * at concurrency 1 measured nats-server CPU 0.30-0.33 ms a query with GOMAXPROCS=1
 * against 0.39-0.50 with Go's default (2), query p50 1.38-1.75 against 1.52-2.13 ms
 * (alternating runs), with the same queries/s at concurrency 64 (1,241 both) and the
 * same ingest (1,000,000 faces searchable after 6.6-7.3 s against 6.2-7.6).
 */
export function natsGoMaxProcs(env: NodeJS.ProcessEnv = process.env, cores = os.availableParallelism()): number | undefined {
  if (env.GOMAXPROCS !== undefined && env.GOMAXPROCS !== '') return undefined;
  return Math.max(1, Math.floor(cores / 2));
}

export interface LocalCluster {
  natsUrl: string;
  /** Set when the asked-for port was taken and a free one was used instead. */
  natsPortTaken?: number;
  logDir: string;
  /** Absent when the cluster runs without authentication. */
  credentials?: LocalCredentials;
  /** How to connect as the admin (no credentials without authentication). */
  admin: NatsSecurity;
  supervisor: Supervisor;
  /** Where the gateway answers and the file of its API keys (when started with a gatewayPort). */
  gateway?: { url: string; keysFile: string };
  stop(): Promise<void>;
}

/**
 * `faceshard up`: nats-server (JetStream, file store under dataDir) plus one coordinator
 * and, per replica set, shard processes serving the shards between them (one per core
 * by default), each restarted with backoff when it crashes.
 * Children log to dataDir/logs/<name>.log; their warnings and errors are echoed.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { log } = options;
  const logDir = path.join(options.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
  const subjects = subjectsFor(prefix);
  const store = options.auth === false ? undefined : openCredentialsDir(path.join(options.dataDir, 'credentials'), subjects);
  const credentials = store && {
    dir: store.dir,
    admin: store.credsFile({ role: 'admin' }),
    writer: store.credsFile({ role: 'writer' }),
    reader: store.credsFile({ role: 'reader' }),
  };
  const admin: NatsSecurity = { creds: credentials?.admin };
  const storeDir = path.join(options.dataDir, 'nats');
  const movedFrom = moveStreamsToAccount(storeDir, store ? store.account : OPEN_ACCOUNT);
  if (movedFrom) {
    log.warn(
      store
        ? 'the streams of the open (--no-auth) cluster now belong to its account'
        : 'the streams of the authenticated cluster now belong to the open (--no-auth) server',
      { from: movedFrom },
    );
  }
  const natsOptions: StartNatsServerOptions = {
    port: options.natsPort,
    storeDir,
    logFile: path.join(logDir, 'nats-server.log'),
    goMaxProcs: options.natsGoMaxProcs ?? natsGoMaxProcs(),
    configFile: store?.serverConfigFile,
    probeOptions: securityOptions(admin).options,
    exitWithThisProcess: true,
  };
  const { server: firstServer, portTaken: natsPortTaken } = await startOnPortOrFree(natsOptions, options.freePortIfTaken === true);
  let nats = firstServer;
  const natsUrl = nats.url;
  let stopping = false;
  const keepNatsUp = (server: NatsServerProcess, failures: number) => {
    void server.exited.then(async (code) => {
      if (stopping) return;
      const delayMs = Math.min(10_000, 250 * 2 ** failures);
      log.warn('nats-server exited, restarting', { code, delayMs });
      await new Promise((r) => setTimeout(r, delayMs));
      if (stopping) return;
      try {
        nats = await startNatsServer({ ...natsOptions, port: server.port });
        log.info('nats-server restarted', { url: nats.url });
        keepNatsUp(nats, 0);
      } catch (err) {
        log.error('nats-server restart failed', { err });
        keepNatsUp(server, failures + 1);
      }
    });
  };
  keepNatsUp(nats, 0);

  try {
    await initialize(natsUrl, admin, prefix, options.shards);
  } catch (err) {
    stopping = true;
    await nats.stop();
    throw err;
  }

  const logFiles = new Map<string, WriteStream>();
  const onOutput = ({ name, line }: OutputLine) => {
    let file = logFiles.get(name);
    if (!file) logFiles.set(name, (file = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' })));
    file.write(line + '\n');
    if (isWarningLine(line) || !line.startsWith('{')) process.stderr.write(`[${name}] ${line}\n`);
  };
  const supervisor = new Supervisor({ log, onOutput });
  supervisor.onRestart((e) =>
    log.warn('restarting crashed process', { name: e.name, code: e.code, signal: e.signal, delayMs: e.delayMs, restarts: e.restarts }),
  );

  const common = { NATS_URL: natsUrl, SUBJECT_PREFIX: prefix, SHARD_COUNT: String(options.shards), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' };
  // Each service runs as its own identity: the coordinator's, and each shard process's for exactly its shards.
  const credsOf = (identity: Identity): Record<string, string> => (store ? { NATS_CREDS: store.credsFile(identity) } : {});
  supervisor.start(supervisedService('coordinator', 'coordinator', { ...common, ...credsOf({ role: 'coordinator' }) }));
  for (const shards of shardsByProcess(options.shards, options.processes ?? os.availableParallelism())) {
    for (let replica = 0; replica < options.replicas; replica++) {
      // Each replica keeps its own snapshot ({shard}: each shard of the process its own
      // dir): a restarted replica replays only what came after.
      const SNAPSHOT_DIR = path.join(options.dataDir, 'snapshots', `shard-{shard}.${replica}`);
      const env = { ...common, ...credsOf({ role: 'shard', shards }), SHARD_INDEX: shards.join(','), SNAPSHOT_DIR };
      supervisor.start(supervisedService(`shard-${shards.join('+')}.${replica}`, 'shard', env));
    }
  }
  for (let i = 0; i < (options.encoders ?? 0); i++) {
    supervisor.start(supervisedService(`encoder-${i}`, 'encoder', { ...common, ...credsOf({ role: 'encoder' }) }));
  }

  let gateway: LocalCluster['gateway'];
  if (options.gatewayPort !== undefined) {
    const keysFile = localGatewayKeys(options.dataDir);
    const port = String(options.gatewayPort);
    const env = { ...common, ...credsOf({ role: 'gateway' }), GATEWAY_API_KEYS_FILE: keysFile, GATEWAY_HTTP_PORT: port, GATEWAY_HTTP_HOST: '127.0.0.1' };
    supervisor.start(supervisedService('gateway', 'gateway', env));
    gateway = { url: `http://127.0.0.1:${port}`, keysFile };
  }

  return {
    natsUrl,
    natsPortTaken,
    logDir,
    credentials,
    admin,
    supervisor,
    gateway,
    stop: async () => {
      stopping = true;
      await supervisor.stop();
      await nats.stop();
      for (const file of logFiles.values()) file.end();
    },
  };
}

/** nats-server on `options.port`; if that port is taken and `freePortIfTaken`, on a free one instead. */
async function startOnPortOrFree(options: StartNatsServerOptions, freePortIfTaken: boolean): Promise<{ server: NatsServerProcess; portTaken?: number }> {
  try {
    return { server: await startNatsServer(options) };
  } catch (err) {
    if (!(freePortIfTaken && options.port && err instanceof NatsServerStartError && err.addressInUse)) throw err;
    return { server: await startNatsServer({ ...options, port: 0 }), portTaken: options.port };
  }
}

/** The shards of each process: shard s in process s mod processes (processes capped at shards). */
export function shardsByProcess(shards: number, processes: number): number[][] {
  const count = Math.max(1, Math.min(shards, Math.floor(processes)));
  return Array.from({ length: count }, (_, p) => Array.from({ length: Math.ceil((shards - p) / count) }, (_, i) => p + i * count));
}

/**
 * The admin's step before any service starts: the protected log and the shard count
 * (refusing, with a clear message, N shards on a data dir made for another N).
 */
async function initialize(natsUrl: string, admin: NatsSecurity, prefix: string, shards: number): Promise<void> {
  const nc = await connectAs({ servers: natsUrl }, admin);
  try {
    await initializeCluster(nc, subjectsFor(prefix), { shards });
  } finally {
    await nc.close();
  }
}
