/**
 * One leg of a scatter, sent to a replica the router picks, with at most one more
 * attempt: a retry when the first fails, or a hedge when the first is late.
 *
 * Why hedge (Dean & Barroso, "The Tail at Scale"): a stalled replica (a GC pause,
 * SIGSTOP, a CPU-throttled pod) keeps its connection and answers nothing; waiting the
 * whole leg timeout before retrying costs that query its latency, and a query whose
 * time runs out comes back partial. So when the first attempt has not answered after
 * the router's hedge delay (a few times the target's recent p99, with a floor), the same
 * leg goes to another replica and the first answer wins; the slow attempt is left to
 * finish or time out (nothing is cancelled: its answer still brings an ejected replica
 * back). One hedge at most, only to a replica not yet tried and in service, so the added
 * load is bounded by the legs slower than that delay. A failed attempt is retried at
 * once on another replica (when one is known; else the queue group again); a hedge does
 * not count against that one retry, nor does "no responders" on a replica's own subject
 * (see goneAttempts), so a leg sends at most three attempts that took time.
 *
 * Answers that a retry would only repeat (413 too large, 504 deadline, a leg over
 * max_payload) end the leg. A `busy` answer (503 with retryAfterMs) is load, not a
 * fault: the leg is tried elsewhere, and when every attempt was busy the leg says so
 * (the query is then answered busy, not partial).
 */
import type { Msg, MsgHdrs } from 'nats';
import { ErrorReply } from '../../libs/protocol/index.js';
import type { ReplyInbox } from '../../libs/nats/reply-inbox/index.js';
import type { AttemptResult, ReplicaRouter } from './replica-router.js';

/** What a reply body means (service errors are judged here, before). */
export type BodyVerdict<T> = { ok: true; value: T } | { ok: false; reason: string };

export type LegResult<T> =
  | { ok: true; value: T; attempts: number; hedged: boolean }
  | {
      ok: false;
      reason: string;
      attempts: number;
      hedged: boolean;
      /** The last answer was one a retry would only repeat (too large, deadline). */
      final: boolean;
      /** Set when every attempt was answered busy: the longest retry hint. */
      busyRetryAfterMs?: number;
    };

export interface LegRequest<T> {
  /** The router's target: "1" for shard 1, "0-2" for the group of shards 0 and 2. */
  target: string;
  /** Where the leg goes when no replica is known: the queue group. */
  queueSubject: string;
  /** "shard 1", "shards 0-2": how reasons begin. */
  label: string;
  body: Uint8Array;
  headers: MsgHdrs;
  /** Sets the attempt's deadline header and returns its wait; 0 when no time is left. */
  attemptMs(): number;
  judge(msg: Msg): BodyVerdict<T>;
  /** 2: one retry (and at most one hedge besides); 1: neither (a group leg's retry is its shards' own legs). */
  maxAttempts: number;
  /** false: no hedge (a leg that waits for its replica's log to catch up is slow by design). */
  hedge?: boolean;
  /** Counted when a hedge is sent. */
  onHedge?(): void;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; reason: string; result: Exclude<AttemptResult, 'ok'>; retry: boolean; retryAfterMs?: number };

/** Answers a retry would only repeat: too large (413), deadline passed (504). */
const NOT_RETRIED = new Set(['413', '504']);
/** Before retrying the queue group after "no responders": a replica may be rejoining. */
const REJOIN_PAUSE_MS = 50;
const decoder = new TextDecoder();

