import net from 'node:net';
import { freePort } from '../nats-server/index.js';

/**
 * `port` when nothing listens on it at `host`, else a free port the system picks (0: always
 * a free one). Another process may take the port before its user binds it: a small race,
 * which the gateway then reports in its log (the supervisor restarts it).
 */
export async function portOrFree(port: number, host: string): Promise<{ port: number; taken?: number }> {
  const tryListen = (p: number) =>
    new Promise<number | undefined>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
      server.listen(p, host, () => {
        const bound = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(bound));
      });
    });
  const wanted = await tryListen(port);
  if (wanted !== undefined) return { port: wanted };
  return { port: await freePort(host), taken: port };
}
