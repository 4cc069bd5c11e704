import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';

export const GatewayEnv = z.object({
  ...CommonEnv,
  /** Port of the REST API (and of its own /healthz, /readyz, /metrics); HTTP_PORT stays the ops port every service has. */
  GATEWAY_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  GATEWAY_HTTP_HOST: z.string().default('0.0.0.0'),
  /** The API keys: JSON (`[{ "key", "role", "name"? }]`) or lines `KEY ROLE [NAME]`; roles reader, writer, admin. Required: no key, no access. */
  GATEWAY_API_KEYS_FILE: z.string().min(1, 'set it to the file of API keys (lines "KEY ROLE")'),
  /** A request body larger than this is refused with `too_large` (413) before it is read whole. */
  GATEWAY_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /** Origins a browser may call the API from (comma-separated, e.g. https://faces.example.org); empty: CORS off. */
  GATEWAY_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** How long the gateway waits for the cluster's answer to one request (search, ingest, delete). */
  GATEWAY_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Store a thumbnail (a 96 px WebP crop, a few KB) of every face enrolled through POST /v1/enroll; false: none (GET .../thumbnail still serves the encoder's). */
  GATEWAY_THUMBNAILS: z.stringbool().default(true),
});
export type GatewayConfig = z.infer<typeof GatewayEnv>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseEnv('gateway', GatewayEnv, env);
}
