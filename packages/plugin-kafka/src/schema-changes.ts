import type { Violation } from "@plinth/core";
import type { CompatibilityAnswer } from "./schema-registry-client.ts";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

/** A schema as text the registry and Plinth compare equal: Avro and JSON Schema by their JSON, Protobuf by its text. */
export function canonicalSchema(format: string, schema: string): string {
  if (format === "PROTOBUF") return schema.trim();
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch {
    return schema.trim();
  }
}

export const sameSchema = (format: string, a: string, b: string): boolean =>
  canonicalSchema(format, a) === canonicalSchema(format, b);

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
}

/** The top-level fields of an Avro record schema, or undefined when it is not a record (or not JSON). */
function avroFields(schema: string): AvroField[] | undefined {
  try {
    const parsed = JSON.parse(schema) as { type?: unknown; fields?: unknown };
    if (parsed?.type !== "record" || !Array.isArray(parsed.fields)) return undefined;
    return parsed.fields.filter(
      (field): field is AvroField => typeof field === "object" && field !== null && typeof field.name === "string",
    );
  } catch {
    return undefined;
  }
}

const words = (value: unknown) => JSON.stringify(value);

/**
 * What a reviewer reads instead of diffing JSON: the Avro record's fields
 * added (with or without a default), removed, retyped, and defaults
 * changed. Other formats (and non-record Avro) say only that the text changed.
 */
export function describeSchemaChange(previous: ResolvedSchemaSpec | undefined, next: ResolvedSchemaSpec): string[] {
  const subject = `subject "${next.subject}"`;
  if (!previous) {
    const fields = next.format === "AVRO" ? avroFields(next.schema) : undefined;
    return [
      `${subject}: first ${next.format} schema` +
        (fields ? ` with fields ${fields.map((field) => field.name).join(", ")}` : "") +
        `, compatibility ${next.compatibility}`,
    ];
  }
  const found: string[] = [];
  if (previous.compatibility !== next.compatibility) {
    found.push(`${subject}: compatibility ${previous.compatibility} → ${next.compatibility}`);
  }
  if (previous.format !== next.format) found.push(`${subject}: format ${previous.format} → ${next.format}`);
  if (words(previous.references) !== words(next.references)) {
    found.push(`${subject}: references ${words(previous.references)} → ${words(next.references)}`);
  }
  if (sameSchema(next.format, previous.schema, next.schema)) return found;
  const before = next.format === "AVRO" ? avroFields(previous.schema) : undefined;
  const after = next.format === "AVRO" ? avroFields(next.schema) : undefined;
  if (!before || !after) return [...found, `${subject}: the ${next.format} schema text changed`];
  const old = new Map(before.map((field) => [field.name, field]));
  const now = new Map(after.map((field) => [field.name, field]));
  for (const field of after) {
    const was = old.get(field.name);
    if (!was) {
      found.push(
        `field "${field.name}" added (${words(field.type)}, ` +
          ("default" in field ? `default ${words(field.default)})` : "no default)"),
      );
      continue;
    }
    if (words(was.type) !== words(field.type)) {
      found.push(`field "${field.name}" type ${words(was.type)} → ${words(field.type)}`);
    }
    if (words(was.default) !== words(field.default)) {
      found.push(
        `field "${field.name}" default ` +
          `${"default" in was ? words(was.default) : "none"} → ${"default" in field ? words(field.default) : "none"}`,
      );
    }
  }
  for (const field of before) {
    if (!now.has(field.name)) found.push(`field "${field.name}" removed`);
  }
  return found.length > 0 ? found : [`${subject}: the schema text changed (no field changed)`];
}

/** The registry's causes, one per problem: Confluent lists messages, Apicurio joins them after "Causes: ". */
export function incompatibilityCauses(answer: CompatibilityAnswer): string[] {
  if (answer.messages && answer.messages.length > 0) return answer.messages;
  const reason = answer.reason ?? "";
  const causes = /Causes: (.*)$/s.exec(reason)?.[1] ?? /list of diff types: \[(.*)\]/s.exec(reason)?.[1];
  if (!causes) return reason ? [reason] : ["the registry gave no reason"];
  return [...new Set(causes.split(/, (?=\S)/).map((cause) => cause.trim()))].filter(Boolean);
}

/** The Avro field a cause's JSON pointer (`/fields/1/type`) points at, looked up in the schemas given. */
function fieldOfCause(cause: string, schemas: string[]): string | undefined {
  const index = /\/fields\/(\d+)/.exec(cause)?.[1];
  if (index === undefined) return undefined;
  for (const schema of schemas) {
    const name = avroFields(schema)?.[Number(index)]?.name;
    if (name) return name;
  }
  return undefined;
}

/**
 * One violation per cause of an incompatible schema, naming the Avro field
 * where the registry's pointer leads to one. Overridable: an admin may hold
 * it for review; the registry itself refuses the registration unless the
 * subject's level allows it (NONE, which also needs a reviewer).
 */
export function incompatibilityViolations(
  answer: CompatibilityAnswer,
  next: ResolvedSchemaSpec,
  previous: ResolvedSchemaSpec | undefined,
  level: string,
): Violation[] {
  return incompatibilityCauses(answer).map((cause) => {
    const field = fieldOfCause(cause, [next.schema, ...(previous ? [previous.schema] : [])]);
    return {
      field: "schema",
      reason: "INCOMPATIBLE_SCHEMA",
      description:
        `${field ? `field "${field}": ` : ""}incompatible with the latest version of subject "${next.subject}" ` +
        `under ${level} (the registry says: ${cause}); make the change compatible (e.g. give a new field a ` +
        `default), or set compatibility NONE, which needs a reviewer`,
      overridable: true,
    };
  });
}
