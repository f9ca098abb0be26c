import type { Engine, EngineRequest } from "../engine/engine.ts";

/** What this process's engine is doing for changes (not for drift checks). */
export interface ForegroundActivity {
  /** Milliseconds since the last change operation ended; 0 while one runs or waits for a slot. */
  idleForMs(now: number): number;
}

/**
 * Wraps the engine the worker uses to know when changes are in it: every
 * operation not marked `background`, from the call (a slot may still be
 * awaited) to its end. Local on purpose: what a drift check would take from
 * a change is this machine's cores, whatever other replicas are doing.
 */
export function trackForeground(engine: Engine): { engine: Engine; activity: ForegroundActivity } {
  let running = 0;
  let idleSince = 0;
  const track = async <T>(request: EngineRequest, operation: () => Promise<T>): Promise<T> => {
    if (request.background) return await operation();
    running += 1;
    try {
      return await operation();
    } finally {
      running -= 1;
      if (running === 0) idleSince = Date.now();
    }
  };
  return {
    engine: {
      apply: (request) => track(request, () => engine.apply(request)),
      destroy: (request) => track(request, () => engine.destroy(request)),
      preview: (request) => track(request, () => engine.preview(request)),
      close: () => engine.close(),
    },
    activity: { idleForMs: (now) => (running > 0 ? 0 : now - idleSince) },
  };
}