export function sendLeg<T>(inbox: ReplyInbox, router: ReplicaRouter, leg: LegRequest<T>): Promise<LegResult<T>> {
  return new Promise((resolve) => {
    const tried = new Set<string>();
    let attempts = 0;
    let running = 0;
    let settled = false;
    let hedged = false;
    let hedgeTimer: NodeJS.Timeout | undefined;
    let lastReason = '';
    let final = false;
    let allBusy = true;
    let busyRetryAfterMs = 0;
    /**
     * Attempts that found nobody on a replica's own subject (it left, or started over under
     * a new id) are answered at once and cost nothing: they do not use up the leg's retry.
     * Bounded: each known replica is tried once, then (every one gone) the router sends
     * the leg to the queue group, which knows who serves now.
     */
    let goneAttempts = 0;

    const settle = (result: LegResult<T>) => {
      settled = true;
      clearTimeout(hedgeTimer);
      resolve(result);
    };
    const fail = () => settle({ ok: false, reason: lastReason, attempts, hedged, final, ...(allBusy && attempts > 0 ? { busyRetryAfterMs } : {}) });

    /** Sends one attempt; returns its wait, 0 when no time was left for it. */
    const send = (): number => {
      const waitMs = leg.attemptMs();
      if (waitMs === 0) {
        lastReason ||= `${leg.label}: no time left before the query's deadline`;
        return 0;
      }
      const replica = router.pick(leg.target, tried);
      if (replica) tried.add(replica.id);
      attempts++;
      running++;
      const started = performance.now();
      inbox
        .request(replica?.subject ?? leg.queueSubject, leg.body, { timeoutMs: waitMs, headers: leg.headers })
        .then(
          (msg) => judgeReply(msg, leg),
          (err) => judgeError<T>(err, leg.label, waitMs),
        )
        .then((attempt: Attempt<T>) => {
          running--;
          if (replica)
            router.finish(leg.target, replica, attempt.ok ? 'ok' : attempt.result, performance.now() - started, attempt.ok ? 0 : attempt.retryAfterMs);
          if (settled) return;
          if (attempt.ok) return settle({ ok: true, value: attempt.value, attempts, hedged });
          lastReason = attempt.reason;
          if (attempt.result === 'busy') busyRetryAfterMs = Math.max(busyRetryAfterMs, attempt.retryAfterMs ?? 0);
          else allBusy = false;
          if (attempt.result === 'gone' && replica) goneAttempts++;
          if (!attempt.retry) {
            final = true;
            return fail();
          }
          if (running > 0) return; // the hedge (or the first attempt) may still answer
          // A hedge does not use up the retry: when both it and the first attempt failed (a slow spell on every replica), one retry still goes while time is left.
          if (attempts < leg.maxAttempts + (hedged ? 1 : 0) + goneAttempts) {
            clearTimeout(hedgeTimer); // the retry is this leg's second attempt
            const retry = () => void (send() || fail());
            // Only the queue group gets a pause (a replica may be rejoining it); another replica is asked at once.
            return void (!replica && attempt.reason.endsWith('(no responders)') ? setTimeout(retry, REJOIN_PAUSE_MS) : retry());
          }
          fail();
        });
      return waitMs;
    };

    const firstWaitMs = send();
    if (firstWaitMs === 0) return fail();
    if (leg.hedge === false || leg.maxAttempts < 2 || !tried.size || !router.hasAnother(leg.target, tried)) return;
    hedgeTimer = setTimeout(
      () => {
        if (settled || attempts >= leg.maxAttempts || !router.hasAnother(leg.target, tried)) return;
        if (send() > 0) {
          hedged = true;
          leg.onHedge?.();
        }
      },
      router.hedgeDelayMs(leg.target, firstWaitMs),
    );
  });
}

function judgeReply<T>(msg: Msg, leg: LegRequest<T>): Attempt<T> {
  const serviceError = msg.headers?.get('Nats-Service-Error');
  if (!serviceError) {
    const verdict = leg.judge(msg);
    return verdict.ok ? verdict : { ok: false, reason: verdict.reason, result: 'fault', retry: true };
  }
  const reason = serviceError.startsWith(leg.label) ? serviceError : `${leg.label} answered an error: ${serviceError}`;
  const code = msg.headers?.get('Nats-Service-Error-Code') ?? '';
  if (NOT_RETRIED.has(code)) return { ok: false, reason, result: 'neutral', retry: false };
  const busy = code === '503' ? busyHint(msg.data) : undefined;
  if (busy !== undefined) return { ok: false, reason, result: 'busy', retry: true, retryAfterMs: busy };
  return { ok: false, reason, result: 'fault', retry: true };
}

/** A `busy` error reply's retry hint (0 when it gives none); undefined when the error is not `busy`. */
function busyHint(data: Uint8Array): number | undefined {
  try {
    const parsed = ErrorReply.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success && parsed.data.error.code === 'busy' ? (parsed.data.error.retryAfterMs ?? 0) : undefined;
  } catch {
    return undefined;
  }
}

function judgeError<T>(err: unknown, label: string, waitMs: number): Attempt<T> {
  const code = (err as { code?: string }).code;
  if (code === 'MAX_PAYLOAD_EXCEEDED')
    return { ok: false, reason: `${label}: the leg is larger than the server's max_payload`, result: 'neutral', retry: false };
  if (code === '503') return { ok: false, reason: `${label}: no replica is serving (no responders)`, result: 'gone', retry: true };
  const reason = code === 'TIMEOUT' ? `${label}: timed out after ${waitMs} ms` : `${label}: ${(err as Error).message}`;
  return { ok: false, reason, result: 'fault', retry: true };
}
