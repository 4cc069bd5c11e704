import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headers, type Msg, type ServiceInfo } from 'nats';
import type { ReplyInbox } from '../../libs/nats/reply-inbox/index.js';
import { sendLeg } from '../../services/coordinator/hedged-leg.js';
import { directEndpoints, ReplicaRouter, type RouterOptions } from '../../services/coordinator/replica-router.js';
import { LegLatency } from '../../services/coordinator/leg-latency.js';

/** A router on a clock the test moves, with a seeded tie-breaker. */
function routerAt(options: Partial<RouterOptions> = {}, ids = ['a', 'b', 'c']) {
  const clock = { now: 1000 };
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ejected: string[] = [];
  const router = new ReplicaRouter(
    { ejectMs: 3000, hedgeFactor: 3, hedgeMinMs: 50, random, now: () => clock.now, ...options },
    { sent: () => undefined, ejected: (_t, id) => ejected.push(id) },
  );
  router.update(new Map([['0', ids.map((id) => ({ id, subject: `faces.shard.0.replica.${id}.query` }))]]));
  return { router, clock, ejected };
}

test('a leg goes to the replica with the fewest legs outstanding, ties spread at random', () => {
  const { router } = routerAt();
  const first = ['a', 'b', 'c'].map(() => router.pick('0')!.id).sort();
  assert.deepEqual(first, ['a', 'b', 'c'], 'three legs, three replicas: one each');
  const b = router.replicas('0').find((r) => r.id === 'b')!;
  router.finish('0', b, 'ok', 5);
  assert.equal(router.pick('0')!.id, 'b', 'b answered, so it has the fewest outstanding');
  // All level again: over many picks each replica gets some (ties are not always the first).
  const counts = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const r = router.pick('0')!;
    counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    router.finish('0', r, 'ok', 5);
  }
  for (const id of ['a', 'b', 'c']) assert.ok((counts.get(id) ?? 0) > 50, `${id} got ${counts.get(id)} of 300 tied picks`);
});

test('a stalled replica (its legs pile up unanswered) gets no new legs while its twin drains', () => {
  const { router } = routerAt({}, ['a', 'b']);
  const a = router.replicas('0').find((r) => r.id === 'a')!;
  a.outstanding = 3; // three legs it has not answered
  for (let i = 0; i < 20; i++) {
    const r = router.pick('0')!;
    assert.equal(r.id, 'b');
    router.finish('0', r, 'ok', 4);
  }
});

test('a retry goes to a replica not yet tried; with one replica, to the same one', () => {
  const { router } = routerAt();
  for (let i = 0; i < 30; i++) {
    const first = router.pick('0')!;
    const second = router.pick('0', new Set([first.id]))!;
    assert.notEqual(second.id, first.id);
    const third = router.pick('0', new Set([first.id, second.id]))!;
    assert.ok(![first.id, second.id].includes(third.id));
    for (const r of [first, second, third]) router.finish('0', r, 'ok', 1);
  }
  const alone = routerAt({}, ['only']).router;
  const only = alone.pick('0')!;
  assert.equal(alone.pick('0', new Set([only.id]))!.id, 'only');
  assert.equal(alone.hasAnother('0', new Set([only.id])), false, 'nowhere to hedge');
});

test('ejection: a failed or busy replica is left out, then gets one probe leg, and an answer brings it back', () => {
  const { router, clock, ejected } = routerAt();
  const [a, b, c] = ['a', 'b', 'c'].map((id) => router.replicas('0').find((r) => r.id === id)!);
  a.outstanding = 1;
  router.finish('0', a, 'fault', 2000);
  b.outstanding = 1;
  router.finish('0', b, 'busy', 3, 200); // busy: out for its retry hint
  assert.deepEqual(ejected, ['a', 'b']);
  for (let i = 0; i < 10; i++) assert.equal(router.pick('0')!.id, 'c');
  c.outstanding = 1;
  clock.now += 250; // b's hint is over, a's ejection is not
  const probe = router.pick('0')!;
  assert.equal(probe.id, 'b', 'back in, and fewer outstanding than c');
  assert.equal(b.probing, true);
  assert.equal(router.pick('0')!.id, 'c', 'one probe at a time: b is out while its probe runs');
  router.finish('0', b, 'ok', 3);
  assert.equal(b.ejectedUntil, 0);
  assert.equal(b.probing, false);
  clock.now += 3000;
  // a's time is up: it is probed once; a failed probe ejects it again.
  c.outstanding = 5;
  b.outstanding = 5;
  const aProbe = router.pick('0')!;
  assert.equal(aProbe.id, 'a');
  router.finish('0', a, 'fault', 2000);
  assert.ok(a.ejectedUntil > clock.now);
  assert.notEqual(router.pick('0')!.id, 'a');
});

