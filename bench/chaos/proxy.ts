import net from 'node:net';

/**
 * A TCP proxy that delays what it forwards (this kernel has no netem). Each direction of
 * each connection keeps its bytes in order: a chunk leaves `delayMs` after it arrived,
 * never before the chunk ahead of it. `lossRate` is the share of chunks held one more
 * retransmission timeout (`rtoMs`): what TCP shows an application when a segment is lost.
 */
export interface LinkShape {
  delayMs: number;
  lossRate: number;
  rtoMs: number;
}

export const CLEAR_LINK: LinkShape = { delayMs: 0, lossRate: 0, rtoMs: 200 };

export function parseLinkShape(input: unknown): LinkShape {
  const shape = input as Partial<LinkShape> | null;
  const ok = (v: unknown, max: number) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max;
  if (!shape || typeof shape !== 'object' || !ok(shape.delayMs, 60_000) || !ok(shape.lossRate, 1) || !ok(shape.rtoMs, 60_000)) {
    throw new Error(`a link shape is {"delayMs": 0-60000, "lossRate": 0-1, "rtoMs": 0-60000}, got ${JSON.stringify(input)}`);
  }
  return { delayMs: shape.delayMs!, lossRate: shape.lossRate!, rtoMs: shape.rtoMs! };
}

export interface ProxyRoute {
  listenPort: number;
  targetHost: string;
  targetPort: number;
}

export class DelayProxy {
  private shape: LinkShape = CLEAR_LINK;
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly listenHost: string,
    private readonly routes: ProxyRoute[],
  ) {}

  async start(): Promise<void> {
    for (const route of this.routes) {
      const server = net.createServer((client) => this.connect(client, route));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(route.listenPort, this.listenHost, () => resolve());
      });
      this.servers.push(server);
    }
  }

  setShape(shape: LinkShape): void {
    this.shape = shape;
  }

  private connect(client: net.Socket, route: ProxyRoute): void {
    const upstream = net.connect(route.targetPort, route.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => undefined); // 'close' follows and ends both ends
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /** Forwards `from` to `to` in order, each chunk no earlier than its arrival + delay (+ an RTO when "lost"). */
  private pipe(from: net.Socket, to: net.Socket): void {
    let lastDue = 0;
    from.on('data', (chunk: Buffer) => {
      const { delayMs, lossRate, rtoMs } = this.shape;
      if (delayMs === 0 && lossRate === 0 && lastDue <= Date.now()) {
        to.write(chunk);
        return;
      }
      const due = Math.max(lastDue, Date.now() + delayMs + (Math.random() < lossRate ? rtoMs : 0));
      lastDue = due;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, due - Date.now());
    });
    from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDue - Date.now())));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
