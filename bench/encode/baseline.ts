import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { FaceApiRuntime } from '../../libs/face-encoder/index.js';

/**
 * face-api's own way, as in its demo/node.js: one image at a time on the main thread,
 * decode, `detectAllFaces(tensor, ssdOptions).withFaceLandmarks().withFaceDescriptors()`,
 * dispose. The demo decodes with tfjs-node's decodeImage; on wasm there is none, so the
 * image is decoded with sharp here (as faceshard does), awaited before detection.
 * minConfidence is faceshard's default (0.5) so both do the same detections.
 */
export async function baselineRun(api: FaceApiRuntime, files: string[], minConfidence = 0.5): Promise<{ seconds: number; faces: number; images: number }> {
  const { faceapi, tf } = api;
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 });
  let faces = 0;
  const started = performance.now();
  for (const file of files) {
    const { data, info } = await sharp(await readFile(file))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const tensor = tf.tensor3d(data, [info.height, info.width, 3], 'int32');
    const result = await faceapi.detectAllFaces(tensor, options).withFaceLandmarks().withFaceDescriptors();
    tensor.dispose();
    faces += result.length;
  }
  return { seconds: (performance.now() - started) / 1000, faces, images: files.length };
}
