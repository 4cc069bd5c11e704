import { Empty, RetentionPolicy, StorageType, type NatsConnection, type StreamConfig } from 'nats';
import type { Subjects } from '../../protocol/index.js';

/**
 * The durable log: one file-backed stream over every shard's data subject. Records can
 * be neither deleted nor purged (`deny_delete`, `deny_purge`: the server refuses the API
 * calls, and a stream update cannot lift them); the admin's purge deletes and recreates
 * the stream, which every shard replica notices by its new creation time.
 * `allow_direct` lets a shard read its own subject's last record with a subject-scoped
 * request (`$JS.API.DIRECT.GET.FACES.faces.data.<i>`), which permissions can confine.
 */
export function faceStreamConfig(subjects: Subjects, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: subjects.stream,
    subjects: [subjects.dataAll],
    storage: StorageType.File,
    num_replicas: replicas,
    retention: RetentionPolicy.Limits,
    duplicate_window: 2 * 60 * 1_000_000_000, // ns: window for Nats-Msg-Id dedupe of retried batches
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
  };
}

/**
 * Creates the stream, or brings an existing one (made by an older faceshard) to the
 * protections above. Needs the admin identity where authentication is on.
 */
export async function ensureFaceStream(nc: NatsConnection, subjects: Subjects, replicas = 1): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const config = faceStreamConfig(subjects, replicas);
  let existing;
  try {
    existing = await jsm.streams.info(subjects.stream);
  } catch (err) {
    if (!String((err as Error).message).includes('not found')) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Two processes raced to create it: fine if it exists now.
      await jsm.streams.info(subjects.stream).catch(() => {
        throw addErr;
      });
    }
    return;
  }
  const c = existing.config;
  if (!c.deny_delete || !c.deny_purge || !c.allow_direct) {
    await jsm.streams.update(subjects.stream, { ...c, deny_delete: true, deny_purge: true, allow_direct: true });
  }
}

/**
 * Last stream sequence written for one shard's subject, 0 when it has none yet: a direct
 * get of the subject's last message (the subject is in the request subject, so a shard's
 * permissions can allow its own and nothing else). A stream made before `allow_direct`
 * has no direct responders: then the stream API's message get.
 */
export async function lastSequenceFor(nc: NatsConnection, subjects: Subjects, shard: number): Promise<number> {
  let reply;
  try {
    reply = await nc.request(`$JS.API.DIRECT.GET.${subjects.stream}.${subjects.data(shard)}`, Empty, { timeout: 5_000 });
  } catch (err) {
    if ((err as { code?: string }).code !== '503') throw err;
    return lastSequenceByStreamApi(nc, subjects, shard);
  }
  const status = reply.headers?.code ?? 0;
  if (status === 404) return 0;
  if (status === 503) return lastSequenceByStreamApi(nc, subjects, shard);
  const seq = Number(reply.headers?.get('Nats-Sequence'));
  if (status >= 400 || !Number.isInteger(seq))
    throw new Error(`direct get of ${subjects.data(shard)}'s last record failed: ${status} ${reply.headers?.description ?? ''}`);
  return seq;
}

async function lastSequenceByStreamApi(nc: NatsConnection, subjects: Subjects, shard: number): Promise<number> {
  const jsm = await nc.jetstreamManager({ checkAPI: false });
  try {
    return (await jsm.streams.getMessage(subjects.stream, { last_by_subj: subjects.data(shard) })).seq;
  } catch (err) {
    if (String((err as Error).message).includes('no message found')) return 0;
    throw err;
  }
}
