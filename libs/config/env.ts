/**
 * Service configuration from environment variables.
 *
 * Units: a duration's name ends in its unit, `_MS` (milliseconds) where sub-second values
 * matter, else `_S` (seconds); no other spelling (`_SECONDS`, `_SEC`, `_MILLIS`) and no
 * unit-less duration. A renamed variable's old name stays readable (RenamedEnv).
 */
import { z } from 'zod';
import { createLogger } from '../observability/logger.js';
import { DEFAULT_SUBJECT_PREFIX } from '../protocol/index.js';
import { MAX_SHARD_COUNT } from '../sharding/index.js';
import { withRenamedEnv, type RenamedEnv } from './renamed-env.js';

/** Where a service or the CLI connects when NATS_URL (--nats) is unset: a local nats-server on its default port. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** JetStream replicas of the FACES stream and the config bucket: 1 on one server; JetStream allows at most 5. */
export const DEFAULT_STREAM_REPLICAS = 1;
export const MAX_STREAM_REPLICAS = 5;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads a service's configuration from environment variables through a zod schema
 * (defaults and coercion live in the schema). A bad value stops the service with a
 * message naming every variable that was wrong. `renamed`: old names still read, each
 * with a warning naming its new name.
 */
export function parseEnv<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env, renamed: RenamedEnv = {}): z.infer<S> {
  const translated = withRenamedEnv(env, renamed);
  // Logged before the service's own logger exists (its level is configuration too), as the same JSON lines.
  for (const { old, current } of translated.oldNamesRead) {
    createLogger({ service }).warn(`${old} is renamed ${current}: set ${current} instead (${old} is read only while ${current} is unset)`, { old, current });
  }
  const parsed = schema.safeParse(translated.env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${service}: invalid configuration from environment\n${z.prettifyError(parsed.error)}`);
}

/** Env vars every service shares. Keys are the env names the manifests set. */
export const CommonEnv = {
  NATS_URL: z.string().min(1).default(DEFAULT_NATS_URL),
  /** This process's NATS credentials (a .creds file: its identity and permissions); unset: connect anonymously (a cluster without authentication). */
  NATS_CREDS: z.string().min(1).optional(),
  /** TLS: the CA that signed the NATS servers' certificates, and a client certificate and key where the servers verify clients. */
  NATS_TLS_CA: z.string().min(1).optional(),
  NATS_TLS_CERT: z.string().min(1).optional(),
  NATS_TLS_KEY: z.string().min(1).optional(),
  SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be NATS subject tokens like "faces"')
    .default(DEFAULT_SUBJECT_PREFIX),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HTTP_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SHARD_COUNT: z.coerce.number().int().min(1).max(MAX_SHARD_COUNT).optional(),
  /** JetStream replicas of the FACES stream and the config bucket, for `faceshard admin init`, which creates them (1 on one server, 3 on a NATS cluster). */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(MAX_STREAM_REPLICAS).default(DEFAULT_STREAM_REPLICAS),
  /** SIGTERM: how long draining may take before the process exits anyway (keep under the pod's terminationGracePeriodSeconds). */
  DRAIN_TIMEOUT_S: z.coerce.number().int().min(1).max(3600).default(10),
};
