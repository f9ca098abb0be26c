import { describe, expect, it } from "vitest";
import { kafkaTopic } from "../src/index.ts";
import { ctx } from "./support/fixtures.ts";

const owner = { team: "orders", contact: "#orders" };
const item = (name: string, observed: Record<string, unknown>) => ({ name, identity: `small/${name}`, observed });

/** What core does with an imported spec: parse, defaults, then the bulk comparison with the listed item. */
function roundTrip(listed: ReturnType<typeof item>) {
  const imported = kafkaTopic.importSpec!(listed as never, "small", owner, ctx);
  if (imported.refusal !== undefined) return { refusal: imported.refusal };
  const resolved = kafkaTopic.defaults!(listed.name, kafkaTopic.spec.parse(imported.spec), ctx).spec;
  return { resolved, differences: kafkaTopic.observeInBulk!.differences(listed as never, listed.name, resolved, ctx) };
}

describe("kafka.topic importSpec: a listed topic as a spec that matches it exactly", () => {
  it.each([
    { why: "no configs set: none are filled by default", observed: { partitions: 1, replicationFactor: 1 } },
    {
      why: "configs of every kind (number, word, flag) round-trip to the strings Kafka reports",
      observed: {
        partitions: 6,
        replicationFactor: 1,
        config: {
          "retention.ms": "86400000",
          "cleanup.policy": "compact",
          "unclean.leader.election.enable": "false",
          "min.cleanable.dirty.ratio": "0.2",
        },
      },
    },
  ])("$why", ({ observed }) => {
    const result = roundTrip(item("orders.v1", observed));
    expect(result.refusal).toBeUndefined();
    expect(result.differences).toEqual([]);
    expect(result.resolved).toMatchObject({ adopt: true, owner, partitions: observed.partitions });
  });

  it.each([
    { why: "Kafka's internal topics are never imported", name: "__consumer_offsets", observed: {}, says: /internal/ },
    {
      why: "a config Plinth does not manage cannot be recorded, so the topic is left alone",
      name: "odd.v1",
      observed: { partitions: 1, replicationFactor: 1, config: { "segment.index.bytes": "4096" } },
      says: /segment\.index\.bytes/,
    },
  ])("$why", ({ name, observed, says }) => {
    expect(roundTrip(item(name, observed)).refusal).toMatch(says);
  });

  it("fills no config default on an adopted topic (a default retention would cut what it keeps), but does on a new one", () => {
    const parse = (adopt: boolean) =>
      kafkaTopic.defaults!("a.v1", kafkaTopic.spec.parse({ cluster: "small", owner, partitions: 1, adopt }), ctx).spec;
    expect(parse(true).config).toEqual({});
    expect(parse(false).config).toHaveProperty("retention.ms");
  });
});
