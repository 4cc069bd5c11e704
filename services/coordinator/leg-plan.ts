/**
 * Which legs a scatter sends: one per shard, except where shard processes serve several
 * shards together (`faceshard up` packs them one process per core) and answer one group
 * leg for all of them. A group is used only where every ready replica of each of its
 * shards sits in a process serving exactly that group, so a replica outside it (another
 * packing, a one-shard pod) never idles while the group takes the load. Learned from
 * service discovery every few seconds; a failed group leg drops back to per-shard legs
 * until the next look.
 */
import { RequestStrategy, type NatsConnection, type ServiceInfo } from 'nats';
import { noRespondersIsEmpty } from '../../libs/nats/cluster/discovery.js';
import { SHARD_GROUP_SERVICE, SHARD_SERVICE } from '../../libs/protocol/index.js';
import type { Logger } from '../../libs/observability/logger.js';

/** How long a look gathers answers. */
const DISCOVERY_WAIT_MS = 500;
/**
 * A service is forgotten after missing this many looks in a row: a process busy with a
 * batch or an index step may answer a look late, and one late answer should not flip
 * the plan (a stopped group is found out sooner anyway: its leg fails).
 */
const MISSED_ROUNDS = 2;

/** Shard sets, each one leg; together they cover every shard once. */
export type LegPlan = readonly (readonly number[])[];

export function perShardPlan(shardCount: number): LegPlan {
  return Array.from({ length: shardCount }, (_, shard) => [shard]);
}

/**
 * The plan for what discovery saw: `readyReplicas[s]` replicas of shard s take queries;
 * `groups` lists each group endpoint's shards (one entry per process).
 */
export function planLegs(shardCount: number, readyReplicas: ReadonlyMap<number, number>, groups: readonly (readonly number[])[]): LegPlan {
  const processesOf = new Map<string, { shards: number[]; count: number }>();
  for (const shards of groups) {
    const sorted = [...shards].sort((a, b) => a - b);
    const valid = sorted.length > 1 && sorted.every((s, i) => Number.isInteger(s) && s >= 0 && s < shardCount && (i === 0 || s !== sorted[i - 1]));
    if (!valid) continue;
    const key = sorted.join(',');
    const entry = processesOf.get(key);
    if (entry) entry.count++;
    else processesOf.set(key, { shards: sorted, count: 1 });
  }
  const covered = new Set<number>();
  const legs: number[][] = [];
  const candidates = [...processesOf.values()].sort((a, b) => b.shards.length - a.shards.length || a.shards[0] - b.shards[0]);
  for (const { shards, count } of candidates) {
    if (shards.some((s) => covered.has(s) || readyReplicas.get(s) !== count)) continue;
    legs.push(shards);
    for (const s of shards) covered.add(s);
  }
  for (let s = 0; s < shardCount; s++) if (!covered.has(s)) legs.push([s]);
  return legs.sort((a, b) => a[0] - b[0]);
}

export class LegPlanner {
  private plan: LegPlan;
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  /** What discovery last said (the plan may have dropped back to per-shard legs since). */
  private discovered = '';
  /** Services by id, with the round that last saw them (a busy process may miss a round). */
  private readonly seen = new Map<string, { info: ServiceInfo; group: boolean; round: number }>();
  private round = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly shardCount: number,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /** Counts group legs that failed (a metric). */
    private readonly failures: { inc(): void } = { inc: () => undefined },
    /** Told what every look saw (the replica router learns the direct subjects from it). */
    private readonly onServices: (services: readonly { info: ServiceInfo; group: boolean }[]) => void = () => undefined,
  ) {
    this.plan = perShardPlan(shardCount);
  }

  current(): LegPlan {
    return this.plan;
  }

  /** Looks now, then every intervalMs. */
  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A group leg failed (its process stopped, say): per-shard legs until discovery says otherwise. */
  groupFailed(): void {
    this.failures.inc();
    this.plan = perShardPlan(this.shardCount);
  }

  async refresh(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      const client = this.nc.services.client({ strategy: RequestStrategy.Timer, maxWait: DISCOVERY_WAIT_MS });
      const [replicas, groups] = await Promise.all([
        noRespondersIsEmpty(() => client.info(SHARD_SERVICE)),
        noRespondersIsEmpty(() => client.info(SHARD_GROUP_SERVICE)),
      ]);
      const round = ++this.round;
      for (const info of replicas) this.seen.set(info.id, { info, group: false, round });
      for (const info of groups) this.seen.set(info.id, { info, group: true, round });
      for (const [id, entry] of this.seen) if (round - entry.round >= MISSED_ROUNDS) this.seen.delete(id);
      const current = [...this.seen.values()];
      this.onServices(current);
      const next = planLegs(
        this.shardCount,
        readyReplicaCounts(current.filter((e) => !e.group).map((e) => e.info)),
        current.filter((e) => e.group).map((e) => groupShards(e.info)),
      );
      const key = planKey(next);
      if (key !== this.discovered) this.log.info('scatter legs', { legs: next.map((l) => l.join('+')) });
      this.discovered = key;
      this.plan = next;
    } catch (err) {
      this.log.debug('leg plan: discovery failed; keeping the last plan', { err });
    } finally {
      this.looking = false;
    }
  }
}

/** Replicas that take queries (their `query` endpoint is up), per shard. */
function readyReplicaCounts(replicas: ServiceInfo[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const info of replicas) {
    const shard = Number(info.metadata?.shard);
    if (!Number.isInteger(shard) || !info.endpoints?.some((e) => e.name === 'query')) continue;
    counts.set(shard, (counts.get(shard) ?? 0) + 1);
  }
  return counts;
}

function groupShards(info: ServiceInfo): number[] {
  const listed = info.metadata?.shards ?? '';
  return listed === '' ? [] : listed.split(',').map(Number);
}

function planKey(plan: LegPlan): string {
  return plan.map((l) => l.join('+')).join(' ');
}
