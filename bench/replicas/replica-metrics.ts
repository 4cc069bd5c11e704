/** What a shard replica has answered, from its /metrics: scatter legs, and the query vectors they carried (coalesced queries share a leg). */
export interface ReplicaAnswers {
  legs: number;
  vectors: number;
}

export async function replicaAnswers(httpPort: number): Promise<ReplicaAnswers> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(name))
      .reduce((total, line) => total + Number(line.split(' ').pop()), 0);
  return { legs: sum('faceshard_shard_query_seconds_count'), vectors: sum('faceshard_shard_queries_total') };
}
