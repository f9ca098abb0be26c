import { describe, expect, it } from "vitest";
import { createChangeIdSource } from "../../src/server/change-ids.ts";

describe("change ids", () => {
  it("are chg_ and a version 7 UUID in hex, unique across many pool refills", () => {
    const next = createChangeIdSource();
    const ids = Array.from({ length: 5_000 }, next);
    for (const id of ids) expect(id).toMatch(/^chg_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("sort by creation time, so new rows append to their indexes", () => {
    const next = createChangeIdSource();
    // UUIDv7 orders by millisecond; ids made within one millisecond may come in any order.
    // So the second id is made in a later millisecond than the first one was made in.
    const first = next();
    const firstMadeBy = Date.now();
    while (Date.now() <= firstMadeBy) next();
    const second = next();
    expect(first < second).toBe(true);
  });
});
