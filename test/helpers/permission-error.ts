import type { NatsConnection } from 'nats';

/**
 * Resolves with the permission error the server reports for `subject` within `ms`, or
 * undefined: a refused plain publish or subscription is only an async status, not a throw.
 */
export function permissionError(nc: NatsConnection, operation: 'publish' | 'subscription', subject: string, ms = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    void (async () => {
      for await (const status of nc.status()) {
        const ctx = (status as { permissionContext?: { operation: string; subject: string } }).permissionContext;
        if (ctx?.operation === operation && ctx.subject === subject) {
          clearTimeout(timer);
          resolve(`${operation} ${subject}`);
          return;
        }
      }
    })();
  });
}

/** Subscribes to each `[subject, queue?]` in turn; the ones the server did not refuse (described), for `assert.deepEqual(.., [])`. */
export async function subscriptionsNotRefused(nc: NatsConnection, subscriptions: ReadonlyArray<readonly [string, string | undefined]>): Promise<string[]> {
  const allowed: string[] = [];
  for (const [subject, queue] of subscriptions) {
    const denied = permissionError(nc, 'subscription', subject);
    nc.subscribe(subject, queue ? { queue } : {});
    if (!(await denied)) allowed.push(`${subject}${queue ? ` in queue ${queue}` : ''}`);
  }
  return allowed;
}
