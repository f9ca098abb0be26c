import { definePlugin } from "@plinth/core";
import { z } from "zod";

// Plugins with bugs that only show while a change is applied: in the engine's
// child process (program) or in the worker (verify). Each must fail its own
// change with an error naming it, and nothing else.
const spec = z.strictObject({ size: z.number() });

export const healthy = definePlugin({
  type: "broken.none",
  version: "0.0.1",
  spec,
  program: ({ spec }) => ({ size: spec.size }),
});

export const programThrows = definePlugin({
  type: "broken.throws",
  version: "0.0.1",
  spec,
  program: () => {
    throw new Error("bug in the program");
  },
});

export const programHangs = definePlugin({
  type: "broken.hangs",
  version: "0.0.1",
  spec,
  // Never settles, and keeps the child's event loop alive.
  program: () => new Promise(() => setInterval(() => undefined, 1_000)),
});

export const malformedOutputs = definePlugin({
  type: "broken.malformed",
  version: "0.0.1",
  spec,
  // Not an object of outputs at all.
  program: () => 42 as unknown as Record<string, unknown>,
});

export const unserializableOutputs = definePlugin({
  type: "broken.unserializable",
  version: "0.0.1",
  spec,
  program: () => ({ size: 10n }),
});

export const verifyThrows = definePlugin({
  type: "broken.verifythrows",
  version: "0.0.1",
  spec,
  program: ({ spec }) => ({ size: spec.size }),
  verify: () => Promise.reject(new Error("bug in verify")),
});

export const verifyHangs = definePlugin({
  type: "broken.verifyhangs",
  version: "0.0.1",
  spec,
  program: ({ spec }) => ({ size: spec.size }),
  verify: () => new Promise(() => undefined),
});
