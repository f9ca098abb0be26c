import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, Code, ConnectError, createPlinthClient, fieldViolations } from "../src/index.ts";
import { createFakePlinth } from "./support/fake-plinth.ts";

describe("fieldViolations", () => {
  it("decodes google.rpc.BadRequest details sent over the wire", async () => {
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: createFakePlinth().transport,
    });

    const error = await client.apply("test.widget", "orders", { size: 0 }).catch((e: unknown) => e);

    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect(fieldViolations(error)).toEqual([
      { field: "spec.size", description: "must be an integer of at least 1", reason: expect.any(String) },
    ]);
  });

  it.each([
    {
      reason: "every violation of every BadRequest detail, in order, with its reason",
      error: new ConnectError("bad", Code.InvalidArgument, undefined, [
        {
          desc: BadRequestSchema,
          value: create(BadRequestSchema, {
            fieldViolations: [
              { field: "name", description: "too long", reason: "TOO_LONG" },
              { field: "spec.partitions", description: "at least 1" },
            ],
          }),
        },
      ]),
      expected: [
        { field: "name", description: "too long", reason: "TOO_LONG" },
        { field: "spec.partitions", description: "at least 1", reason: "" },
      ],
    },
    { reason: "a ConnectError without details", error: new ConnectError("bad", Code.InvalidArgument), expected: [] },
    { reason: "not a ConnectError", error: new Error("bad"), expected: [] },
    { reason: "not an error at all", error: "bad", expected: [] },
  ])("$reason", ({ error, expected }) => {
    expect(fieldViolations(error)).toEqual(expected);
  });
});
