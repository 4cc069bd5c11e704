import { connect, type NatsConnection } from 'nats';
import type { Logger } from '../observability/logger.js';

/**
 * Connects and keeps reconnecting forever: a service outlives nats-server restarts.
 * `waitOnFirstConnect` lets a pod start before NATS is up.
 */
export async function connectNats(url: string, name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // nats.js otherwise builds two Error objects (stack traces) for every request and
    // JetStream publish, in case it times out: ~0.07 ms each, the coordinator's largest
    // single cost per query at low load. Timeout errors still say what timed out.
    noAsyncTraces: true,
  });
  log.info('connected to NATS', { server: nc.getServer(), maxPayload: nc.info?.max_payload });
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
