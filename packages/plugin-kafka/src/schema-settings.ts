import { z } from "zod";

/** One cluster's schema registry: its Confluent-compatible API (e.g. Apicurio's `/apis/ccompat/v7`). */
export const RegistrySettings = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .transform((url) => url.replace(/\/+$/, ""))
    .describe("Base URL of the registry's Confluent-compatible REST API"),
});
export type RegistrySettings = z.infer<typeof RegistrySettings>;

/** `kafka.schema`'s settings: a schema registry per Kafka cluster, keyed by the cluster names `kafka.topic` uses. */
export const SchemaSettings = z.strictObject({
  registries: z.record(z.string().min(1), RegistrySettings),
});
export type SchemaSettings = z.infer<typeof SchemaSettings>;
export type SchemaSettingsInput = z.input<typeof SchemaSettings>;
