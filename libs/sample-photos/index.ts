import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The six group photos face-api ships in its npm package (demo/sample1..6.jpg). */
export const SAMPLE_PHOTOS = ['sample1.jpg', 'sample2.jpg', 'sample3.jpg', 'sample4.jpg', 'sample5.jpg', 'sample6.jpg'];

export function samplePhotoDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
}

/** Copies the sample photos into `dir` (face-api's demo folder also holds screenshots we do not want as faces). */
export async function copySamplePhotos(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const source = samplePhotoDir();
  return Promise.all(
    SAMPLE_PHOTOS.map(async (name) => {
      await copyFile(path.join(source, name), path.join(dir, name));
      return path.join(dir, name);
    }),
  );
}
