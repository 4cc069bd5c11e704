/**
 * Turns for the encoder's `faces.encode` requests: at most `slots` are encoded at once and at
 * most `maxWaiting` wait for a turn. Past that `take` answers undefined at once, so the service
 * refuses with `busy` rather than holding every image sent to it (a 40 MP photo decodes to
 * 120 MB) until the asker's timeout has long passed.
 */
export interface RequestTurns {
  /** A promise of the turn's release function, or undefined when the wait is full. */
  take(): Promise<() => void> | undefined;
  waiting(): number;
}

export function requestTurns(slots: number, maxWaiting: number): RequestTurns {
  if (!(Number.isInteger(slots) && slots >= 1)) throw new RangeError(`slots must be a whole number >= 1, got ${slots}`);
  if (!(Number.isInteger(maxWaiting) && maxWaiting >= 0)) throw new RangeError(`maxWaiting must be a whole number >= 0, got ${maxWaiting}`);
  let free = slots;
  const queue: Array<() => void> = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else free++;
  };
  const once = () => {
    let released = false;
    return () => {
      if (released) return; // a double release would let one more in than there are slots
      released = true;
      release();
    };
  };
  return {
    take() {
      if (free > 0) {
        free--;
        return Promise.resolve(once());
      }
      if (queue.length >= maxWaiting) return undefined;
      return new Promise((resolve) => queue.push(() => resolve(once())));
    },
    waiting: () => queue.length,
  };
}
