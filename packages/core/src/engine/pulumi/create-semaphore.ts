/** Gives back a slot. Calling it twice is harmless. */
export type Release = () => void;

/**
 * At most `limit` holders at once; the others wait in arrival order, except
 * that a background waiter gets a slot only when no foreground one waits.
 */
export interface Semaphore {
  /**
   * Resolves once a slot is free. Rejects with the signal's reason if it
   * aborts while waiting (the slot is then never taken). `background`
   * waiters yield to every foreground waiter, even later ones.
   */
  acquire(signal?: AbortSignal, background?: boolean): Promise<Release>;
  readonly active: number;
  readonly waiting: number;
}

export function createSemaphore(limit: number): Semaphore {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`a semaphore needs a limit of at least 1, got ${limit}`);
  let active = 0;
  const queue: Array<() => void> = [];
  const backgroundQueue: Array<() => void> = [];

  const grant = (): Release => {
    active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active--;
      (queue.shift() ?? backgroundQueue.shift())?.();
    };
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length + backgroundQueue.length;
    },
    acquire(signal, background = false) {
      signal?.throwIfAborted();
      if (active < limit && queue.length === 0 && backgroundQueue.length === 0) return Promise.resolve(grant());
      const waiters = background ? backgroundQueue : queue;
      return new Promise<Release>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve(grant());
        };
        const onAbort = (): void => {
          const index = waiters.indexOf(wake);
          if (index >= 0) waiters.splice(index, 1);
          reject(signal?.reason as Error);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.push(wake);
      });
    },
  };
}
