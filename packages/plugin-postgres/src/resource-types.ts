import type { DatabaseSpecInput } from "./database-spec.ts";

// Publishes the spec type to the SDK, so `client.apply("postgres.database", name, spec)` is typed end to end.
declare module "@plinth/sdk" {
  interface ResourceTypes {
    "postgres.database": DatabaseSpecInput;
  }
}
