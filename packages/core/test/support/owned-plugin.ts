import { z } from "zod";
import { definePlugin } from "../../src/index.ts";

/**
 * A resource type with an owner in its spec and reaches into other
 * resources of its type (`reads` names them): the shape of kafka.topic and
 * kafka.user, for ownership tests with the fake engine.
 */
export const ownedPlugin = definePlugin({
  type: "test.owned",
  version: "1.0.0",
  spec: z.strictObject({
    owner: z.strictObject({ team: z.string().min(1), contact: z.string().min(1) }),
    reads: z.array(z.string()).default([]),
    note: z.string().optional(),
  }),
  ownerTeam: (spec) => spec.owner.team,
  reaches: async (_name, spec, lookup) => {
    const others = await lookup.list("test.owned");
    return spec.reads.flatMap((target, index) =>
      others
        .filter((other) => other.name === target)
        .map((other) => ({ field: `reads.${index}`, ownerTeam: other.ownerTeam, access: `read ${target}` })),
    );
  },
  // The owner of what `reads.<i>` reaches withdraws it by dropping that entry.
  revoke: (_name, spec, field) => {
    const index = /^reads\.(\d+)$/.exec(field)?.[1];
    const reads = Array.isArray(spec.reads) ? spec.reads : [];
    if (index === undefined) return { refusal: `no grant at ${field}` };
    return { spec: { ...spec, reads: reads.filter((_, at) => at !== Number(index)) } };
  },
  // Every team may own 5 of them, on the one scope there is.
  usage: () => ({ scope: "here", amounts: { things: 1 } }),
  quota: () => ({ things: 5 }),
  secretOutputs: ["serial"],
  program: ({ name }) => ({ name }),
});
