import type { TestCluster } from './cluster.js';

/** Every face id in the cluster (at most 1000), once the shards applied every write acknowledged so far. */
export async function storedIds(cluster: TestCluster): Promise<string[]> {
  const jsm = await (await cluster.adminNc()).jetstreamManager(); // the writer may not read stream info
  const lastSeq = (await jsm.streams.info(cluster.client.subjects.stream)).state.last_seq;
  const reply = await cluster.client.query([new Array(128).fill(0)], { k: 1000, minSeq: lastSeq });
  return reply.results[0].map((m) => m.id).sort();
}
