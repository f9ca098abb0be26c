import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { BadRequestSchema } from "@plinth/sdk/gen/google/rpc/error_details_pb.ts";
import { describe, expect, it } from "vitest";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ChangeSchema } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { appliedPerHour, percentile, shortDuration } from "../src/applied-per-hour.ts";
import { describeError } from "../src/errors.ts";
import { diffRows, flatten, shortChangeId, specRows } from "../src/format.ts";
import { summaryValue } from "../src/summary-format.ts";

describe("describeError", () => {
  it("turns API codes into sentences a person can act on", () => {
    expect(describeError(new ConnectError("nobody reviews their own change", Code.PermissionDenied))).toBe(
      "You are not allowed to do this: nobody reviews their own change.",
    );
    expect(describeError(new ConnectError("fetch failed", Code.Unavailable))).toBe(
      "The Plinth server cannot be reached right now. Check your connection and try again.",
    );
    expect(describeError(new TypeError("Failed to fetch"))).toContain("Failed to fetch");
  });

  it("names the fields of a bad request", () => {
    const error = new ConnectError("invalid", Code.InvalidArgument, undefined, [
      {
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: [{ field: "comment", description: "is required to reject a change: say why" }],
        }),
      },
    ]);
    expect(describeError(error)).toBe("The request was not accepted: comment is required to reject a change: say why.");
  });
});

describe("diffRows", () => {
  it("pairs two specs by leaf path, marking what was added, removed or changed", () => {
    expect(diffRows({ a: 1, b: { c: "x", d: true } }, { a: 2, b: { c: "x" }, e: [1] })).toEqual([
      { path: "a", before: 1, after: 2, op: "changed" },
      { path: "b.c", before: "x", after: "x", op: "same" },
      { path: "b.d", before: true, after: undefined, op: "removed" },
      { path: "e", before: undefined, after: [1], op: "added" },
    ]);
    expect(diffRows({ a: 1 }, undefined)).toEqual([{ path: "a", before: 1, after: undefined, op: "removed" }]);
  });
});

describe("what a resource page lists (issue 27)", () => {
  it("lists no row for empty outputs (a resource page showed a raw `{}`)", () => {
    expect([...flatten({}).entries()]).toEqual([]);
    expect([...flatten({ a: {} }).entries()]).toEqual([["a", {}]]);
  });

  it("lists a spec leaf by leaf, list items by index, as grants name their fields", () => {
    const user = { cluster: "local", access: [{ topics: { prefix: "orders." }, operations: "read" }], tags: [] };
    expect(specRows(user)).toEqual([
      ["cluster", "local"],
      ["access.0.topics.prefix", "orders."],
      ["access.0.operations", "read"],
      ["tags", []],
    ]);
  });

  it("shortens a change id to its random tail: ids of one minute start alike", () => {
    const a = "chg_019afc3e5c1b7d2e8f00aabbccdd0011";
    const b = "chg_019afc3e5c1b7d2e8f00aabbccdd2233";
    expect(shortChangeId(a)).toBe("…ccdd0011");
    expect(shortChangeId(a)).not.toBe(shortChangeId(b));
  });
});

describe("appliedPerHour", () => {
  const at = (iso: string) => timestampFromDate(new Date(iso));
  const succeeded = (submitted: string, finished: string) =>
    create(ChangeSchema, { createTime: at(submitted), finishTime: at(finished) });

  it("counts each change in the hour it finished, over the 24 hours ending with the current one", () => {
    const now = Date.parse("2026-12-07T10:30:00Z");
    const applied = appliedPerHour(
      [
        succeeded("2026-12-06T10:59:00Z", "2026-12-06T10:59:59Z"), // before the first hour: left out
        succeeded("2026-12-06T11:00:00Z", "2026-12-06T11:00:01Z"), // the first hour
        succeeded("2026-12-07T10:00:00Z", "2026-12-07T10:00:02Z"), // the current hour
        succeeded("2026-12-07T10:00:00Z", "2026-12-07T10:00:10Z"),
      ],
      now,
    );
    expect(applied.hours).toHaveLength(24);
    expect(new Date(applied.hours[0]!.start).toISOString()).toBe("2026-12-06T11:00:00.000Z");
    expect(applied.hours.map((h) => h.count)).toEqual([1, ...Array<number>(22).fill(0), 2]);
    expect(applied.total).toBe(3);
    expect(applied.hours[23]).toMatchObject({ medianMs: 2_000, p95Ms: 10_000 });
    expect(applied).toMatchObject({ medianMs: 2_000, p95Ms: 10_000 });
  });

  it("has no median or p95 for a day without changes", () => {
    const applied = appliedPerHour([], Date.now());
    expect(applied).toMatchObject({ total: 0, medianMs: undefined, p95Ms: undefined });
    expect(shortDuration(applied.medianMs)).toBe("none");
  });

  it("takes the nearest rank", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
  });
});

describe("summaryValue (a resource summary's numbers, issue 27)", () => {
  it("writes bytes in binary units with the exact count, and other units as plain numbers", () => {
    expect(summaryValue(3_813, "bytes")).toBe("3.7 KiB (3,813 bytes)");
    expect(summaryValue(512, "bytes")).toBe("512 bytes");
    expect(summaryValue(7_667_047, "bytes")).toBe("7.3 MiB (7,667,047 bytes)");
    expect(summaryValue(3, "count")).toBe("3");
    expect(summaryValue(1_200, "messages")).toBe("1,200 messages");
    expect(summaryValue(90, "seconds")).toBe("1 min");
  });
});
