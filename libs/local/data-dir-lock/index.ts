import { rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { z } from 'zod';
import { lockAddress } from './address.js';

/** What the running `up` tells whoever asks its lock. */
export const LockHolder = z.object({ pid: z.number().int(), natsUrl: z.string().optional() });
export type LockHolder = z.infer<typeof LockHolder>;

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder ? `pid ${holder.pid}${holder.natsUrl ? `, NATS ${holder.natsUrl}` : ', still starting'}` : 'a process that did not say who it is';
    super(
      `${dataDir} is in use by a running faceshard up (${who}): one cluster per data dir. Stop it with \`faceshard down --data-dir ${dataDir}\`, or give this one another --data-dir.`,
    );
  }
}

const PROBE_TIMEOUT_MS = 2_000;

/**
 * The holder of `dataDir`'s lock, or undefined when nobody holds it. A socket that
 * accepts but does not answer in time still means a live holder (pid unknown).
 */
export function probeDataDirLock(dataDir: string): Promise<{ held: false } | { held: true; holder?: LockHolder }> {
  const { address } = lockAddress(dataDir);
  return new Promise((resolve) => {
    const socket = connect(address);
    let text = '';
    let connected = false;
    const done = () => {
      socket.destroy();
      const parsed = LockHolder.safeParse(safeJson(text));
      resolve(connected ? { held: true, holder: parsed.success ? parsed.data : undefined } : { held: false });
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, done);
    socket.on('connect', () => (connected = true));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', done);
    socket.on('error', done);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One `faceshard up` per data dir: a listening unix socket is the lock (see address.ts
 * for why it cannot go stale). Whoever connects is told the holder's pid and NATS URL.
 */
export class DataDirLock {
  private holder: LockHolder = { pid: process.pid };

  private constructor(
    private readonly server: Server,
    private readonly socketFile: string | undefined,
  ) {
    server.on('connection', (socket) => socket.end(JSON.stringify(this.holder)));
  }

  /** Takes the lock, or throws DataDirLockedError naming the running holder. */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const { address, abstract } = lockAddress(dataDir);
    for (let attempt = 0; ; attempt++) {
      const server = createServer();
      server.unref();
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once('error', resolve);
        server.listen(address, () => resolve(undefined));
      });
      if (!error) return new DataDirLock(server, abstract ? undefined : address);
      if (error.code !== 'EADDRINUSE' || attempt > 0) throw error;
      const probe = await probeDataDirLock(dataDir);
      if (probe.held) throw new DataDirLockedError(dataDir, probe.holder);
      // A socket file left by a dead holder (never on Linux): nobody listens, replace it.
      if (!abstract) rmSync(address, { force: true });
    }
  }

  /** What a second `up` (or `down`) is told from now on. */
  describe(natsUrl: string): void {
    this.holder = { pid: process.pid, natsUrl };
  }

  release(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve())).then(() => {
      if (this.socketFile) rmSync(this.socketFile, { force: true });
    });
  }
}
