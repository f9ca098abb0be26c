import type { Violation } from "@plinth/core";
import { describe, expect, it } from "vitest";
import { type DatabaseSpecInput, validateDatabase, validateDatabaseDelete } from "../src/index.ts";
import { resolvedSpec, settings } from "./support/fixtures.ts";

const check = (name: string, next: Partial<DatabaseSpecInput>, previous?: Partial<DatabaseSpecInput>): Violation[] =>
  validateDatabase(name, resolvedSpec(name, next), previous && resolvedSpec(name, previous), settings);
const reasons = (violations: Violation[]) => violations.map((v) => `${v.field}:${v.reason}`);

describe("validateDatabase", () => {
  it("accepts a plain database with allowed extensions", () => {
    expect(check("orders", { extensions: ["citext", "pgcrypto"] })).toEqual([]);
  });

  it.each([
    { reason: "upper case", name: "Orders", spec: {}, expected: "name:INVALID_IDENTIFIER" },
    { reason: "a dash", name: "orders-db", spec: {}, expected: "name:INVALID_IDENTIFIER" },
    { reason: "a leading digit", name: "1orders", spec: {}, expected: "name:INVALID_IDENTIFIER" },
    { reason: "64 characters", name: "a".repeat(64), spec: {}, expected: "name:INVALID_IDENTIFIER" },
    { reason: "a reserved word", name: "select", spec: {}, expected: "name:RESERVED_WORD" },
    { reason: "the pg_ prefix", name: "pg_orders", spec: {}, expected: "name:RESERVED_NAME" },
    { reason: "the maintenance database", name: "postgres", spec: {}, expected: "name:RESERVED_NAME" },
    { reason: "a template", name: "x", spec: { database: "template0" }, expected: "database:RESERVED_NAME" },
    { reason: "a reserved owner", name: "orders", spec: { owner: "user" }, expected: "owner:RESERVED_WORD" },
    { reason: "the role public", name: "orders", spec: { owner: "public" }, expected: "owner:RESERVED_NAME" },
    {
      reason: "the admin as owner",
      name: "orders",
      spec: { owner: "plinth_admin" },
      expected: "owner:ADMIN_ROLE",
    },
    {
      reason: "a default owner over 63 bytes",
      name: "a".repeat(60),
      spec: {},
      expected: "owner:INVALID_IDENTIFIER",
    },
    {
      reason: "an unknown instance",
      name: "orders",
      spec: { instance: "nowhere" },
      expected: "instance:UNKNOWN_INSTANCE",
    },
    {
      reason: "an extension not allowed",
      name: "orders",
      spec: { extensions: ["citext", "uuid-ossp"] },
      expected: "extensions.1:EXTENSION_NOT_ALLOWED",
    },
    {
      reason: "a limit above the guardrail",
      name: "orders",
      spec: { connectionLimit: 51 },
      expected: "connectionLimit:GUARDRAIL_MAX_CONNECTION_LIMIT",
    },
  ])("refuses $reason ($expected)", ({ name, spec, expected }) => {
    const violations = check(name, spec);
    expect(reasons(violations)).toContain(expected);
    for (const violation of violations) expect(violation.description.length).toBeGreaterThan(20);
  });

  it("says how to fix a bad resource name (spec.database) in the violation", () => {
    expect(check("orders-db", {})[0]?.description).toMatch(/or set spec.database/);
  });

  it("marks the guardrail overridable and judges only a raise", () => {
    expect(check("orders", { connectionLimit: 80 })).toEqual([expect.objectContaining({ overridable: true })]);
    expect(check("orders", { connectionLimit: 80 }, { connectionLimit: 90 })).toEqual([]);
    expect(check("orders", { connectionLimit: 80 }, { connectionLimit: 80 })).toEqual([]);
  });

  it("keeps an extension the instance no longer allows when it is already there", () => {
    expect(check("orders", { extensions: ["uuid-ossp"] }, { extensions: ["uuid-ossp"] })).toEqual([]);
  });

  it.each([
    { field: "instance", from: { instance: "main" }, to: { instance: "small" } },
    { field: "database", from: { database: "orders" }, to: { database: "orders2" } },
    { field: "owner", from: { owner: "orders_app" }, to: { owner: "orders_app2" } },
    { field: "rotation", from: { rotation: 2 }, to: { rotation: 1 } },
  ])("refuses changing $field as a transition (FAILED_PRECONDITION)", ({ field, from, to }) => {
    const violations = check("orders", to, from);
    expect(violations).toContainEqual(expect.objectContaining({ field, transition: true }));
  });

  it("allows a rotation bump and limit and extension changes", () => {
    expect(
      check("orders", { rotation: 1, connectionLimit: 5, extensions: ["hstore"] }, { extensions: ["citext"] }),
    ).toEqual([]);
  });
});

describe("validateDatabaseDelete", () => {
  it("refuses a protected database and says how to delete it", () => {
    const [violation] = validateDatabaseDelete("orders", resolvedSpec("orders", { protect: true }));
    expect(violation).toMatchObject({ field: "protect", reason: "PROTECTED" });
    expect(violation?.description).toMatch(/protect: false/);
    expect(validateDatabaseDelete("orders", resolvedSpec("orders"))).toEqual([]);
  });
});
