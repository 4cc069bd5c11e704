import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IngestReply } from '../../libs/protocol/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster } from '../helpers/cluster.js';
import { toFaces } from '../helpers/expected.js';
import { until } from '../helpers/wait.js';

const LEG_TIMEOUT_MS = 2000;
const CONCURRENCY = 8;
const data = syntheticFaces({ identities: 1000, photosPerIdentity: 2, seed: 22 });

/** Sum of a metric's samples (optionally only lines containing `filter`) from a /metrics page. */
async function metric(port: number, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && line.includes(filter))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('the coordinator routes legs to replicas itself', { timeout: 60_000 }, () => {
  test('one of two replicas SIGSTOPped for 3 s under query load: no failed or partial answer, none slower than one leg timeout, both replicas answer before and after', async () => {
    // Authentication on: the replicas' direct subjects must be allowed for the shard and the coordinator identities.
    const cluster = await startTestCluster({
      shards: 1,
      replicas: 2,
      auth: true,
      coordinatorEnv: { SHARD_TIMEOUT_MS: String(LEG_TIMEOUT_MS), LEG_PLAN_INTERVAL_MS: '500' },
    });
    try {
      const reply: IngestReply = await cluster.client.ingestMany(toFaces(data.vectors, data.ids, false));
      assert.equal(reply.accepted, data.ids.length);
      await cluster.client.queryBinary(data.vectors.subarray(0, FACE_DIMENSIONS), { k: 1, minSeq: reply.seq, timeoutMs: 10_000 });
      const status = await cluster.client.status();
      const replicas = status.shards[0].replicas;
      const coordinatorPort = status.coordinators[0].httpPort!;
      assert.equal(replicas.length, 2);
      const paused = cluster.processes.get('shard-0.1')!;
      const [twin, stalled] = [replicas.find((r) => r.pid !== paused.pid)!, replicas.find((r) => r.pid === paused.pid)!];
      const legsOf = (r: { httpPort?: number }) => metric(r.httpPort!, 'faceshard_shard_query_seconds_count');
      // Both replicas caught up (each answered a read-your-writes leg); now the router must know both direct subjects.
      await until(
        'the coordinator routes to both replicas',
        async () => {
          await cluster.client.queryBinary(data.vectors.subarray(0, FACE_DIMENSIONS), { k: 1 });
          const routed = await Promise.all(replicas.map((r) => metric(coordinatorPort, 'faceshard_coordinator_replica_legs_total', `replica="${r.id}"`)));
          return routed.every((n) => n > 0) ? true : undefined;
        },
        15_000,
        50,
      );

      let phase: 'before' | 'paused' | 'after' = 'before';
      let running = true;
      const answers = { before: 0, paused: 0, after: 0 };
      const partial: string[] = [];
      const failed: string[] = [];
      let slowestWhilePausedMs = 0;
      const worker = async (w: number) => {
        for (let i = 0; running; i++) {
          const row = (w * 997 + i * 31) % data.ids.length;
          const started = performance.now();
          const during = phase;
          try {
            const answer = await cluster.client.queryBinary(data.vectors.subarray(row * FACE_DIMENSIONS, (row + 1) * FACE_DIMENSIONS), {
              k: 3,
              timeoutMs: 10_000,
            });
            if (answer.partial) partial.push(JSON.stringify(answer.missing));
            else assert.equal(answer.results[0][0].id, data.ids[row]);
            answers[during]++;
            if (during === 'paused') slowestWhilePausedMs = Math.max(slowestWhilePausedMs, performance.now() - started);
          } catch (err) {
            failed.push((err as Error).message);
          }
        }
      };
      const load = Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

      const atStart = await Promise.all([legsOf(twin), legsOf(stalled)]);
      await pause(1500);
      const beforeStop = await Promise.all([legsOf(twin), legsOf(stalled)]);
      phase = 'paused';
      paused.kill('SIGSTOP');
      await pause(3000);
      paused.kill('SIGCONT');
      phase = 'after';
      // The stalled replica is ejected (its legs timed out) and comes back through a probe; give it that time.
      await pause(LEG_TIMEOUT_MS + 3500);
      const afterCont = await Promise.all([legsOf(twin), legsOf(stalled)]);
      await pause(1000);
      const atEnd = await Promise.all([legsOf(twin), legsOf(stalled)]);
      running = false;
      await load;

      assert.deepEqual(failed, [], 'no failed answers');
      assert.deepEqual(partial, [], 'no partial answers');
      assert.ok(answers.before > 20 && answers.paused > 20 && answers.after > 20, `answers before / paused / after: ${JSON.stringify(answers)}`);
      assert.ok(
        slowestWhilePausedMs < LEG_TIMEOUT_MS,
        `while one replica was paused the slowest answer took ${Math.round(slowestWhilePausedMs)} ms (leg timeout ${LEG_TIMEOUT_MS})`,
      );
      assert.ok(beforeStop[0] > atStart[0] && beforeStop[1] > atStart[1], `both answered legs before the pause: ${atStart} -> ${beforeStop}`);
      assert.ok(atEnd[0] > afterCont[0] && atEnd[1] > afterCont[1], `both answered legs after it: ${afterCont} -> ${atEnd}`);
      const hedged = await metric(coordinatorPort, 'faceshard_coordinator_hedged_legs_total');
      const ejections = await metric(coordinatorPort, 'faceshard_coordinator_replica_ejections_total');
      assert.ok(ejections >= 1, `the stalled replica was ejected (${ejections} ejections)`);
      console.log(
        `replica routing: answers ${JSON.stringify(answers)}, slowest while paused ${Math.round(slowestWhilePausedMs)} ms, hedged legs ${hedged}, ejections ${ejections}, legs twin/stalled ${atStart} -> ${beforeStop} -> ${afterCont} -> ${atEnd}`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.output.slice(-20).join('')}`, { cause: err });
    } finally {
      await cluster.cleanup();
    }
  });
});
