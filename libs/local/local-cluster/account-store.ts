/**
 * JetStream keeps each account's streams under <store>/jetstream/<account>/: `$G` for a
 * server without accounts (`faceshard up --no-auth`), the account's public key in operator
 * mode. Switching a data dir between the two would hide every stored face behind the
 * other account (and admin init would start an empty log), so before nats-server starts,
 * the streams move to the account the server is about to use. Two accounts both holding
 * streams is refused, never merged or guessed.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The account of a server without accounts. */
export const OPEN_ACCOUNT = '$G';

const ACCOUNT_DIR = /^(\$G|A[A-Z2-7]{55})$/;

function holdsStreams(dir: string): boolean {
  const streams = path.join(dir, 'streams');
  return existsSync(streams) && readdirSync(streams).length > 0;
}

/**
 * Moves the streams of another account in `storeDir` to `account`; returns the account
 * they came from, or undefined when nothing moved.
 */
export function moveStreamsToAccount(storeDir: string, account: string): string | undefined {
  const jetstream = path.join(storeDir, 'jetstream');
  if (!existsSync(jetstream)) return undefined;
  const target = path.join(jetstream, account);
  const others = readdirSync(jetstream).filter((name) => name !== account && ACCOUNT_DIR.test(name) && holdsStreams(path.join(jetstream, name)));
  if (others.length === 0) return undefined;
  if (holdsStreams(target) || others.length > 1) {
    const holders = [...(holdsStreams(target) ? [account] : []), ...others];
    throw new Error(
      `${jetstream} holds streams of ${holders.length} accounts (${holders.join(', ')}): faceshard will not pick one. ` +
        `Keep the one you want and move the others out of ${jetstream}.`,
    );
  }
  rmSync(target, { recursive: true, force: true }); // an empty account dir nats-server made
  renameSync(path.join(jetstream, others[0]), target);
  return others[0];
}
