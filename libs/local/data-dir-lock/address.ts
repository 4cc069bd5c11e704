import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the lock of `dataDir` listens. On Linux an abstract unix socket (no file: its
 * name belongs to the listening socket, and the kernel frees it the moment the holder
 * dies, kill -9 included, so a stale lock cannot exist and taking it is one atomic
 * bind). It is named after the directory's device and inode, so every path to the same
 * directory (symlinks, bind mounts) meets the same lock. Elsewhere a socket file in the
 * data dir, whose leftover after a crash refuses connections and is replaced.
 */
export function lockAddress(dataDir: string): { address: string; abstract: boolean } {
  if (process.platform === 'linux') {
    const { dev, ino } = statSync(dataDir, { bigint: true });
    const id = createHash('sha256').update(`${dev}:${ino}`).digest('hex').slice(0, 32);
    return { address: `\0faceshard-up-${id}`, abstract: true };
  }
  return { address: path.join(dataDir, 'up.lock.sock'), abstract: false };
}
