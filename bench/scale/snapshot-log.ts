/**
 * The snapshots each shard wrote, from its own log ("snapshot written" lines in
 * dataDir/logs/shard-*.log): status says which log sequence a replica's last snapshot
 * covers, not whether its approximate lists were complete in it. A snapshot taken while
 * the lists were still training satisfies waitForSnapshots, and the shard then writes
 * another one (at its next tick, or at shutdown, where a stop may cut it short).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FaceshardClient } from '../../libs/nats/client/index.js';

export interface SnapshotWrite {
  shard: number;
  faces: number;
  listedRows: number;
  appliedSeq: number;
  bytes: number;
  seconds: number;
}

/** Each shard's last logged snapshot write. */
export function lastSnapshotWrites(logDir: string): Map<number, SnapshotWrite> {
  const last = new Map<number, SnapshotWrite>();
  for (const file of readdirSync(logDir).filter((f) => f.startsWith('shard-') && f.endsWith('.log'))) {
    for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      if (!line.includes('"snapshot written"')) continue;
      try {
        const record = JSON.parse(line) as SnapshotWrite & { msg: string };
        if (record.msg === 'snapshot written') last.set(record.shard, record);
      } catch {
        // A line still being written: the next poll reads it whole.
      }
    }
  }
  return last;
}

/**
 * Waits until every shard's last snapshot holds what the shard holds now: its applied
 * sequence and as many faces in lists. The performance.now() of that, or undefined after timeoutMs.
 */
export async function waitForCompleteSnapshots(client: FaceshardClient, logDir: string, shards: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await client.status(500);
    const written = lastSnapshotWrites(logDir);
    const current = status.shards.every((s) =>
      s.replicas.every((r) => {
        const w = written.get(s.index);
        return w !== undefined && w.appliedSeq >= r.appliedSeq && w.listedRows === (r.listedRows ?? 0);
      }),
    );
    if (status.shards.length === shards && current) return performance.now();
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}
