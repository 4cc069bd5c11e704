/**
 * What listens at a NATS URL that did not answer a client in time: a NATS server greets
 * every TCP connection with `INFO {...}` at once, so a socket that connects but stays
 * silent (or says something else) is another kind of server, e.g. an HTTP port.
 */
import net from 'node:net';

export type GreetingProbe = 'nats' | 'not_nats' | 'no_answer';

/** Host and port of `nats://host:port` (default port 4222); undefined when it is not such a URL. */
function hostPort(url: string): { host: string; port: number } | undefined {
  try {
    const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port ? Number(parsed.port) : 4222 };
  } catch {
    return undefined;
  }
}

export function probeNatsGreeting(url: string, timeoutMs: number): Promise<GreetingProbe> {
  const target = hostPort(url);
  if (!target) return Promise.resolve('no_answer');
  return new Promise((resolve) => {
    const socket = net.connect(target);
    let connected = false;
    const done = (result: GreetingProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(connected ? 'not_nats' : 'no_answer'), timeoutMs);
    socket.once('connect', () => (connected = true));
    socket.once('data', (chunk: Buffer) => done(chunk.subarray(0, 5).toString('latin1').toUpperCase() === 'INFO ' ? 'nats' : 'not_nats'));
    socket.once('error', () => done(connected ? 'not_nats' : 'no_answer'));
    socket.once('end', () => done(connected ? 'not_nats' : 'no_answer'));
  });
}
