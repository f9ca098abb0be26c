import type { Engine } from "../../src/index.ts";

/**
 * Wraps a real engine to count the refreshing previews (a reconcile round's
 * full check) it runs per stack, so a test can tell which resources a round
 * checked in full and which it only compared with a bulk listing; and to see
 * how many engine slots those previews hold at once, as the engine grants
 * them (`onSlot`) and they end.
 */
export function refreshPreviewCounter() {
  const counts = new Map<string, number>();
  let held = 0;
  let mostHeld = 0;
  return {
    wrapEngine: (engine: Engine): Engine => ({
      ...engine,
      apply: (request) => engine.apply(request),
      destroy: (request) => engine.destroy(request),
      close: () => engine.close(),
      preview: async (request) => {
        // A change's own preview refreshes too; only the reconciler's are named "reconcile-<revision>".
        if (!request.refresh || !request.changeId.startsWith("reconcile-")) return await engine.preview(request);
        counts.set(request.stackName, (counts.get(request.stackName) ?? 0) + 1);
        let slotted = false;
        try {
          return await engine.preview({
            ...request,
            onSlot: () => {
              slotted = true;
              held += 1;
              mostHeld = Math.max(mostHeld, held);
              request.onSlot?.();
            },
          });
        } finally {
          if (slotted) held -= 1;
        }
      },
    }),
    /** Refreshing previews of `type`'s resource `name` so far. */
    count: (type: string, name: string) => counts.get(`${type}--${name}`) ?? 0,
    /**
     * The most engine slots the reconciler's previews held at one time so far.
     * A preview's end is seen a moment after the engine frees its slot, so a
     * slot handed straight to another waiting preview may count twice: only
     * ever when several previews were in flight at once.
     */
    mostSlotsHeld: () => mostHeld,
  };
}