test('never all out: with every replica ejected, the one whose ejection ends first is used', () => {
  const { router, clock } = routerAt();
  const [a, b, c] = ['a', 'b', 'c'].map((id) => router.replicas('0').find((r) => r.id === id)!);
  router.finish('0', a, 'fault', 1);
  clock.now += 100;
  router.finish('0', b, 'fault', 1);
  router.finish('0', c, 'fault', 1);
  assert.equal(router.pick('0')!.id, 'a');
  // One that answered "no responders" (gone) comes last, however early its ejection ends.
  const { router: other } = routerAt();
  const [x, y] = ['a', 'b'].map((id) => other.replicas('0').find((r) => r.id === id)!);
  other.finish('0', x, 'gone', 1);
  other.finish('0', y, 'fault', 750);
  other.finish(
    '0',
    other.replicas('0').find((r) => r.id === 'c')!,
    'fault',
    750,
  );
  assert.notEqual(other.pick('0', new Set(['a', 'b', 'c']))!.id, 'a');
});

test('no replica known (discovery not done, or a shard not in it): pick says so, the leg goes to the queue group', () => {
  const { router, clock } = routerAt();
  assert.equal(router.fewestReplicas(), 3);
  clock.now += 30_000; // b and c unseen since: forgotten
  router.update(
    new Map([
      ['0', [{ id: 'a', subject: 'a' }]],
      [
        '2',
        [
          { id: 'b', subject: 'b' },
          { id: 'c', subject: 'c' },
        ],
      ],
      ['0-2', [{ id: 'g', subject: 'g' }]],
    ]),
  );
  assert.equal(router.fewestReplicas(), 1, 'the shard with the fewest replicas (group processes not counted)');
  assert.equal(router.pick('1'), undefined);
  router.update(new Map());
  assert.ok(router.pick('0'), 'a replica missing from one look is still routed to (a throttled one may answer discovery late)');
  clock.now += 30_000;
  router.update(new Map());
  assert.equal(router.pick('0'), undefined, 'replicas discovery stopped seeing for 30 s are forgotten');
  assert.equal(router.fewestReplicas(), 1);
});

test('discovery: a replica seen again keeps its outstanding count and ejection; direct endpoints by shard and by group', () => {
  const { router } = routerAt();
  const a = router.pick('0')!;
  router.update(new Map([['0', [{ id: a.id, subject: 'moved' }]]]));
  const again = router.replicas('0').find((r) => r.id === a.id)!;
  assert.equal(again.outstanding, 1);
  assert.equal(again.subject, 'moved');

  const info = (id: string, metadata: Record<string, string>, endpoints: { name: string; subject: string }[]) =>
    ({ id, metadata, endpoints }) as unknown as ServiceInfo;
  const found = directEndpoints([
    {
      info: info('r1', { shard: '1' }, [
        { name: 'query', subject: 'faces.shard.1.query' },
        { name: 'direct', subject: 'faces.shard.1.replica.r1.query' },
      ]),
      group: false,
    },
    { info: info('r2', { shard: '1' }, [{ name: 'status', subject: 'faces.shard.1.status' }]), group: false }, // replaying: no direct endpoint yet
    { info: info('g1', { shards: '0,2' }, [{ name: 'direct', subject: 'faces.shards.0-2.process.g1.query' }]), group: true },
  ]);
  assert.deepEqual(
    [...found.entries()],
    [
      ['1', [{ id: 'r1', subject: 'faces.shard.1.replica.r1.query' }]],
      ['0-2', [{ id: 'g1', subject: 'faces.shards.0-2.process.g1.query' }]],
    ],
  );
});

test('hedge delay: a few times the recent p99, with a floor, at most half the attempt; half the attempt before any history', () => {
  const { router } = routerAt();
  assert.equal(router.hedgeDelayMs('0', 2000), 1000);
  const r = router.replicas('0')[0];
  for (let i = 0; i < 128; i++) router.finish('0', r, 'ok', i < 126 ? 10 : 40);
  assert.equal(router.hedgeDelayMs('0', 2000), 120, '3 x p99 (40 ms)');
  for (let i = 0; i < 300; i++) router.finish('0', r, 'ok', 2);
  assert.equal(router.hedgeDelayMs('0', 2000), 50, 'the floor');
  for (let i = 0; i < 300; i++) router.finish('0', r, 'ok', 900);
  assert.equal(router.hedgeDelayMs('0', 2000), 1000, 'half the attempt');
});

test('leg latency: p99 of the last 256 samples', () => {
  const latency = new LegLatency();
  assert.ok(Number.isNaN(latency.p99()));
  for (let i = 1; i <= 256; i++) latency.record(i);
  assert.equal(latency.p99(), 254);
  latency.record(Number.NaN);
  latency.record(-1);
  assert.equal(latency.p99(), 254, 'invalid samples are ignored');
});

