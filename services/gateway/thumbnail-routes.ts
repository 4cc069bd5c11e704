import { faceIdParam } from './face-id-param.js';
import { GatewayError } from './http-error.js';
import type { Route } from './route.js';
import type { GatewayThumbnails } from './thumbnails.js';

/**
 * A face's thumbnail may be cached a day: it changes only when the same id is stored again
 * from another photo (then its ETag changes), and `private`, for it is a person's face
 * behind an API key, never for a shared cache.
 */
const CACHE_CONTROL = 'private, max-age=86400';

/** Does If-None-Match (`"a", "b"`, `W/"a"`, `*`) name this ETag? */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** GET /v1/faces/{id}/thumbnail: the face's crop stored at encode time (thumbnail bucket). */
export function thumbnailRoutes(thumbnails: GatewayThumbnails): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/faces/{id}/thumbnail',
      access: 'reader',
      summary:
        "A stored face's thumbnail (id URL-encoded): a 96 px square WebP crop made when the face was encoded, with an ETag and Cache-Control: private, max-age=86400 (If-None-Match answers 304). 404 when the face has none (no such face, deleted, or stored with thumbnails off)",
      reply: { status: 200, contentType: 'image/webp', description: 'the thumbnail, a 96 x 96 WebP' },
      errors: [400, 404],
      handle: async ({ params, headers }) => {
        const id = faceIdParam(params.id);
        const thumbnail = await thumbnails.get(id);
        if (!thumbnail) throw new GatewayError('not_found', `no thumbnail for the face ${JSON.stringify(id)}: no such face, or it was stored without one`);
        const etag = `"${thumbnail.digest}"`;
        const cacheHeaders = { etag, 'cache-control': CACHE_CONTROL };
        if (matches(headers['if-none-match'], etag)) return { status: 304, bytes: new Uint8Array(0), contentType: 'image/webp', headers: cacheHeaders };
        return { bytes: thumbnail.data, contentType: 'image/webp', headers: cacheHeaders };
      },
    },
  ];
}
