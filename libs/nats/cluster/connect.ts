import type { NatsConnection } from 'nats';
import { connectAs } from '../nats-auth/index.js';
import type { Logger } from '../../observability/logger.js';

/** The connection settings every service reads from env (CommonEnv). */
export interface NatsEnvConfig {
  NATS_URL: string;
  NATS_CREDS?: string;
  NATS_TLS_CA?: string;
  NATS_TLS_CERT?: string;
  NATS_TLS_KEY?: string;
}

/**
 * Connects as the identity in NATS_CREDS (with TLS where configured) and keeps
 * reconnecting forever: a service outlives nats-server restarts. `waitOnFirstConnect`
 * lets a pod start before NATS is up.
 */
export async function connectNats(config: NatsEnvConfig, name: string, log: Logger): Promise<NatsConnection> {
  const security = { creds: config.NATS_CREDS, tlsCa: config.NATS_TLS_CA, tlsCert: config.NATS_TLS_CERT, tlsKey: config.NATS_TLS_KEY };
  const nc = await connectAs(
    {
      servers: config.NATS_URL.split(',').map((s) => s.trim()),
      name,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // nats.js otherwise builds two Error objects (stack traces) for every request and
      // JetStream publish, in case it times out: ~0.07 ms each, the coordinator's largest
      // single cost per query at low load. Timeout errors still say what timed out.
      noAsyncTraces: true,
    },
    security,
  );
  // The creds file's path, never its contents.
  log.info('connected to NATS', {
    server: nc.getServer(),
    maxPayload: nc.info?.max_payload,
    creds: config.NATS_CREDS ?? 'none (anonymous)',
    tls: Boolean(config.NATS_TLS_CA || config.NATS_TLS_CERT),
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'pingTimer') continue;
      const fields = { status: status.type, data: String(status.data ?? '') };
      if (status.type === 'disconnect' || status.type === 'error') log.warn('NATS connection status', fields);
      else log.info('NATS connection status', fields);
    }
  })();
  return nc;
}
