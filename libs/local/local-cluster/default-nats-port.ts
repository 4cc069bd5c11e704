/** NATS's own port: what `faceshard up` listens on when --nats-port is not given and it is free. */
export const DEFAULT_NATS_PORT = 4222;

/** Overrides DEFAULT_NATS_PORT (tests make an occupied port stand in for 4222 with it). */
export const DEFAULT_NATS_PORT_ENV = 'FACESHARD_DEFAULT_NATS_PORT';

export function defaultNatsPort(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[DEFAULT_NATS_PORT_ENV];
  if (value === undefined || value === '') return DEFAULT_NATS_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${DEFAULT_NATS_PORT_ENV} must be a port from 1 to 65535, got "${value}"`);
  return port;
}
