import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, principals, startTestService } from "../support/test-service.ts";

describe("IdentityService.WhoAmI", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });
  const identity = (token?: string) =>
    createClient(
      IdentityService,
      createConnectTransport({
        baseUrl: service.url,
        httpVersion: "1.1",
        interceptors: [
          (next) => async (req) => {
            if (token) req.header.set("authorization", `Bearer ${token}`);
            return await next(req);
          },
        ],
      }),
    );

  it("tells each caller who they are: id, team and roles", async () => {
    expect(await identity(principals.requester.token).whoAmI({})).toMatchObject({
      id: "alice",
      team: "payments",
      roles: ["requester"],
    });
    expect(await identity(principals.reviewer2.token).whoAmI({})).toMatchObject({
      id: "raj",
      team: "platform",
      roles: ["reviewer", "requester"],
    });
  });

  it("refuses a missing or unknown token", async () => {
    for (const token of [undefined, "not-a-token"]) {
      const error = await identity(token)
        .whoAmI({})
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(error?.code).toBe(Code.Unauthenticated);
    }
  });
});
