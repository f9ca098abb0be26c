import { z } from "zod";
import { definePlugin } from "../../src/index.ts";

/** Every secret `serial` the sealed widget's verify was handed, in order (shared with the test through globalThis). */
export function sealedVerifyCalls(): (string | undefined)[] {
  const holder = globalThis as { sealedVerifyCalls?: (string | undefined)[] };
  holder.sealedVerifyCalls ??= [];
  return holder.sealedVerifyCalls;
}

/**
 * A widget whose verify needs its secret output (the fake engine's serial
 * `sn-<name>`), as a database's verify needs its generated password.
 */
export const sealedWidgetPlugin = definePlugin({
  type: "test.sealed",
  version: "1.0.0",
  spec: z.strictObject({ size: z.int().min(1) }),
  secretOutputs: ["serial"],
  program: ({ name, spec }) => ({ name, size: spec.size }),
  verify: async ({ name, secretOutputs }) => {
    const serial = secretOutputs?.serial;
    sealedVerifyCalls().push(typeof serial === "string" ? serial : undefined);
    return serial === `sn-${name}`
      ? { ready: true, message: "the serial matches" }
      : { ready: false, message: "no serial to check" };
  },
});
