// Test helpers: a throwaway nats-server (JetStream on, free port, fresh store dir)
// and temp directories. Usage with node:test:
//
//   const nats = await withNatsServer();
//   after(() => nats.cleanup());
//   const nc = await connect({ servers: nats.url });
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServerProcess, type StartNatsServerOptions } from '../../libs/local/nats-server/index.js';

/** A fresh directory under the OS temp dir, e.g. tempDir("faceshard-store-"). */
export function tempDir(prefix = 'faceshard-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function removeDir(path: string): Promise<void> {
  return rm(path, { recursive: true, force: true });
}

export interface NatsTestServer {
  server: NatsServerProcess;
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (SIGKILL after 5 s) and deletes its store dir. Safe to call twice. */
  cleanup(): Promise<void>;
}

export async function withNatsServer(options: Omit<StartNatsServerOptions, 'storeDir'> & { storeDir?: string } = {}): Promise<NatsTestServer> {
  const ownsStoreDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await tempDir('faceshard-nats-'));
  let server: NatsServerProcess;
  try {
    server = await startNatsServer({ ...options, storeDir });
  } catch (error) {
    if (ownsStoreDir) await removeDir(storeDir);
    throw error;
  }
  let cleaned: Promise<void> | undefined;
  return {
    server,
    url: server.url,
    port: server.port,
    storeDir,
    cleanup: () =>
      (cleaned ??= (async () => {
        await server.stop('SIGTERM', 5_000);
        if (ownsStoreDir) await removeDir(storeDir);
      })()),
  };
}