/** A stand-in for the reply inbox: each replica's subject answers as told (ok, busy with a hint, no responders, or never). */
function fakeInbox(behaviour: Record<string, 'ok' | 'none' | 'stall' | number>) {
  const asked: string[] = [];
  const inbox = {
    request(subject: string, _data: Uint8Array, options: { timeoutMs: number }): Promise<Msg> {
      asked.push(subject);
      const how = behaviour[subject];
      const h = headers();
      if (how === 'ok') return Promise.resolve({ data: new TextEncoder().encode('fine'), headers: h } as unknown as Msg);
      if (how === 'none') return Promise.reject(Object.assign(new Error('no responders'), { code: '503' }));
      if (how === 'stall')
        return new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), options.timeoutMs));
      h.set('Nats-Service-Error', 'shard 0 is busy');
      h.set('Nats-Service-Error-Code', '503');
      return Promise.resolve({
        data: new TextEncoder().encode(JSON.stringify({ error: { code: 'busy', message: 'busy', retryAfterMs: how } })),
        headers: h,
      } as unknown as Msg);
    },
  };
  return { inbox: inbox as unknown as ReplyInbox, asked };
}

function legTo(router: ReplicaRouter, inbox: ReplyInbox, timeoutMs = 400) {
  return sendLeg(inbox, router, {
    target: '0',
    queueSubject: 'faces.shard.0.query',
    label: 'shard 0',
    body: new Uint8Array(0),
    headers: headers(),
    attemptMs: () => timeoutMs,
    maxAttempts: 2,
    judge: (msg) => ({ ok: true, value: new TextDecoder().decode(msg.data) }),
  });
}

test('a leg: busy on every replica tried says busy with the longest hint; a stalled first attempt is hedged on the twin; a failed one is retried there', async () => {
  const fresh = () => {
    const r = routerAt({ now: () => performance.now() }, []).router;
    r.update(
      new Map([
        [
          '0',
          [
            { id: 'a', subject: 'A' },
            { id: 'b', subject: 'B' },
          ],
        ],
      ]),
    );
    return r;
  };
  const router = fresh();
  const busy = await legTo(router, fakeInbox({ A: 120, B: 300 }).inbox);
  assert.equal(busy.ok, false);
  assert.equal(!busy.ok && busy.busyRetryAfterMs, 300);
  assert.equal(busy.attempts, 2, 'the retry went to the other replica');

  // One busy, one down: not all busy, so a fault (partial), not busy.
  const mixed = await legTo(fresh(), fakeInbox({ A: 50, B: 'none' }).inbox);
  assert.equal(mixed.ok, false);
  assert.equal(!mixed.ok && mixed.busyRetryAfterMs, undefined);

  const stalled = fresh();
  stalled.replicas('0')[1].outstanding = 1; // so the first attempt goes to A, the stalled one
  const started = performance.now();
  const { inbox, asked } = fakeInbox({ A: 'stall', B: 'ok' });
  const hedged = await legTo(stalled, inbox);
  const tookMs = performance.now() - started;
  assert.deepEqual([hedged.ok, hedged.hedged, asked], [true, true, ['A', 'B']]);
  assert.ok(tookMs >= 190 && tookMs < 350, `answered by the hedge after half the attempt (no history yet): ${tookMs.toFixed(0)} ms`);

  const retried = fresh();
  retried.replicas('0')[1].outstanding = 1;
  const down = fakeInbox({ A: 'none', B: 'ok' });
  const result = await legTo(retried, down.inbox);
  assert.deepEqual([result.ok, result.hedged, down.asked], [true, false, ['A', 'B']]);
  assert.ok(retried.replicas('0')[0].ejectedUntil > 0, 'the replica with no responders is ejected');

  // Every replica discovery knew started over under a new id (a log reset, a purge): nobody on either subject; the queue group answers.
  const renamed = fresh();
  const gone = fakeInbox({ A: 'none', B: 'none', 'faces.shard.0.query': 'ok' });
  const viaGroup = await legTo(renamed, gone.inbox);
  assert.deepEqual([viaGroup.ok, gone.asked.slice().sort()], [true, ['A', 'B', 'faces.shard.0.query'].sort()]);
  assert.equal(gone.asked.at(-1), 'faces.shard.0.query', 'the queue group last, once every known replica was gone');
  const next = fakeInbox({ A: 'none', B: 'none', 'faces.shard.0.query': 'ok' });
  assert.equal((await legTo(renamed, next.inbox)).ok, true);
  assert.deepEqual(next.asked, ['faces.shard.0.query'], 'while every known replica is gone, legs go straight to the queue group');
});
