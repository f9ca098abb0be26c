import { describe, expect, it } from "vitest";
import {
  describeSchemaChange,
  incompatibilityCauses,
  incompatibilityViolations,
  resolveSchemaDefaults,
} from "../src/index.ts";
import { avroRecord, orderV1, orderV2, orderV3Incompatible } from "./support/schema-fixtures.ts";

const spec = (schema: string, extra: object = {}) =>
  resolveSchemaDefaults({ cluster: "local", topic: "orders", schema, ...extra }).spec;

// Apicurio's verbose answer, as its ccompat API gave it for orderV3Incompatible against orderV2 (BACKWARD).
const apicurioAnswer = {
  is_compatible: false,
  reason:
    "Incompatible artifact: orders-value [AVRO], num of incompatible diffs: {2}, list of diff types: [currency at " +
    "/fields/2, reader type: INT not compatible with writer type: STRING at /fields/0/type] Causes: reader type: INT " +
    "not compatible with writer type: STRING at /fields/0/type, currency at /fields/2",
};

describe("what a schema change shows a reviewer", () => {
  it("names the Avro fields added (with their default), removed and retyped", () => {
    expect(describeSchemaChange(spec(orderV1), spec(orderV2))).toEqual(['field "amount" added ("long", default 0)']);
    const retyped = avroRecord([{ name: "id", type: "long" }]);
    expect(describeSchemaChange(spec(orderV2), spec(retyped, { compatibility: "NONE" }))).toEqual([
      'subject "orders-value": compatibility BACKWARD → NONE',
      'field "id" type "string" → "long"',
      'field "amount" removed',
    ]);
    expect(describeSchemaChange(undefined, spec(orderV1))).toEqual([
      'subject "orders-value": first AVRO schema with fields id, compatibility BACKWARD',
    ]);
  });

  it("turns the registry's causes into one violation each on spec.schema, naming the field its pointer leads to", () => {
    expect(incompatibilityCauses(apicurioAnswer)).toEqual([
      "reader type: INT not compatible with writer type: STRING at /fields/0/type",
      "currency at /fields/2",
    ]);
    const violations = incompatibilityViolations(apicurioAnswer, spec(orderV3Incompatible), spec(orderV2), "BACKWARD");
    expect(violations.map((violation) => [violation.field, violation.reason, violation.overridable])).toEqual([
      ["schema", "INCOMPATIBLE_SCHEMA", true],
      ["schema", "INCOMPATIBLE_SCHEMA", true],
    ]);
    expect(violations[0]!.description).toMatch(/^field "id": incompatible .* under BACKWARD/);
    expect(violations[1]!.description).toMatch(/^field "currency": /);
    // Confluent's answer lists its messages.
    expect(incompatibilityCauses({ is_compatible: false, messages: ["a", "b"] })).toEqual(["a", "b"]);
  });
});
