import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { encodeImageFile } from '../../libs/face-encoder/index.js';
import { copySamplePhotos } from '../../libs/sample-photos/index.js';
import { encodeAndIngest, printEncodeSummary } from './encode.js';
import { printQueryOutcome, runQuery } from './query.js';

/**
 * `npm start`'s story: encode face-api's six sample photos into the cluster, then look
 * for the people of one photo in a resized, mirrored copy of it.
 */
export async function runDemo(natsUrl: string, prefix: string, credentials?: { writer: string; reader: string }): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'faceshard-demo-'));
  // The demo stores faces, so it is a writer; a person querying needs only the reader's file.
  const client = await FaceshardClient.connect(natsUrl, { prefix, security: { creds: credentials?.writer } });
  try {
    const samples = path.join(work, 'samples');
    await copySamplePhotos(samples);
    console.log(`demo: encoding face-api's sample photos (${samples})`);
    printEncodeSummary(samples, await encodeAndIngest(samples, client, {}));

    const queryImage = path.join(work, 'sample3-mirrored-small.jpg');
    await sharp(path.join(samples, 'sample3.jpg')).resize({ width: 1200 }).flop().jpeg({ quality: 85 }).toFile(queryImage);
    console.log(`demo: querying with ${queryImage} (sample3.jpg resized to 1200 px wide and mirrored), k=3`);
    const faces = await encodeImageFile(queryImage);
    const { reply, roundTripMs } = await runQuery(
      client,
      faces.map((f) => f.vector),
      3,
    );
    printQueryOutcome({ faces, reply, roundTripMs });
    const creds = credentials ? ` --creds ${path.relative(process.cwd(), credentials.reader) || credentials.reader}` : '';
    console.log(`demo: try it yourself: node dist/cli/faceshard.js query ${queryImage} -k 3 --nats ${natsUrl}${creds}`);
  } finally {
    await client.close();
    // the query image stays for the hint above; the copied samples go
    await rm(path.join(work, 'samples'), { recursive: true, force: true });
  }
}
