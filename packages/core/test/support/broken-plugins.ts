import { z } from "zod";
import { definePlugin } from "../../src/index.ts";

/** Plugins with bugs, to show a plugin cannot take the service down or corrupt the store. */
export const throwingDefaults = definePlugin({
  type: "test.throws",
  version: "0.0.1",
  spec: z.object({ size: z.number() }),
  defaults: () => {
    throw new Error("bug in defaults");
  },
  program: () => ({}),
});

export const malformedReview = definePlugin({
  type: "test.malformed",
  version: "0.0.1",
  spec: z.object({ size: z.number() }),
  review: () => ({ approvals: -1, reasons: [] }),
  program: () => ({}),
});

export const strictSettings = definePlugin({
  type: "test.settings",
  version: "0.0.1",
  settings: z.object({ endpoint: z.url() }).strict(),
  spec: z.object({}),
  program: () => ({}),
});
