import { FaceId } from '../../libs/index/vector/index.js';
import { describeIssues } from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';

/** A face id from the path, checked as ingest checks it. */
export function faceIdParam(raw: string): string {
  const id = FaceId.safeParse(raw);
  if (!id.success) throw new GatewayError('bad_request', describeIssues(id.error, 'face id'));
  return id.data;
}
