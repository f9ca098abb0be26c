import type { Violation } from "@plinth/core";
import { Ajv, type ErrorObject } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import avro from "avsc";
import protobuf from "protobufjs";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

const violation = (reason: string, description: string): Violation => ({ field: "schema", reason, description });

/**
 * The schema text parsed the way its format's own library parses it, before
 * the registry sees it: Avro by `avsc` (names, types, defaults), Protobuf by
 * `protobufjs` (syntax, with the line), JSON Schema by `ajv` against its
 * draft's meta-schema (with the path inside the schema). Types named by
 * `references` stand in as empty records: their own subjects hold them.
 * Pure; empty when the text parses.
 */
export function schemaSyntaxViolations(
  spec: Pick<ResolvedSchemaSpec, "format" | "schema" | "references">,
): Violation[] {
  if (spec.format === "PROTOBUF") return protobufViolations(spec.schema);
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec.schema);
  } catch (error) {
    const what = spec.format === "AVRO" ? "an Avro schema" : "a JSON Schema";
    return [violation("SCHEMA_NOT_JSON", `${what} is JSON text: ${(error as Error).message}`)];
  }
  return spec.format === "AVRO" ? avroViolations(parsed, spec.references) : jsonSchemaViolations(parsed);
}

function avroViolations(parsed: unknown, references: ResolvedSchemaSpec["references"]): Violation[] {
  const registry = {};
  for (const reference of references) {
    try {
      avro.Type.forSchema({ type: "record", name: reference.name, fields: [] }, { registry });
    } catch {
      // Not an Avro full name: the schema cannot name it either, and avsc says so below.
    }
  }
  try {
    // Named types need their names, as the registry's own (Java) parser demands.
    avro.Type.forSchema(parsed as avro.Schema, { registry, noAnonymousTypes: true });
    return [];
  } catch (error) {
    return [
      violation(
        "INVALID_AVRO_SCHEMA",
        `not a valid Avro schema: ${(error as Error).message} (a type from another subject must be listed in references)`,
      ),
    ];
  }
}

function protobufViolations(text: string): Violation[] {
  try {
    protobuf.parse(text, { keepCase: true });
    return [];
  } catch (error) {
    return [violation("INVALID_PROTOBUF_SCHEMA", `not a valid .proto file: ${(error as Error).message}`)];
  }
}

/** The drafts ajv knows, by their `$schema`; draft-07 when it names none. */
function validatorFor(draft: unknown): Ajv | undefined {
  const options = { strict: false, validateFormats: false };
  if (draft === undefined || (typeof draft === "string" && /json-schema\.org\/draft-07\/schema#?$/.test(draft))) {
    return new Ajv(options);
  }
  if (typeof draft !== "string") return undefined;
  if (/json-schema\.org\/draft\/2019-09\/schema#?$/.test(draft)) return new Ajv2019(options);
  if (/json-schema\.org\/draft\/2020-12\/schema#?$/.test(draft)) return new Ajv2020(options);
  return undefined;
}

function jsonSchemaViolations(parsed: unknown): Violation[] {
  if (typeof parsed === "boolean") return [];
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return [violation("INVALID_JSON_SCHEMA", "a JSON Schema is an object (or true or false)")];
  }
  // Other drafts (04, 06, a custom meta-schema) are left to the registry.
  const ajv = validatorFor((parsed as { $schema?: unknown }).$schema);
  if (!ajv || ajv.validateSchema(parsed)) return [];
  // The meta-schema reports one problem several ways (enum, then anyOf): the first per place says it.
  const firstPerPlace = new Map<string, ErrorObject>();
  for (const error of ajv.errors ?? []) {
    if (!firstPerPlace.has(error.instancePath)) firstPerPlace.set(error.instancePath, error);
  }
  return [...firstPerPlace.values()].map((error) =>
    violation(
      "INVALID_JSON_SCHEMA",
      `not a valid JSON Schema at ${error.instancePath || "/"}: ${error.message ?? error.keyword}` +
        (Array.isArray(error.params.allowedValues) ? ` (${error.params.allowedValues.join(", ")})` : ""),
    ),
  );
}
