import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceInfo } from 'nats';
import { directEndpoints, ReplicaRouter, type RouterOptions } from '../../services/coordinator/replica-router.js';
import { LegLatency } from '../../services/coordinator/leg-latency.js';

/** A router on a clock the test moves, with a seeded tie-breaker. */
function routerAt(options: Partial<RouterOptions> = {}) {
  const clock = { now: 1000 };
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const ejected: string[] = [];
  const router = new ReplicaRouter({ ejectMs: 3000, hedgeFactor: 3, hedgeMinMs: 50, random, now: () => clock.now, ...options }, { sent: () => undefined, ejected: (_t, id) => ejected.push(id) });
  router.update(new Map([['0', ['a', 'b', 'c'].map((id) => ({ id, subject: `faces.shard.0.replica.${id}.query` }))]]));
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
  const { router } = routerAt();
  router.update(new Map([['0', [{ id: 'a', subject: 'a' }, { id: 'b', subject: 'b' }]]]));
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
  router.update(new Map([['0', [{ id: 'only', subject: 's' }]]]));
  const only = router.pick('0')!;
  assert.equal(router.pick('0', new Set([only.id]))!.id, 'only');
  assert.equal(router.hasAnother('0', new Set([only.id])), false, 'nowhere to hedge');
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
});

test('no replica known (discovery not done, or a shard not in it): pick says so, the leg goes to the queue group', () => {
  const { router } = routerAt();
  assert.equal(router.pick('1'), undefined);
  router.update(new Map());
  assert.equal(router.pick('0'), undefined, 'replicas discovery stopped seeing are forgotten');
});

test('discovery: a replica seen again keeps its outstanding count and ejection; direct endpoints by shard and by group', () => {
  const { router } = routerAt();
  const a = router.pick('0')!;
  router.update(new Map([['0', [{ id: a.id, subject: 'moved' }]]]));
  assert.equal(router.replicas('0')[0].outstanding, 1);
  assert.equal(router.replicas('0')[0].subject, 'moved');

  const info = (id: string, metadata: Record<string, string>, endpoints: { name: string; subject: string }[]) => ({ id, metadata, endpoints }) as unknown as ServiceInfo;
  const found = directEndpoints([
    { info: info('r1', { shard: '1' }, [{ name: 'query', subject: 'faces.shard.1.query' }, { name: 'direct', subject: 'faces.shard.1.replica.r1.query' }]), group: false },
    { info: info('r2', { shard: '1' }, [{ name: 'status', subject: 'faces.shard.1.status' }]), group: false }, // replaying: no direct endpoint yet
    { info: info('g1', { shards: '0,2' }, [{ name: 'direct', subject: 'faces.shards.0-2.process.g1.query' }]), group: true },
  ]);
  assert.deepEqual([...found.entries()], [
    ['1', [{ id: 'r1', subject: 'faces.shard.1.replica.r1.query' }]],
    ['0-2', [{ id: 'g1', subject: 'faces.shards.0-2.process.g1.query' }]],
  ]);
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
