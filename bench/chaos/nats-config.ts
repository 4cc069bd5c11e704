import path from 'node:path';

export const NATS_CLIENT_PORT = 4222;
export const NATS_ROUTE_PORT = 6222;
export const NATS_MONITOR_PORT = 8222;

/**
 * One member of a JetStream cluster, its own host: listens on every address of its
 * namespace, routes to the other members by address, keeps its store under `dataDir`.
 * No authentication: the lab's network is reachable only from this machine.
 */
export function natsServerConfig(options: { serverName: string; clusterName: string; dataDir: string; peers: string[] }): string {
  const storeDir = path.join(options.dataDir, options.serverName);
  const routes = options.peers.map((address) => `    "nats-route://${address}:${NATS_ROUTE_PORT}"`).join('\n');
  return `server_name: ${JSON.stringify(options.serverName)}
listen: "0.0.0.0:${NATS_CLIENT_PORT}"
http: "0.0.0.0:${NATS_MONITOR_PORT}"
jetstream {
  store_dir: ${JSON.stringify(storeDir)}
  max_memory_store: 256MB
  max_file_store: 4GB
}
cluster {
  name: ${JSON.stringify(options.clusterName)}
  listen: "0.0.0.0:${NATS_ROUTE_PORT}"
  routes: [
${routes}
  ]
}
`;
}
