import { describe, expectTypeOf, it } from "vitest";
import type { TopicSpecInput } from "../../plugin-kafka/src/topic-spec.ts";
import type { UserSpecInput } from "../../plugin-kafka/src/user-spec.ts";
import type { DatabaseSpecInput } from "../../plugin-postgres/src/database-spec.ts";
import type { DatabaseSpec, TopicSpec, UserSpec } from "../src/spec-types.js";

// Checked by tsc (make check): the hand-written types cannot drift from the plugins' schemas.
describe("the types-only spec types equal the plugins' own input types", () => {
  it("kafka.topic, kafka.user and postgres.database", () => {
    expectTypeOf<TopicSpec>().toEqualTypeOf<TopicSpecInput>();
    expectTypeOf<UserSpec>().toEqualTypeOf<UserSpecInput>();
    expectTypeOf<DatabaseSpec>().toEqualTypeOf<DatabaseSpecInput>();
  });
});
