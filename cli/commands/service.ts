import { MAX_SHARD_COUNT } from '../../libs/sharding/index.js';
import { intOption, parseCommandArgs } from '../args.js';

/**
 * `faceshard shard --index i[,j...]` / `coordinator` / `encoder`: run one service in this
 * process, configured like a container (env), with flags as a shortcut for the env.
 */
export async function serviceCommand(kind: 'shard' | 'coordinator' | 'encoder', argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(kind, argv, { ...SERVICE_FLAGS, index: { type: 'string' }, shards: { type: 'string' } });
  // "2", or "0,2": one process serving several shards.
  if (values.index !== undefined)
    process.env.SHARD_INDEX = values.index
      .split(',')
      .map((part) => intOption('index', part, 0, 0, 4095))
      .join(',');
  if (values.shards !== undefined) process.env.SHARD_COUNT = String(intOption('shards', values.shards, 1, 1, MAX_SHARD_COUNT));
  applyServiceFlags(values);
  const mains = { shard: '../../services/shard/main.js', coordinator: '../../services/coordinator/main.js', encoder: '../../services/encoder/main.js' };
  return runService(mains[kind]);
}

/** The flags every service command takes: where the cluster is, who the service is on it, its ops port. */
export const SERVICE_FLAGS = {
  nats: { type: 'string' },
  prefix: { type: 'string' },
  creds: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'http-port': { type: 'string' },
} as const;

/** SERVICE_FLAGS given, as the env a service reads (a flag wins over the env). */
export function applyServiceFlags(values: Partial<Record<keyof typeof SERVICE_FLAGS, string>>): void {
  if (values.nats !== undefined) process.env.NATS_URL = values.nats;
  if (values.prefix !== undefined) process.env.SUBJECT_PREFIX = values.prefix;
  if (values.creds !== undefined) process.env.NATS_CREDS = values.creds;
  if (values['tls-ca'] !== undefined) process.env.NATS_TLS_CA = values['tls-ca'];
  if (values['tls-cert'] !== undefined) process.env.NATS_TLS_CERT = values['tls-cert'];
  if (values['tls-key'] !== undefined) process.env.NATS_TLS_KEY = values['tls-key'];
  if (values['http-port'] !== undefined) process.env.HTTP_PORT = String(intOption('http-port', values['http-port'], 0, 0, 65535));
}

/** Runs a service's main module (relative to this file) in this process; it owns the process from here and exits on SIGTERM. */
export async function runService(main: string): Promise<number> {
  await import(main);
  await new Promise(() => undefined);
  return 0;
}
