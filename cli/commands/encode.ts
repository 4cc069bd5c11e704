import { FaceshardClient } from '../../libs/client/index.js';
import { isBackendName, type BackendName } from '../../services/encoder/backend.js';
import { encodeDirectory, type EncodeSummary } from '../../services/encoder/encode-directory.js';
import { createProgressBar } from '../../services/encoder/progress-bar.js';
import { natsOption, numberOption, parseCommandArgs, UsageError } from '../args.js';

export const encoderOptions = {
  'min-score': { type: 'string' },
  backend: { type: 'string' },
} as const;

export function encodeSettings(values: { 'min-score'?: string; backend?: string }) {
  if (values.backend !== undefined && !isBackendName(values.backend)) {
    throw new UsageError(`--backend must be one of tensorflow-gpu, tensorflow, wasm, cpu; got "${values.backend}"`);
  }
  return { minScore: numberOption('min-score', values['min-score'], 0, 1), backend: values.backend };
}

/** Encode every face under a folder and ingest it; returns the summary for callers that compose it. */
export async function encodeAndIngest(dir: string, client: FaceshardClient, settings: { minScore?: number; backend?: BackendName }): Promise<EncodeSummary & { rejected: string[] }> {
  const bar = createProgressBar({ label: 'encoding' });
  const rejected: string[] = [];
  try {
    const summary = await encodeDirectory(dir, {
      ...settings,
      onProgress: (done, total) => bar.update(done, total),
      onFaces: async (faces) => {
        const reply = await client.ingestMany(faces);
        for (const r of reply.rejected) rejected.push(`${faces[r.index].id}: ${r.reason}`);
      },
    });
    return { ...summary, rejected };
  } finally {
    bar.finish();
  }
}

export function printEncodeSummary(dir: string, s: EncodeSummary & { rejected: string[] }): void {
  console.log(
    `encoded ${s.images} image(s) in ${dir}: ${s.faces - s.rejected.length} face(s) stored, ${s.noFace.length} without a face, ${s.unreadable.length} unreadable ` +
      `(${s.seconds.toFixed(1)} s, ${(s.images / Math.max(s.seconds, 1e-9)).toFixed(2)} images/s, backend ${s.backend})`,
  );
  for (const p of s.noFace) console.log(`  no face found: ${p}`);
  for (const u of s.unreadable) console.log(`  unreadable: ${u.path}: ${u.reason}`);
  for (const r of s.rejected) console.log(`  rejected by the cluster: ${r}`);
}

export async function encodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('encode', argv, { ...natsOption, ...encoderOptions });
  if (positionals.length !== 1) throw new UsageError('faceshard encode DIR: give exactly one folder of images');
  const settings = encodeSettings(values);
  const client = await FaceshardClient.connect(values.nats, { prefix: values.prefix });
  try {
    const summary = await encodeAndIngest(positionals[0], client, settings);
    printEncodeSummary(positionals[0], summary);
    return summary.rejected.length ? 1 : 0;
  } finally {
    await client.close();
  }
}
