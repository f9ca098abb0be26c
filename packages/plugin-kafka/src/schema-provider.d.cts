import type { dynamic } from "@pulumi/pulumi";
import type { SchemaReference } from "./schema-spec.ts";

/** The inputs of a schema subject resource, as the program declares them (see schema-resource.ts). */
export interface SchemaProps {
  url: string;
  subject: string;
  format: string;
  schema: string;
  references: SchemaReference[];
  compatibility: string;
  deletion: string;
}

export declare const schemaProvider: dynamic.ResourceProvider;
