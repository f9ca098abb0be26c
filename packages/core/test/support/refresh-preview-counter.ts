import type { Engine } from "../../src/index.ts";

/**
 * Wraps a real engine to count the refreshing previews (a reconcile round's
 * full check) it runs per stack, so a test can tell which resources a round
 * checked in full and which it only compared with a bulk listing.
 */
export function refreshPreviewCounter() {
  const counts = new Map<string, number>();
  return {
    wrapEngine: (engine: Engine): Engine => ({
      ...engine,
      apply: (request) => engine.apply(request),
      destroy: (request) => engine.destroy(request),
      close: () => engine.close(),
      preview: (request) => {
        // A change's own preview refreshes too; only the reconciler's are named "reconcile-<revision>".
        if (request.refresh && request.changeId.startsWith("reconcile-"))
          counts.set(request.stackName, (counts.get(request.stackName) ?? 0) + 1);
        return engine.preview(request);
      },
    }),
    /** Refreshing previews of `type`'s resource `name` so far. */
    count: (type: string, name: string) => counts.get(`${type}--${name}`) ?? 0,
  };
}
