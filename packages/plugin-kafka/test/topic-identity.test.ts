import { describe, expect, it } from "vitest";
import { findTopicConflict, kafkaTopic, topicNamesCollide } from "../src/index.ts";
import { ctx, topicSpec } from "./support/fixtures.ts";

const identity = (name: string, cluster = "main") => kafkaTopic.identity!(name, topicSpec({ cluster }), ctx);

describe("kafka.topic identity", () => {
  it.each([
    { why: "'.' and '_' collide in Kafka", a: ["orders.placed"], b: ["orders_placed"], same: true },
    { why: "several dots and underscores mix", a: ["a.b_c"], b: ["a_b.c"], same: true },
    { why: "case is significant in Kafka", a: ["Orders"], b: ["orders"], same: false },
    { why: "'-' is not folded", a: ["a-b"], b: ["a_b"], same: false },
    { why: "the same name on two clusters is two topics", a: ["orders", "main"], b: ["orders", "small"], same: false },
  ])("$why", ({ a, b, same }) => {
    const [nameA, clusterA] = a as [string, string?];
    const [nameB, clusterB] = b as [string, string?];
    expect(identity(nameA, clusterA) === identity(nameB, clusterB)).toBe(same);
  });

  it("is cluster/collision-key", () => {
    expect(identity("orders.placed.v1")).toBe("main/orders_placed_v1");
  });

  it("is stable across calls and resolved specs", () => {
    const resolved = kafkaTopic.defaults!("a.b", topicSpec(), ctx).spec;
    expect(kafkaTopic.identity!("a.b", resolved, ctx)).toBe(identity("a.b"));
  });

  it("says a name equal to two different topics only collides once", () => {
    expect(topicNamesCollide("a.b", "a.b")).toBe(false);
    expect(topicNamesCollide("a.b", "a_b")).toBe(true);
  });
});

describe("findTopicConflict", () => {
  it.each([
    {
      why: "the very topic exists (unmanaged: adopt it)",
      topics: ["x", "a.b"],
      conflict: { kind: "exists", topic: "a.b" },
    },
    { why: "another topic collides", topics: ["a_b"], conflict: { kind: "collides", topic: "a_b" } },
    { why: "an exact match wins over a collision", topics: ["a_b", "a.b"], conflict: { kind: "exists", topic: "a.b" } },
    { why: "nothing in the way", topics: ["A.b", "ab"], conflict: undefined },
  ])("$why", ({ topics, conflict }) => {
    expect(findTopicConflict("a.b", topics)).toEqual(conflict);
  });
});

describe("kafka.topic adoptPendingCreate", () => {
  it.each([
    {
      why: "an interrupted topic create is adopted by the topic name",
      type: "kafka:index/topic:Topic",
      inputs: { name: "a.b" },
      id: "a.b",
    },
    {
      why: "a provider is not a topic",
      type: "pulumi:providers:kafka",
      inputs: { bootstrapServers: "[]" },
      id: undefined,
    },
    { why: "no name, nothing to adopt", type: "kafka:index/topic:Topic", inputs: {}, id: undefined },
  ])("$why", ({ type, inputs, id }) => {
    expect(kafkaTopic.adoptPendingCreate!({ type, name: "a.b", inputs })).toBe(id);
  });
});
