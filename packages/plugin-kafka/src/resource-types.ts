import type { TopicSpecInput } from "./topic-spec.ts";
import type { SchemaSpecInput } from "./schema-spec.ts";
import type { UserSpecInput } from "./user-spec.ts";

// Publishes the spec types to the SDK, so `client.apply("kafka.topic", name, spec)` is typed end to end.
declare module "@plinth/sdk" {
  interface ResourceTypes {
    "kafka.topic": TopicSpecInput;
    "kafka.user": UserSpecInput;
    "kafka.schema": SchemaSpecInput;
  }
}
