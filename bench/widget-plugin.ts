import { definePlugin } from "@plinth/core";
import { z } from "./deps.ts";

/**
 * The benchmark's resource type, a copy of core's test widget: a zod spec,
 * identity, defaults, a transition rule and a review rule, so ApplyResource
 * runs every step of the submit path. Sizes above 50 need a reviewer; the
 * benchmark uses small sizes, so every change is auto-approved and queued.
 */
export const widgetPlugin = definePlugin({
  type: "test.widget",
  version: "1.0.0",
  description: "A widget, for the benchmark.",
  spec: z
    .object({
      size: z.number().int().min(1).max(100),
      color: z.enum(["blue", "red", "green"]).optional(),
    })
    .strict(),
  identity: (name) => name.toLowerCase().replaceAll("_", "-"),
  defaults: (_name, spec) => ({
    spec: { ...spec, color: spec.color ?? "blue" },
    explanations: spec.color ? {} : ({ color: "blue is the house colour" } as Record<string, string>),
  }),
  validate: (_name, next, previous) =>
    previous && next.size < previous.size
      ? [
          {
            field: "spec.size",
            description: `may only grow (now ${previous.size})`,
            reason: "SHRINK",
            transition: true,
          },
        ]
      : [],
  review: (input) =>
    input.next && input.next.size > 50
      ? { approvals: 1, reasons: ["widgets larger than 50 need a reviewer"] }
      : { approvals: 0, reasons: [] },
  reviewPolicy: "deletes and widgets larger than 50 need one reviewer",
  program: ({ name, spec }) => ({ name, size: spec.size }),
});
