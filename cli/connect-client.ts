import { FaceshardClient } from '../libs/nats/client/index.js';
import { DEFAULT_DATA_DIR } from '../libs/local/cluster-file/index.js';
import { findRunningCluster } from '../libs/local/cluster-file/find-running.js';
import { DEFAULT_NATS_URL } from '../libs/config/env.js';
import type { NatsSecurity } from '../libs/nats/nats-auth/index.js';
import { createLogger, type LogLevel } from '../libs/observability/logger.js';
import { DEFAULT_SUBJECT_PREFIX } from '../libs/protocol/index.js';

/** The values natsOption (args.ts) parses. */
export interface NatsOptionValues {
  nats?: string;
  'data-dir'?: string;
  prefix?: string;
  creds?: string;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
}

/** NatsOptionValues with where to connect settled. */
export interface ClusterTarget extends NatsOptionValues {
  nats: string;
  prefix: string;
}

/** Which of a local cluster's credentials a command uses when none is given. */
export type ClientRole = 'reader' | 'writer' | 'admin';

export function securityOf(values: NatsOptionValues): NatsSecurity {
  return {
    creds: values.creds || undefined,
    tlsCa: values['tls-ca'] || undefined,
    tlsCert: values['tls-cert'] || undefined,
    tlsKey: values['tls-key'] || undefined,
  };
}

function cliLogger() {
  const level = (['debug', 'info', 'warn', 'error'] as const).find((l) => l === process.env.LOG_LEVEL) ?? 'warn';
  return createLogger({ service: 'faceshard' }, level as LogLevel);
}

/**
 * --nats (or NATS_URL) when given; else the cluster `faceshard up` runs on --data-dir
 * (its cluster.json: URL, prefix, and the role's credentials unless --creds/NATS_CREDS
 * names others); else DEFAULT_NATS_URL (nats://127.0.0.1:4222).
 */
export function resolveTarget(values: NatsOptionValues, role: ClientRole): ClusterTarget {
  if (values.nats) return { ...values, nats: values.nats, prefix: values.prefix ?? DEFAULT_SUBJECT_PREFIX };
  const cluster = findRunningCluster(values['data-dir'] ?? DEFAULT_DATA_DIR, cliLogger());
  if (!cluster) return { ...values, nats: DEFAULT_NATS_URL, prefix: values.prefix ?? DEFAULT_SUBJECT_PREFIX };
  return { ...values, nats: cluster.natsUrl, prefix: values.prefix ?? cluster.prefix, creds: values.creds || cluster.credentials?.[role] };
}

/** A client of the cluster the command's options name (see resolveTarget), as `role` on a local cluster. */
export function connectClient(values: NatsOptionValues, role: ClientRole): Promise<FaceshardClient> {
  const target = resolveTarget(values, role);
  return FaceshardClient.connect(target.nats, { prefix: target.prefix, security: securityOf(target) });
}
