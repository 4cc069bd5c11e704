import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_DATA_DIR } from '../libs/local/cluster-file/index.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with faceshard's wording for mistakes. */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`faceshard ${command}: ${(err as Error).message}`);
  }
}

/** A whole number option within bounds, or a UsageError naming the option. */
export function intOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

export function numberOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= min || n > max) throw new UsageError(`--${name} must be a number above ${min} and at most ${max}, got "${value}"`);
  return n;
}

/**
 * Where the cluster is, and who this command is on it: flags, else the env a service
 * reads; with neither --nats nor NATS_URL, the cluster running on --data-dir (see
 * connect-client.ts).
 */
export const natsOption = {
  nats: { type: 'string', default: process.env.NATS_URL },
  'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
  prefix: { type: 'string', default: process.env.SUBJECT_PREFIX },
  creds: { type: 'string', default: process.env.NATS_CREDS },
  'tls-ca': { type: 'string', default: process.env.NATS_TLS_CA },
  'tls-cert': { type: 'string', default: process.env.NATS_TLS_CERT },
  'tls-key': { type: 'string', default: process.env.NATS_TLS_KEY },
} as const;
