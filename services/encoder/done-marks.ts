import { createHash } from 'node:crypto';
import type { KV, NatsConnection } from 'nats';
import { DoneMark, encodeJobNames } from '../../libs/protocol/encode-jobs.js';
import type { Subjects } from '../../libs/protocol/subjects.js';

/**
 * Which images are done, in the JetStream KV bucket `<STREAM>_ENCODED`: written only after
 * the image's faces were acknowledged by `faces.ingest`, read by `--resume`. Keys are a hash
 * of the path (KV keys allow few characters; paths allow any).
 */
export interface DoneMarks {
  readonly kv: KV;
  /** Every done path, for `--resume` (one pass over the bucket's keys). */
  loadDonePaths(): Promise<Set<string>>;
  get(path: string): Promise<DoneMark | undefined>;
  mark(mark: DoneMark): Promise<void>;
}

export function doneKey(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 40);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function openDoneMarks(nc: NatsConnection, subjects: Subjects): Promise<DoneMarks> {
  const kv = await nc.jetstream().views.kv(encodeJobNames(subjects).doneBucket, { history: 1 });
  return {
    kv,
    async loadDonePaths() {
      // One watch streams every key's current value (an ordered consumer): far cheaper than
      // a get per image. With history 1 the bucket holds one message per key, so the count
      // taken first says when the initial values are through; later writes are not needed.
      const paths = new Set<string>();
      const expected = (await kv.status()).values;
      if (expected === 0) return paths;
      const watch = await kv.watch();
      let seen = 0;
      for await (const entry of watch) {
        const mark = entry.operation === 'PUT' ? parseMark(entry.value) : undefined;
        if (mark) paths.add(mark.path);
        if (++seen >= expected) break;
      }
      return paths;
    },
    async get(path) {
      const entry = await kv.get(doneKey(path));
      return entry && entry.operation === 'PUT' ? parseMark(entry.value) : undefined;
    },
    async mark(mark) {
      await kv.put(doneKey(mark.path), encoder.encode(JSON.stringify(mark)));
    },
  };
}

export function parseMark(value: Uint8Array): DoneMark | undefined {
  try {
    const parsed = DoneMark.safeParse(JSON.parse(decoder.decode(value)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
