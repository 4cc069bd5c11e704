// The cluster at a glance, from GET /v1/status: shards, replicas ready, faces stored, encoders.
import { callApi } from './api.js';

/** One line of text for the status panel. */
export async function statusLine(key) {
  const status = await callApi('GET', '/v1/status', key);
  const shards = status.shards ?? [];
  const replicas = shards.reduce((n, s) => n + s.replicas.length, 0);
  const ready = shards.reduce((n, s) => n + s.replicas.filter((r) => r.ready).length, 0);
  // Every replica of a shard holds the same faces: count each shard once, by its fullest replica.
  const faces = shards.reduce((n, s) => n + Math.max(0, ...s.replicas.map((r) => r.count)), 0);
  const encoders = (status.encoders ?? []).length;
  return `${shards.length} shards · ${ready}/${replicas} replicas ready · ${faces.toLocaleString('en')} faces · ${encoders} encoder${encoders === 1 ? '' : 's'}`;
}
