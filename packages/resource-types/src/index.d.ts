import type { DatabaseSpec, TopicSpec, UserSpec } from "./spec-types.js";

export type * from "./spec-types.js";

// Types `client.apply("kafka.topic", name, spec)` and the others end to end in a service that
// imports this package (`import type {} from "@plinth/resource-types"`), without the plugins.
declare module "@plinth/sdk" {
  interface ResourceTypes {
    "kafka.topic": TopicSpec;
    "kafka.user": UserSpec;
    "postgres.database": DatabaseSpec;
  }
}
