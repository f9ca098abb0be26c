import { describe, expect, it } from "vitest";
import { createKeyedLock } from "../../src/engine/pulumi/create-keyed-lock.ts";
import { createSemaphore } from "../../src/engine/pulumi/create-semaphore.ts";

describe("createSemaphore", () => {
  it("never lets more than `limit` holders in, and serves waiters in arrival order", async () => {
    const semaphore = createSemaphore(2);
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    const work = async (id: number): Promise<void> => {
      const release = await semaphore.acquire();
      inside++;
      most = Math.max(most, inside);
      order.push(id);
      await new Promise<void>((resolve) => setImmediate(resolve));
      inside--;
      release();
    };
    await Promise.all([1, 2, 3, 4, 5, 6].map(work));
    expect(most).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
    expect(semaphore.active).toBe(0);
  });

  it("a waiter whose signal aborts leaves the queue without taking a slot; a double release is harmless", async () => {
    const semaphore = createSemaphore(1);
    const release = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    expect(semaphore.waiting).toBe(1);
    controller.abort(new Error("gave up"));
    await expect(waiting).rejects.toThrow("gave up");
    expect(semaphore.waiting).toBe(0);
    release();
    release();
    expect(semaphore.active).toBe(0);
    const again = await semaphore.acquire();
    expect(semaphore.active).toBe(1);
    again();
  });

  it("gives a free slot to a waiting foreground holder before any background one, even one that came first", async () => {
    const semaphore = createSemaphore(1);
    const first = await semaphore.acquire();
    const order: string[] = [];
    const background = semaphore.acquire(undefined, true).then((release) => {
      order.push("background");
      return release;
    });
    const foreground = semaphore.acquire().then((release) => {
      order.push("foreground");
      return release;
    });
    expect(semaphore.waiting).toBe(2);
    first();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(order).toEqual(["foreground"]);
    (await foreground)();
    (await background)();
    expect(order).toEqual(["foreground", "background"]);
    expect(semaphore.active).toBe(0);
  });

  it("refuses a limit below 1", () => {
    expect(() => createSemaphore(0)).toThrow(RangeError);
  });
});

describe("createKeyedLock", () => {
  it("serializes holders of one key and lets other keys through", async () => {
    const lock = createKeyedLock();
    const first = await lock.acquire("stack-a");
    const other = await lock.acquire("stack-b");
    let secondHeld = false;
    const second = lock.acquire("stack-a").then((release) => {
      secondHeld = true;
      return release;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(secondHeld).toBe(false);
    first();
    (await second)();
    expect(secondHeld).toBe(true);
    other();
  });
});
