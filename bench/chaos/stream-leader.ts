import type { NatsConnection } from 'nats';

/** How long a stream's peers take to elect a new leader after a step-down (a few raft election timeouts). */
const ELECTION_WAIT_MS = 1500;

/**
 * Asks the stream's leader to step down (its peers elect another, at random) until
 * `placed()` says the leadership is where it is wanted, at most `tries` step-downs;
 * whether it got there. Used to reproduce a pause of a server leading both the meta group
 * and the stream, the case nats-server 2.9.10 loses acknowledged writes in.
 */
export async function stepStreamLeaderDownUntil(nc: NatsConnection, stream: string, placed: () => Promise<boolean>, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await placed()) return true;
    await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 3000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, ELECTION_WAIT_MS));
  }
  return placed();
}
