import { appendFileSync } from "node:fs";
import type { Engine, EngineOutputs, EnginePreview, EngineRequest } from "../../src/index.ts";

/**
 * An engine for state-machine tests only (never wired into `make start`).
 * Each field is replaceable; the defaults succeed at once. With `journal`,
 * every completed apply is appended to a file, so tests that kill processes
 * can count applications across restarts.
 */
export interface FakeEngineOptions {
  apply?: (request: EngineRequest) => Promise<EngineOutputs>;
  destroy?: (request: EngineRequest) => Promise<void>;
  preview?: (request: EngineRequest) => Promise<EnginePreview>;
  journal?: string;
}

export function createFakeEngine(options: FakeEngineOptions = {}): Engine {
  const record = (op: string, request: EngineRequest) => {
    if (options.journal)
      appendFileSync(options.journal, `${JSON.stringify({ op, changeId: request.changeId, name: request.name })}\n`);
  };
  return {
    async apply(request) {
      // Like the real engine, which has no slots to wait for here.
      request.onSlot?.();
      request.onEvent?.({ kind: "resource", message: `create test:widget ${request.name}` });
      const result = options.apply
        ? await options.apply(request)
        : {
            outputs: { name: request.name, size: request.resolvedSpec.size ?? null },
            secretOutputs: { serial: `sn-${request.name}` },
          };
      record("apply", request);
      return result;
    },
    async destroy(request) {
      request.onSlot?.();
      await options.destroy?.(request);
      record("destroy", request);
    },
    async preview(request) {
      request.onSlot?.();
      return options.preview
        ? await options.preview(request)
        : { steps: { update: 1 }, destructive: false, details: {} };
    },
    async close() {},
  };
}
