import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads a service's configuration from environment variables through a zod schema
 * (defaults and coercion live in the schema). A bad value stops the service with a
 * message naming every variable that was wrong.
 */
export function parseEnv<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${service}: invalid configuration from environment\n${z.prettifyError(parsed.error)}`);
}

/** Env vars every service shares. Keys are the env names the manifests set. */
export const CommonEnv = {
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** This process's NATS credentials (a .creds file: its identity and permissions); unset: connect anonymously (a cluster without authentication). */
  NATS_CREDS: z.string().min(1).optional(),
  /** TLS: the CA that signed the NATS servers' certificates, and a client certificate and key where the servers verify clients. */
  NATS_TLS_CA: z.string().min(1).optional(),
  NATS_TLS_CERT: z.string().min(1).optional(),
  NATS_TLS_KEY: z.string().min(1).optional(),
  SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be NATS subject tokens like "faces"')
    .default('faces'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HTTP_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SHARD_COUNT: z.coerce.number().int().min(1).max(4096).optional(),
  /** JetStream replicas of the FACES stream and the config bucket, for `faceshard admin init`, which creates them (1 on one server, 3 on a NATS cluster). */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** SIGTERM: how long draining may take before the process exits anyway (keep under the pod's terminationGracePeriodSeconds). */
  DRAIN_TIMEOUT_S: z.coerce.number().int().min(1).max(3600).default(10),
};
