import { EventEmitter } from "node:events";

/**
 * In-process wake-ups: the worker waits for "work", watchers wait for their
 * change. Other replicas learn the same things by polling the store; this
 * only makes one process react at once instead of at its next poll.
 */
export interface Notifier {
  workAvailable(): void;
  onWork(listener: () => void): () => void;
  changeUpdated(changeId: string): void;
  onChange(changeId: string, listener: () => void): () => void;
}

export function createNotifier(): Notifier {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const subscribe = (event: string, listener: () => void): (() => void) => {
    emitter.on(event, listener);
    return () => emitter.off(event, listener);
  };
  return {
    workAvailable: () => emitter.emit("work"),
    onWork: (listener) => subscribe("work", listener),
    changeUpdated: (changeId) => emitter.emit(`change:${changeId}`),
    onChange: (changeId, listener) => subscribe(`change:${changeId}`, listener),
  };
}
