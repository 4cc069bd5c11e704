import { FaceshardClient } from '../libs/client/index.js';
import type { NatsSecurity } from '../libs/nats-auth/index.js';

/** The values natsOption (args.ts) parses. */
export interface NatsOptionValues {
  nats: string;
  prefix: string;
  creds?: string;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
}

export function securityOf(values: NatsOptionValues): NatsSecurity {
  return { creds: values.creds || undefined, tlsCa: values['tls-ca'] || undefined, tlsCert: values['tls-cert'] || undefined, tlsKey: values['tls-key'] || undefined };
}

/** A client of the cluster the command's --nats/--prefix/--creds/--tls-* options name. */
export function connectClient(values: NatsOptionValues): Promise<FaceshardClient> {
  return FaceshardClient.connect(values.nats, { prefix: values.prefix, security: securityOf(values) });
}
