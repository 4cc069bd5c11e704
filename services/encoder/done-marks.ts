import { createHash } from 'node:crypto';
import type { KV, NatsConnection } from 'nats';
import { DoneMark, encodeJobNames } from '../../libs/protocol/encode-jobs.js';
import type { Subjects } from '../../libs/protocol/subjects.js';

/**
 * Which images of one dataset are done, in the JetStream KV bucket `<STREAM>_ENCODED`:
 * written only after the image's faces were acknowledged by `faces.ingest`, read by
 * `--resume`. A dataset is named by its id prefix (the folder's or zip's name, or
 * `--id-prefix`), so the marks of another folder with the same inner paths are neither
 * counted nor used. Keys are `<hash of the dataset>.<hash of the path>` (KV keys allow few
 * characters; paths allow any), so one dataset's marks are one key filter.
 */
export interface DoneMarks {
  readonly kv: KV;
  readonly dataset: string;
  /** The key filter that matches this dataset's marks and no other's. */
  readonly keyFilter: string;
  /** Every done path of this dataset, for `--resume` (one pass over its keys). */
  loadDonePaths(): Promise<Set<string>>;
  get(path: string): Promise<DoneMark | undefined>;
  mark(mark: Omit<DoneMark, 'dataset'>): Promise<void>;
  /** Whether a mark read from a watch belongs to this dataset. */
  owns(mark: DoneMark): boolean;
}

function hash(text: string, chars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, chars);
}

export function doneKey(dataset: string, path: string): string {
  return `${hash(dataset, 24)}.${hash(path, 40)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `dataset`: the id prefix of the dataset's faces ('' for none, as a job without one says). */
export async function openDoneMarks(nc: NatsConnection, subjects: Subjects, dataset: string): Promise<DoneMarks> {
  const kv = await nc.jetstream().views.kv(encodeJobNames(subjects).doneBucket, { history: 1 });
  const keyFilter = `${hash(dataset, 24)}.*`;
  const owns = (mark: DoneMark) => (mark.dataset ?? '') === dataset;
  return {
    kv,
    dataset,
    keyFilter,
    owns,
    async loadDonePaths() {
      // One watch streams every current value under the filter (an ordered consumer): far
      // cheaper than a get per image. It says when the values there at its start are through.
      const paths = new Set<string>();
      let initialized!: () => void;
      const through = new Promise<void>((resolve) => (initialized = resolve));
      const watch = await kv.watch({ key: keyFilter, initializedFn: () => initialized() });
      const reading = (async () => {
        for await (const entry of watch) {
          const mark = entry.operation === 'PUT' ? parseMark(entry.value) : undefined;
          if (mark && owns(mark)) paths.add(mark.path);
        }
      })();
      await through;
      watch.stop();
      await reading;
      return paths;
    },
    async get(path) {
      const entry = await kv.get(doneKey(dataset, path));
      const mark = entry && entry.operation === 'PUT' ? parseMark(entry.value) : undefined;
      return mark && owns(mark) ? mark : undefined;
    },
    async mark(mark) {
      await kv.put(doneKey(dataset, mark.path), encoder.encode(JSON.stringify({ ...mark, dataset })));
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
