import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ApplyResourceResponseSchema, ChangeSchema, ChangeStatus, changeStatusName, plainJson } from "../src/index.ts";

describe("plainJson", () => {
  it("prints a response as plain JSON with enum names, no $typeName, and defaults present", () => {
    const response = create(ApplyResourceResponseSchema, {
      change: create(ChangeSchema, { id: "ch-1", status: ChangeStatus.PENDING_REVIEW, baseRevision: 3n }),
      noOp: true,
    });
    const json = plainJson(ApplyResourceResponseSchema, response) as Record<string, Record<string, unknown>>;
    expect(JSON.stringify(json)).not.toContain("$typeName");
    expect(json.change).toMatchObject({ id: "ch-1", status: "CHANGE_STATUS_PENDING_REVIEW", baseRevision: "3" });
    expect(json).toMatchObject({ noOp: true, deduplicated: false });
    expect(changeStatusName(ChangeStatus.SUCCEEDED)).toBe("SUCCEEDED");
  });
});
