/** When every shard holds all its faces in its approximate lists, from the shards' own status. */
import type { ClusterStatus, FaceshardClient } from '../../libs/nats/client/index.js';

type Replica = ClusterStatus['shards'][number]['replicas'][number];

/**
 * Settled: maintenance idle (no training or merge pending) and every face in a list. A
 * replica idle with no listed rows has no lists (a shard under the IVF's minimum size,
 * 20,000 faces by default): its approximate queries scan all its faces, which is all
 * there is to wait for.
 */
export function listsComplete(replica: Replica): boolean {
  if (replica.count === 0 || replica.maintenance !== 'idle') return false;
  const listed = replica.listedRows ?? 0;
  return listed === 0 || listed >= replica.count;
}

/**
 * Polls status until every shard's replicas are listsComplete and hold `faces` between
 * them; the performance.now() it saw that, or undefined after timeoutMs. A shard busy
 * training answers discovery late: a poll missing a shard just polls again.
 */
export async function waitForListsComplete(client: FaceshardClient, shards: number, faces: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await client.status(500);
    const replicas = status.shards.flatMap((s) => s.replicas);
    const stored = status.shards.reduce((sum, s) => sum + (s.replicas[0]?.count ?? 0), 0);
    if (status.shards.length === shards && stored === faces && replicas.every(listsComplete)) return performance.now();
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}
