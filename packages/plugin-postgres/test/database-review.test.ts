import type { Principal, ReviewInput } from "@plinth/core";
import { describe, expect, it } from "vitest";
import { type DatabaseSpec, type DatabaseSpecInput, databaseReviewFindings, reviewDatabase } from "../src/index.ts";
import { resolvedSpec, settings } from "./support/fixtures.ts";

const principal: Principal = { id: "alice", team: "payments", roles: ["requester"] };
const spec = (input: Partial<DatabaseSpecInput> = {}): DatabaseSpec => resolvedSpec("orders", input);
const input = (previous: DatabaseSpec | undefined, next: DatabaseSpec | undefined): ReviewInput<DatabaseSpec> => ({
  kind: !previous ? "CREATE" : !next ? "DELETE" : "UPDATE",
  name: "orders",
  previous,
  next,
  differences: [],
  principal,
});
const codes = (previous: DatabaseSpec | undefined, next: DatabaseSpec | undefined) =>
  databaseReviewFindings(input(previous, next), settings).map((finding) => finding.code);

describe("reviewDatabase", () => {
  it.each([
    { reason: "a create", previous: undefined, next: spec({ extensions: ["citext"] }), expected: [] },
    { reason: "a rotation (the team's own credential)", previous: spec(), next: spec({ rotation: 1 }), expected: [] },
    { reason: "a new extension", previous: spec(), next: spec({ extensions: ["citext"] }), expected: [] },
    {
      reason: "a lower limit",
      previous: spec({ connectionLimit: 9 }),
      next: spec({ connectionLimit: 2 }),
      expected: [],
    },
    { reason: "a delete", previous: spec(), next: undefined, expected: ["DELETE"] },
    {
      reason: "a protected delete",
      previous: spec({ protect: true }),
      next: undefined,
      expected: ["DELETE", "PROTECTED"],
    },
    {
      reason: "an extension removed",
      previous: spec({ extensions: ["citext", "hstore"] }),
      next: spec({ extensions: ["citext"] }),
      expected: ["EXTENSION_REMOVED"],
    },
    { reason: "protection removed", previous: spec({ protect: true }), next: spec(), expected: ["PROTECTION_REMOVED"] },
    {
      reason: "an admin's override of the limit guardrail",
      previous: spec(),
      next: spec({ connectionLimit: 90 }),
      expected: ["GUARDRAIL_MAX_CONNECTION_LIMIT"],
    },
  ])("$reason needs $expected.length reviewer finding(s): $expected", ({ previous, next, expected }) => {
    expect(codes(previous, next)).toEqual(expected);
    const decision = reviewDatabase(input(previous, next), settings);
    expect(decision.approvals).toBe(expected.length > 0 ? 1 : 0);
    expect(decision.reasons.length).toBeGreaterThan(0);
  });

  it("says in the delete reason that the data and the owner role go", () => {
    expect(reviewDatabase(input(spec(), undefined), settings).reasons[0]).toMatch(
      /drops database "orders" with all its data, and its owner role/,
    );
  });
});
