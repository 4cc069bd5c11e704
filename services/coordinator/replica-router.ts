/**
 * Which replica a leg goes to, chosen by the coordinator rather than by the queue
 * group's random pick. Measured (bench/results/replicas.md): a random pick often lands
 * behind a busy, CPU-throttled replica while its twin idles, and a retry may land on the
 * same replica again (a SIGSTOPped replica keeps its TCP connection, so it keeps
 * getting half the legs).
 *
 * Per leg target (a shard "1", or a group of shards "0-2"), the replicas discovery saw
 * with their direct subjects. A leg goes to the replica with the fewest legs
 * outstanding from this coordinator (ties at random): a stalled replica's legs pile up
 * unanswered, so new legs leave it at once, before any timeout. A replica whose leg
 * failed (timeout, no responders, a bad reply) or that answered `busy` is ejected for a
 * while; once its time is up it gets one probe leg, and any answer brings it back.
 * Never are all replicas of a target out: with every one ejected, the one whose
 * ejection ends first is used. A retry or a hedge goes to a replica not yet tried for
 * that leg when there is one. A target with no replica known (discovery not done yet)
 * has none to pick: the leg goes to the queue group, as before; so does a leg whose
 * every known replica was found gone (no responders on its subject) until discovery
 * brings their successors.
 */
import type { ServiceInfo } from 'nats';
import { LegLatency } from './leg-latency.js';

/** A replica's direct query subject, by its service id (from discovery). */
export interface ReplicaEndpoint {
  id: string;
  subject: string;
}

/** How an attempt on a replica ended, for its standing; `gone`: no responders on its own subject (it left, or died). */
export type AttemptResult = 'ok' | 'fault' | 'gone' | 'busy' | 'neutral';

export interface RouterOptions {
  /** How long a failed replica is left out before it is probed again. */
  ejectMs: number;
  /** A leg is hedged when its reply is later than hedgeFactor x the target's recent p99 ... */
  hedgeFactor: number;
  /** ... and never sooner than this. */
  hedgeMinMs: number;
  random?: () => number;
  now?: () => number;
}

/** Counts kept by whoever owns the metrics registry. */
export interface RouterEvents {
  sent(target: string, replicaId: string): void;
  ejected(target: string, replicaId: string): void;
}

/** An ejected busy replica stays out at least this long, even when it asks for less. */
const BUSY_EJECT_MIN_MS = 20;
/**
 * A replica discovery stopped seeing is still routed to this long: a CPU-throttled replica
 * may answer discovery late while it serves legs well. One that is really gone answers
 * "no responders" at once, is ejected, and costs one quick retry per probe.
 */
const FORGET_AFTER_MS = 30_000;

export class Replica {
  outstanding = 0;
  /** 0: in service; otherwise out until this time (ms, options.now's clock). */
  ejectedUntil = 0;
  /** Its ejection ran out and one leg went to it; it stays out until that leg ends. */
  probing = false;
  /** When discovery last saw it. */
  seenAt = 0;
  /** Its last attempt found nobody on its subject: with every replica out, it is the last choice. */
  gone = false;
  constructor(
    readonly id: string,
    public subject: string,
  ) {}

  out(now: number): boolean {
    return this.probing || this.ejectedUntil > now;
  }
}

interface Target {
  replicas: Replica[];
  latency: LegLatency;
}

