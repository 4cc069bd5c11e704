import type { RgbPixels } from './decode-image.js';
import type { Box, DetectorOptions, FaceApi, Tf } from './face-api-types.js';

/** Finds faces in decoded pixels and describes each one as a 128-d face-api descriptor. */

export const DEFAULT_MIN_SCORE = 0.5;
export const DETECTORS = ['ssd', 'tiny'] as const;
export type DetectorName = (typeof DETECTORS)[number];
/** ssd: the accurate one. */
export const DEFAULT_DETECTOR: DetectorName = 'ssd';
/** 0: faces of any size are kept. */
export const DEFAULT_MIN_FACE_SIZE = 0;

export interface DetectedFace {
  /** Integer pixels, clipped to the image. */
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  descriptor: Float32Array;
}

export interface DetectOptions {
  /** `ssd` (SSD MobileNet v1, accurate, the default) or `tiny` (Tiny Face Detector, faster). */
  detector?: DetectorName;
  /** Detections below this confidence are dropped (face-api's `minConfidence`). */
  minScore?: number;
  /** Faces whose box is smaller than this many pixels on its shorter side are dropped. */
  minFaceSize?: number;
  /** Keep at most this many faces per image, the most confident ones. */
  maxFaces?: number;
}

export function checkDetectOptions(options: DetectOptions): void {
  const { minScore = DEFAULT_MIN_SCORE, minFaceSize = DEFAULT_MIN_FACE_SIZE, maxFaces = 1, detector = DEFAULT_DETECTOR } = options;
  if (!(minScore > 0 && minScore <= 1)) throw new RangeError(`minScore must be in (0, 1], got ${minScore}`);
  if (!(minFaceSize >= 0 && Number.isFinite(minFaceSize))) throw new RangeError(`minFaceSize must be a number of pixels >= 0, got ${minFaceSize}`);
  if (!(Number.isInteger(maxFaces) && maxFaces >= 1)) throw new RangeError(`maxFaces must be a whole number >= 1, got ${maxFaces}`);
  if (!DETECTORS.includes(detector)) throw new RangeError(`detector must be one of ${DETECTORS.join(', ')}, got ${String(detector)}`);
}

/** Faces most confident first, so index 0 is the best query face. */
export async function detectFaces(api: { faceapi: FaceApi; tf: Tf }, pixels: RgbPixels, options: DetectOptions = {}): Promise<DetectedFace[]> {
  checkDetectOptions(options);
  const { faceapi, tf } = api;
  const input = tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32');
  try {
    // face-api disposes its intermediate tensors itself; the input is ours to dispose.
    const results = await faceapi.detectAllFaces(input, detectorOptions(faceapi, options)).withFaceLandmarks().withFaceDescriptors();
    const minFaceSize = options.minFaceSize ?? DEFAULT_MIN_FACE_SIZE;
    return results
      .map((r) => ({
        box: clipBox(r.detection.box, pixels.width, pixels.height),
        score: r.detection.score,
        descriptor: r.descriptor,
      }))
      .filter((f) => Math.min(f.box.width, f.box.height) >= minFaceSize)
      .sort((a, b) => b.score - a.score)
      .slice(0, options.maxFaces ?? Infinity);
  } finally {
    input.dispose();
  }
}

function detectorOptions(faceapi: FaceApi, options: DetectOptions): DetectorOptions {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  if (options.detector === 'tiny') return new faceapi.TinyFaceDetectorOptions({ scoreThreshold: minScore, inputSize: 416 });
  // SSD returns its detections best first, so maxResults also saves landmark/descriptor work.
  // Faces below the minimum size are cut afterwards, so ask for a few more than kept.
  const maxResults = options.maxFaces === undefined ? 100 : Math.min(100, options.maxFaces + (options.minFaceSize ? 8 : 0));
  return new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults });
}

/** Rounds each edge (not the size, so x + width is the rounded right edge) and clips to the image. */
function clipBox(box: Box, imageWidth: number, imageHeight: number): Box {
  const clamp = (v: number, max: number) => Math.min(Math.max(Math.round(v), 0), max);
  const left = clamp(box.x, imageWidth);
  const top = clamp(box.y, imageHeight);
  const right = clamp(box.x + box.width, imageWidth);
  const bottom = clamp(box.y + box.height, imageHeight);
  return { x: left, y: top, width: right - left, height: bottom - top };
}
