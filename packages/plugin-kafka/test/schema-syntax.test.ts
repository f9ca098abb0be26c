import { describe, expect, it } from "vitest";
import { schemaSyntaxViolations } from "../src/schema-syntax.ts";
import { avroRecord, orderV1 } from "./support/schema-fixtures.ts";

const check = (format: "AVRO" | "PROTOBUF" | "JSON", schema: string, references: { name: string }[] = []) =>
  schemaSyntaxViolations({
    format,
    schema,
    references: references.map((reference) => ({ ...reference, subject: "s", version: 1 })),
  });

// What each format's own parser says before the registry sees the schema (issue 26).
describe("schema syntax, checked before the registry sees it", () => {
  it.each([
    ["an Avro record", "AVRO", orderV1],
    ["an Avro primitive", "AVRO", '"string"'],
    [
      "a Protobuf file with an import",
      "PROTOBUF",
      'syntax = "proto3";\nimport "shop/money.proto";\nmessage Order { string id = 1; shop.Money m = 2; }',
    ],
    ["a draft-07 JSON Schema", "JSON", '{"type":"object","properties":{"id":{"type":"string"}}}'],
    ["a 2020-12 JSON Schema", "JSON", '{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}'],
    [
      "a JSON Schema of a draft ajv does not know (left to the registry)",
      "JSON",
      '{"$schema":"http://json-schema.org/draft-04/schema#","type":"strin"}',
    ],
  ] as const)("accepts %s", (_reason, format, schema) => {
    expect(check(format, schema)).toEqual([]);
  });

  it("accepts an Avro type named by a reference, and refuses one that is not", () => {
    const usesMoney = avroRecord([{ name: "price", type: "shop.Money" }]);
    expect(check("AVRO", usesMoney, [{ name: "shop.Money" }])).toEqual([]);
    expect(check("AVRO", usesMoney)).toEqual([
      expect.objectContaining({ reason: "INVALID_AVRO_SCHEMA", description: expect.stringContaining("shop.Money") }),
    ]);
  });

  it.each([
    ["Avro that is not JSON", "AVRO", "{not json", "SCHEMA_NOT_JSON", "JSON"],
    ["an unknown Avro type", "AVRO", avroRecord([{ name: "id", type: "strin" }]), "INVALID_AVRO_SCHEMA", "strin"],
    [
      "an Avro default of the wrong type",
      "AVRO",
      avroRecord([{ name: "n", type: "long", default: "x" }]),
      "INVALID_AVRO_SCHEMA",
      "default",
    ],
    ["an Avro record without a name", "AVRO", '{"type":"record","fields":[]}', "INVALID_AVRO_SCHEMA", "name"],
    [
      "a .proto syntax error, with its line",
      "PROTOBUF",
      'syntax = "proto3";\nmessage Order { string id = ; }',
      "INVALID_PROTOBUF_SCHEMA",
      "line 2",
    ],
    [
      "a JSON Schema type that does not exist, with its path",
      "JSON",
      '{"properties":{"id":{"type":"strin"}}}',
      "INVALID_JSON_SCHEMA",
      "/properties/id/type",
    ],
    ["a JSON Schema that is an array", "JSON", "[]", "INVALID_JSON_SCHEMA", "object"],
  ] as const)("refuses %s", (_reason, format, schema, reason, says) => {
    expect(check(format, schema)).toEqual([{ field: "schema", reason, description: expect.stringContaining(says) }]);
  });
});
