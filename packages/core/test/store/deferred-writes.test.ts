import { describe, expect, it } from "vitest";
import { DeferredWrites } from "../../src/store/postgres/deferred-writes.ts";

const upsertResource = { table: "resources", sql: "INSERT INTO resources (name) VALUES ($1)", params: ["a"] };
const insertJob = { table: "jobs", sql: "INSERT INTO jobs (change_id, seq) VALUES ($1, $2)", params: ["c1", 7] };

describe("writes held back until the next statement", () => {
  it("go in front of a statement that names none of their tables, numbered after its parameters", () => {
    const writes = new DeferredWrites();
    writes.add(upsertResource);
    writes.add(insertJob);
    expect(writes.attach("SELECT * FROM subscriptions WHERE change_id = $1", ["c1"])).toEqual([
      "WITH w1 AS (INSERT INTO resources (name) VALUES ($2)), w2 AS (INSERT INTO jobs (change_id, seq) VALUES ($3, $4)) SELECT * FROM subscriptions WHERE change_id = $1",
      ["c1", "a", "c1", 7],
    ]);
    // Taken: the next statement goes alone.
    expect(writes.attach("SELECT 2", [])).toEqual(["SELECT 2", []]);
  });

  it("join a statement's own WITH queries", () => {
    const writes = new DeferredWrites();
    writes.add(upsertResource);
    expect(writes.attach("WITH clock AS (SELECT now() AS t) SELECT t FROM clock WHERE $1", [true])).toEqual([
      "WITH w1 AS (INSERT INTO resources (name) VALUES ($2)), clock AS (SELECT now() AS t) SELECT t FROM clock WHERE $1",
      [true, "a"],
    ]);
  });

  it("are sent on their own first before a recursive query, which takes no WITH queries in front of its own", () => {
    const writes = new DeferredWrites();
    writes.add(insertJob);
    expect(writes.attach("WITH RECURSIVE walk AS (SELECT 1) SELECT * FROM walk", [])).toBeUndefined();
  });

  it("are sent on their own first before a statement that reads or writes one of their tables", () => {
    const writes = new DeferredWrites();
    writes.add(upsertResource);
    expect(writes.attach("SELECT * FROM resources WHERE name = $1", ["a"])).toBeUndefined();
    expect(writes.holds("resources")).toBe(true);
    expect(writes.flush()).toEqual(["INSERT INTO resources (name) VALUES ($1)", ["a"]]);
    expect(writes.holds("resources")).toBe(false);
    expect(writes.flush()).toBeUndefined();
  });

  it("tell a table name from a longer one that contains it", () => {
    const writes = new DeferredWrites();
    writes.add({ table: "changes", sql: "UPDATE changes SET status = $1 WHERE id = $2", params: ["QUEUED", "c1"] });
    expect(writes.attach("INSERT INTO change_events (change_id) VALUES ($1)", ["c1"])?.[0]).toMatch(/^WITH w1 AS/);
  });

  it("flush several as one statement", () => {
    const writes = new DeferredWrites();
    writes.add(upsertResource);
    writes.add(insertJob);
    expect(writes.flush()).toEqual([
      "WITH w1 AS (INSERT INTO resources (name) VALUES ($1)), w2 AS (INSERT INTO jobs (change_id, seq) VALUES ($2, $3)) SELECT 1",
      ["a", "c1", 7],
    ]);
  });
});