export class ReplicaRouter {
  private readonly targets = new Map<string, Target>();
  private fewest = 1;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly options: RouterOptions,
    private readonly events: RouterEvents = { sent: () => undefined, ejected: () => undefined },
  ) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * What discovery saw, by target. A replica seen again keeps its counts; one not seen
   * for FORGET_AFTER_MS is forgotten (a target with none left goes to its queue group).
   */
  update(byTarget: ReadonlyMap<string, readonly ReplicaEndpoint[]>): void {
    const now = this.now();
    for (const [key, endpoints] of byTarget) {
      const target = this.target(key);
      const known = new Map(target.replicas.map((r) => [r.id, r]));
      for (const { id, subject } of endpoints) {
        let replica = known.get(id);
        if (!replica) target.replicas.push((replica = new Replica(id, subject)));
        replica.subject = subject;
        replica.seenAt = now;
      }
    }
    for (const target of this.targets.values()) target.replicas = target.replicas.filter((r) => now - r.seenAt < FORGET_AFTER_MS);
    const perShard = [...this.targets]
      .filter(([key]) => !key.includes('-'))
      .map(([, target]) => target.replicas.length)
      .filter((n) => n > 0);
    this.fewest = perShard.length ? Math.max(1, Math.min(...perShard)) : 1;
  }

  /** Replicas of the shard that has the fewest (1 while none is known): how many legs of a scatter can run side by side at most. */
  fewestReplicas(): number {
    return this.fewest;
  }

  replicas(target: string): readonly Replica[] {
    return this.targets.get(target)?.replicas ?? [];
  }

  /**
   * The replica for the next attempt of a leg that already went to `tried` (ids), and
   * counts the leg as outstanding on it; undefined when none is known (use the queue group).
   */
  pick(target: string, tried?: ReadonlySet<string>): Replica | undefined {
    const replicas = this.targets.get(target)?.replicas;
    if (!replicas || replicas.length === 0) return undefined;
    const now = this.now();
    // Every one known found nobody on its subject (they left, or started over under new ids): the queue group reaches whoever serves now.
    if (replicas.every((r) => r.gone && r.out(now))) return undefined;
    // Tried ones are skipped while another is left; with only tried ones, the retry goes to one of them.
    let skip = tried !== undefined && tried.size > 0 ? tried : undefined;
    if (skip && replicas.every((r) => skip!.has(r.id))) skip = undefined;
    const chosen = this.leastOutstanding(replicas, skip, now) ?? this.leastBad(replicas, skip);
    if (chosen.ejectedUntil !== 0) chosen.probing = true; // its ejection ran out (or every one is out): this leg is its probe
    chosen.outstanding++;
    this.events.sent(target, chosen.id);
    return chosen;
  }

  /** Whether a replica in service remains that the leg has not tried (a hedge has somewhere to go). */
  hasAnother(target: string, tried: ReadonlySet<string>): boolean {
    const now = this.now();
    return this.replicas(target).some((r) => !tried.has(r.id) && !r.out(now));
  }

  /** An attempt on `replica` ended after `elapsedMs`: its leg is no longer outstanding, and its standing follows the result. */
  finish(target: string, replica: Replica, result: AttemptResult, elapsedMs: number, retryAfterMs = 0): void {
    replica.outstanding = Math.max(0, replica.outstanding - 1);
    if (result === 'neutral') return;
    if (result === 'ok') {
      replica.ejectedUntil = 0;
      replica.probing = false;
      replica.gone = false;
      this.targets.get(target)?.latency.record(elapsedMs);
      return;
    }
    const outFor = result === 'busy' ? Math.min(this.options.ejectMs, Math.max(BUSY_EJECT_MIN_MS, retryAfterMs)) : this.options.ejectMs;
    replica.ejectedUntil = this.now() + outFor;
    replica.probing = false;
    replica.gone = result === 'gone';
    this.events.ejected(target, replica.id);
  }

  /**
   * How long to wait for a reply before hedging (sending the same leg to another
   * replica): hedgeFactor x the target's recent p99, at least hedgeMinMs; half the
   * attempt's time while there is no history yet. Never more than half the attempt's
   * time, so the hedge has time to answer.
   */
  hedgeDelayMs(target: string, attemptMs: number): number {
    const p99 = this.targets.get(target)?.latency.p99() ?? Number.NaN;
    const delay = Number.isNaN(p99) ? attemptMs / 2 : Math.max(this.options.hedgeMinMs, this.options.hedgeFactor * p99);
    return Math.min(delay, attemptMs / 2);
  }

  private target(key: string): Target {
    let target = this.targets.get(key);
    if (!target) this.targets.set(key, (target = { replicas: [], latency: new LegLatency() }));
    return target;
  }

  /** Fewest outstanding among those in service and not skipped, ties broken at random (reservoir of one). */
  private leastOutstanding(replicas: readonly Replica[], skip: ReadonlySet<string> | undefined, now: number): Replica | undefined {
    let best: Replica | undefined;
    let ties = 0;
    for (const r of replicas) {
      if (r.out(now) || skip?.has(r.id)) continue;
      if (!best || r.outstanding < best.outstanding) {
        best = r;
        ties = 1;
      } else if (r.outstanding === best.outstanding && this.random() * ++ties < 1) best = r;
    }
    return best;
  }

  /** Every candidate is out: one still there (not `gone`) before one that is, then the one whose ejection ends first, then fewest outstanding. */
  private leastBad(replicas: readonly Replica[], skip: ReadonlySet<string> | undefined): Replica {
    let best: Replica | undefined;
    for (const r of replicas) {
      if (skip?.has(r.id)) continue;
      if (
        !best ||
        (best.gone && !r.gone) ||
        (r.gone === best.gone && (r.ejectedUntil < best.ejectedUntil || (r.ejectedUntil === best.ejectedUntil && r.outstanding < best.outstanding)))
      )
        best = r;
    }
    return best ?? replicas[0];
  }
}

/**
 * Direct subjects by leg target, from what discovery saw: each shard replica's `direct`
 * endpoint under its shard ("1"), each group process's under its shards ("0-2").
 */
export function directEndpoints(services: readonly { info: ServiceInfo; group: boolean }[]): Map<string, ReplicaEndpoint[]> {
  const byTarget = new Map<string, ReplicaEndpoint[]>();
  for (const { info, group } of services) {
    const subject = info.endpoints?.find((e) => e.name === 'direct')?.subject;
    const target = group ? (info.metadata?.shards ?? '').split(',').join('-') : (info.metadata?.shard ?? '');
    if (!subject || target === '') continue;
    let list = byTarget.get(target);
    if (!list) byTarget.set(target, (list = []));
    list.push({ id: info.id, subject });
  }
  return byTarget;
}
