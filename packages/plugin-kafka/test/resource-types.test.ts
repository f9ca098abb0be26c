import type { SpecOf } from "@plinth/sdk";
import { describe, expectTypeOf, it } from "vitest";
import type { TopicSpecInput } from "../src/index.ts";

// Checked by tsc: the augmentation types `client.apply("kafka.topic", ...)`.
describe("SDK augmentation", () => {
  it("types kafka.topic specs in the SDK as the spec's input type", () => {
    expectTypeOf<SpecOf<"kafka.topic">>().toEqualTypeOf<TopicSpecInput>();
    expectTypeOf<{ cluster: "local"; owner: { team: "t"; contact: "c" } }>().toExtend<SpecOf<"kafka.topic">>();
    expectTypeOf<{ cluster: "local" }>().not.toExtend<SpecOf<"kafka.topic">>();
  });
});
