#!/usr/bin/env node
import { securityOptions } from '../../libs/nats/nats-auth/index.js';
import { runMain } from '../../libs/service/lifecycle.js';
import { ServiceRuntime } from '../../libs/service/runtime.js';
import { ApiKeys } from './api-keys.js';
import { ClusterLink } from './cluster-link.js';
import { loadGatewayConfig } from './config.js';
import { gatewayMetrics } from './metrics.js';
import { gatewayRoutes } from './routes.js';
import { GatewayServer } from './server.js';
import { GatewayThumbnails } from './thumbnails.js';

runMain('gateway', async () => {
  const config = loadGatewayConfig();
  // Read before anything listens: a gateway without usable keys does not start.
  const keys = ApiKeys.fromFile(config.GATEWAY_API_KEYS_FILE);
  const security = { creds: config.NATS_CREDS, tlsCa: config.NATS_TLS_CA, tlsCert: config.NATS_TLS_CERT, tlsKey: config.NATS_TLS_KEY };
  // Its NATS identity's files too (unreadable, malformed, expired): a wrong file stops it here, not in a retry loop.
  securityOptions(security);
  let draining = false;
  // Assigned once the runtime's logger exists; /readyz may be asked before.
  let link: ClusterLink | undefined;
  const ready = () => !draining && Boolean(link?.ready);
  const runtime = await ServiceRuntime.start('gateway', config, { healthy: () => true, ready });
  const { log, ops, registry } = runtime;
  const cluster = new ClusterLink({ url: config.NATS_URL, prefix: config.SUBJECT_PREFIX, security }, log);
  link = cluster;
  const metrics = gatewayMetrics(registry);
  const client = () => cluster.current();
  const thumbnails = new GatewayThumbnails(client, config.GATEWAY_THUMBNAILS, log, metrics.thumbnailFailures);
  const { routes } = gatewayRoutes({ ready, registry, client, timeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS, thumbnails });
  const server = new GatewayServer({
    routes,
    keys,
    maxBodyBytes: config.GATEWAY_MAX_BODY_BYTES,
    corsOrigins: config.GATEWAY_CORS_ORIGINS,
    metrics,
    log,
  });
  const port = await server.listen(config.GATEWAY_HTTP_PORT, config.GATEWAY_HTTP_HOST);
  log.info('gateway listening', { port, keys: keys.size, cors: config.GATEWAY_CORS_ORIGINS, thumbnails: config.GATEWAY_THUMBNAILS });

  runtime.drainOnTerminate([
    async () => {
      draining = true;
      await server.close();
    },
    () => cluster.stop(),
    () => ops.close(),
  ]);
  await cluster.start();
  log.info('ready', { nats: config.NATS_URL });
});
