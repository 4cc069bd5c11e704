import { connect } from 'node:net';

/**
 * The INFO a NATS server sends first on every connection (its server_name), or
 * undefined when what listens at host:port says nothing NATS-like within timeoutMs. Read
 * over a plain socket, closed in every case: the nats client's connect leaves its socket
 * open when it times out (nats 2.29), which would keep this process alive for good.
 */
export function readServerInfo(host: string, port: number, timeoutMs: number): Promise<{ server_name?: string } | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const done = (info: { server_name?: string } | undefined) => {
      socket.destroy();
      resolve(info);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end < 0) return text.length > 65_536 ? done(undefined) : undefined;
      const match = /^INFO\s+(\{.*\})\s*$/.exec(text.slice(0, end));
      try {
        done(match ? (JSON.parse(match[1]) as { server_name?: string }) : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}
