import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { connectAs } from '../../libs/nats-auth/index.js';
import { startLocalCluster, waitForCluster } from '../../libs/local-cluster/index.js';
import { NatsServerMissingError } from '../../libs/nats-server/index.js';
import { createLogger, isWarningLine } from '../../libs/observability/logger.js';
import { intOption, parseCommandArgs, UsageError } from '../args.js';
import { runDemo } from './demo.js';

export async function upCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('up', argv, {
    shards: { type: 'string' },
    replicas: { type: 'string' },
    processes: { type: 'string' },
    'nats-port': { type: 'string' },
    'data-dir': { type: 'string', default: '.faceshard' },
    prefix: { type: 'string', default: 'faces' },
    'ready-timeout': { type: 'string' },
    demo: { type: 'boolean', default: false },
    'no-auth': { type: 'boolean', default: false },
  });
  if (positionals.length) throw new UsageError(`faceshard up: unexpected argument "${positionals[0]}"`);
  const shards = intOption('shards', values.shards, 4, 1, 256);
  const replicas = intOption('replicas', values.replicas, 1, 1, 64);
  const processes = values.processes === undefined ? undefined : intOption('processes', values.processes, 1, 1, 256);
  const natsPort = intOption('nats-port', values['nats-port'], 4222, 0, 65535);
  const readyTimeoutMs = intOption('ready-timeout', values['ready-timeout'], 120, 1, 3600) * 1000;
  const dataDir = path.resolve(values['data-dir']);
  // The supervisor's own log goes to logs/up.log; the terminal gets only its warnings.
  mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
  const upLog = createWriteStream(path.join(dataDir, 'logs', 'up.log'), { flags: 'a' });
  const log = createLogger({ service: 'up' }, 'info', (line) => {
    upLog.write(line);
    if (isWarningLine(line)) process.stderr.write(line);
  });

  let cluster;
  try {
    cluster = await startLocalCluster({ shards, replicas, processes, natsPort, dataDir, prefix: values.prefix, auth: !values['no-auth'], log });
  } catch (err) {
    if (err instanceof NatsServerMissingError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  console.log(`NATS ${cluster.natsUrl}`);
  console.log(`data ${dataDir} (logs in ${cluster.logDir})`);
  const credentials = cluster.credentials;
  if (credentials) {
    const rel = (file: string) => path.relative(process.cwd(), file) || file;
    console.log(`authentication on: pass --creds FILE (or set NATS_CREDS) to every command`);
    console.log(`  queries and status: --creds ${rel(credentials.reader)}`);
    console.log(`  ingest, delete, encode: --creds ${rel(credentials.writer)}`);
    console.log(`  streams and purge (admin): --creds ${rel(credentials.admin)}`);
  } else {
    console.warn(`WARNING: authentication is OFF (--no-auth): anyone who can reach ${cluster.natsUrl} can read, add, forge and delete faces`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= cluster.stop().then(() => console.log('stopped')));
  const stopped = new Promise<void>((resolve) => {
    // A repeated signal while stopping must not kill us before the children are down.
    const onSignal = () => void stop().then(resolve);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  const nc = await connectAs({ servers: cluster.natsUrl }, cluster.admin);
  try {
    const status = await waitForCluster(nc, shards, replicas, readyTimeoutMs);
    const faces = status.shards.reduce((sum, s) => sum + Math.max(0, ...s.replicas.map((r) => r.count)), 0);
    console.log(`ready: ${shards} shards x ${replicas} replica(s), ${faces} faces, query subject ${values.prefix}.query`);
  } catch (err) {
    console.error((err as Error).message);
    await nc.close();
    await stop();
    return 1;
  }
  await nc.close();

  if (values.demo) {
    try {
      await runDemo(cluster.natsUrl, values.prefix, credentials && { writer: credentials.writer, reader: credentials.reader });
    } catch (err) {
      console.error(`demo failed: ${(err as Error).message}`);
    }
  }
  console.log('serving; Ctrl-C stops the cluster');
  await stopped;
  return 0;
}
