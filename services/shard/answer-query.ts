import type { FaceIndex } from '../../libs/face-index/index.js';
import { BINARY_CONTENT_TYPE, parseQueryBinary, parseQueryJson, type HeaderView, type ShardReply } from '../../libs/protocol/index.js';

/** One scatter leg: decode the query (binary from the coordinator, JSON from a person) and search. */
export function answerQuery(index: FaceIndex, shard: number, appliedSeq: number, data: Uint8Array, headers: HeaderView | undefined): ShardReply {
  const binary = headers?.get('content-type') === BINARY_CONTENT_TYPE;
  const query = binary && headers ? parseQueryBinary(data, headers) : parseQueryJson(data);
  const neighbors = index.search(query.vectors, query.k, query.maxDistance);
  return {
    shard,
    faces: index.size,
    appliedSeq,
    results: neighbors.map((list) => list.map((n) => (n.meta === undefined ? { id: n.id, distance: n.distance } : { id: n.id, distance: n.distance, meta: n.meta }))),
  };
}
