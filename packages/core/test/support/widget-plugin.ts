import { z } from "zod";
import { definePlugin } from "../../src/index.ts";

/**
 * A resource type for state-machine tests: small, with every capability a
 * real plugin has (identity, defaults with explanations, transitions, review).
 */
export const widgetPlugin = definePlugin({
  type: "test.widget",
  version: "1.0.0",
  description: "A widget, for tests.",
  spec: z
    .object({
      size: z.number().int().min(1).max(100),
      color: z.enum(["blue", "red", "green"]).optional(),
      locked: z.boolean().optional(),
    })
    .strict(),
  identity: (name) => name.toLowerCase().replaceAll("_", "-"),
  defaults: (_name, spec) => ({
    spec: { ...spec, color: spec.color ?? "blue" },
    explanations: spec.color ? {} : ({ color: "blue is the house colour" } as Record<string, string>),
  }),
  validate: (_name, next, previous) => [
    ...(previous && next.size < previous.size
      ? [
          {
            // Spec-relative, as plugins write it; clients see "spec.size" (submit-semantics test).
            field: "size",
            description: `may only grow (now ${previous.size})`,
            reason: "SHRINK",
            transition: true,
          },
        ]
      : []),
    // A policy limit, not a law of nature: an admin may override it.
    ...(next.size > 90
      ? [{ field: "spec.size", description: "at most 90 by policy", reason: "GUARDRAIL_SIZE", overridable: true }]
      : []),
  ],
  validateDelete: (_name, previous) =>
    previous.locked
      ? [{ field: "spec.locked", description: "unlock the widget before deleting it", reason: "LOCKED" }]
      : [],
  // Pretends the real system already holds widgets named "handmade-*", cannot be reached for
  // "unreachable-*" and never answers for "hung-*".
  findUnmanaged: async (name) => {
    if (name.startsWith("unreachable-")) throw new Error("widget backend refused the connection");
    if (name.startsWith("hung-")) return await new Promise<never>(() => undefined);
    return name.startsWith("handmade-") ? `widget ${name} exists outside Plinth: adopt it` : undefined;
  },
  review: (input) =>
    input.next && input.next.size > 50
      ? { approvals: 1, reasons: ["widgets larger than 50 need a reviewer"] }
      : { approvals: 0, reasons: [] },
  reviewPolicy: "deletes and widgets larger than 50 need one reviewer",
  secretOutputs: ["serial"],
  program: ({ name, spec }) => ({ name, size: spec.size }),
});
