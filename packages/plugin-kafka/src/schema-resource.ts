import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import type * as SchemaProviderModule from "./schema-provider.cjs";
import type { SchemaProps } from "./schema-provider.cjs";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

/** Pulumi type token of the resource: `pulumi-nodejs:dynamic/kafka:Schema`. */
export const schemaResourceType = "pulumi-nodejs:dynamic/kafka:Schema";

/**
 * The provider's CommonJS module, loaded with Node's own require() whatever
 * loader imported this file, so Pulumi serializes exactly the code in the file.
 */
const providerModule = createRequire(import.meta.url)("./schema-provider.cjs") as typeof SchemaProviderModule;

type Inputs = { [K in keyof SchemaProps]: pulumi.Input<SchemaProps[K]> };

/** One subject, made by the dynamic provider in `schema-provider.cjs`. */
class SchemaSubject extends pulumi.dynamic.Resource {
  declare readonly version: pulumi.Output<number>;
  declare readonly schemaId: pulumi.Output<number>;
  declare readonly compatibility: pulumi.Output<string>;

  constructor(name: string, inputs: Inputs) {
    // Listing the registry-assigned properties (undefined inputs) makes them outputs of this object.
    super(
      providerModule.schemaProvider,
      name,
      { ...inputs, version: undefined, schemaId: undefined },
      {},
      "kafka",
      "Schema",
    );
  }
}

/** Declares the subject of a resolved spec on the registry at `url`; returns the outputs. */
export function declareSchema(name: string, spec: ResolvedSchemaSpec, url: string) {
  const subject = new SchemaSubject(name, {
    url,
    subject: spec.subject,
    format: spec.format,
    schema: spec.schema,
    references: spec.references,
    compatibility: spec.compatibility,
    deletion: spec.deletion,
  });
  return {
    cluster: spec.cluster,
    topic: spec.topic,
    subject: spec.subject,
    format: spec.format,
    compatibility: subject.compatibility,
    version: subject.version,
    schemaId: subject.schemaId,
  };
}
