/**
 * Face thumbnails: a small square WebP crop of each face found in a photo, made where the
 * photo's bytes and the faces' boxes meet (the gateway's enroll, the encoder's jobs,
 * `faceshard encode`), and stored by face id (libs/nats/thumbnail-store).
 */
export { faceThumbnails, squareAround, THUMBNAIL_SIDE, type FaceBox } from './face-crop.js';
export { putThumbnails, storeFaceThumbnails, type OpenThumbnailStore, type StoredThumbnails } from './store-faces.js';
