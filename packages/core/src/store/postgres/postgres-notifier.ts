import { randomUUID } from "node:crypto";
import { type Notifier, createNotifier } from "../../domain/notifier.ts";
import type { PostgresStore } from "./postgres-store.ts";

const workChannel = "plinth_work";
const changeChannel = "plinth_change";

/**
 * Wake-ups across replicas: what this process announces is also sent with
 * NOTIFY (after the caller's commit, since callers announce only then), and
 * what other replicas announce arrives by LISTEN and wakes the idle workers
 * and the `WatchChange` streams here. Each payload names its sender, so a
 * replica does not wake itself twice. Without LISTEN (a failed subscription,
 * or a database such as CockroachDB that has none) replicas still catch up
 * through their polls: `worker.pollMs` and the watch's poll.
 */
export async function createPostgresNotifier(
  store: PostgresStore,
  onNoListen: (error: Error) => void,
): Promise<Notifier> {
  const local = createNotifier();
  const self = randomUUID();
  try {
    await store.subscribe([workChannel, changeChannel], (channel, payload) => {
      const separator = payload.indexOf(":");
      if (payload.slice(0, separator) === self) return;
      if (channel === workChannel) local.workAvailable();
      else local.changeUpdated(payload.slice(separator + 1));
    });
  } catch (error) {
    onNoListen(error as Error);
  }
  return {
    workAvailable() {
      local.workAvailable();
      store.publish(workChannel, `${self}:`);
    },
    onWork: local.onWork,
    changeUpdated(changeId) {
      local.changeUpdated(changeId);
      store.publish(changeChannel, `${self}:${changeId}`);
    },
    onChange: local.onChange,
  };
}
