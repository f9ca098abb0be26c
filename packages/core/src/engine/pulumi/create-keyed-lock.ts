import { type Release, type Semaphore, createSemaphore } from "./create-semaphore.ts";

/** One holder per key at a time (e.g. per stack); different keys never wait for each other. */
export interface KeyedLock {
  /** Resolves once `key` is free; rejects with the signal's reason if it aborts first. */
  acquire(key: string, signal?: AbortSignal): Promise<Release>;
}

export function createKeyedLock(): KeyedLock {
  const locks = new Map<string, Semaphore>();
  return {
    async acquire(key, signal) {
      let lock = locks.get(key);
      if (!lock) {
        lock = createSemaphore(1);
        locks.set(key, lock);
      }
      const held = lock;
      const forget = (): void => {
        if (held.active === 0 && held.waiting === 0 && locks.get(key) === held) locks.delete(key);
      };
      let release: Release;
      try {
        release = await held.acquire(signal);
      } catch (error) {
        forget();
        throw error;
      }
      return () => {
        release();
        forget();
      };
    },
  };
}
