import { Agent, request } from "node:http";
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

  it("checks every request's token, also when one connection sends several", async () => {
    // One keep-alive connection, as a proxy carrying several callers would use it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const whoAmI = (token: string | undefined) =>
      new Promise<{ status: number; body: { id?: string; code?: string }; reused: boolean }>((resolve, reject) => {
        const call = request(
          `${service.url}/plinth.v1.IdentityService/WhoAmI`,
          {
            method: "POST",
            agent,
            headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          },
          (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (text += chunk));
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                body: JSON.parse(text) as { id?: string; code?: string },
                reused: call.reusedSocket,
              }),
            );
          },
        );
        call.on("error", reject);
        call.end("{}");
      });
    try {
      const answers = [];
      for (const token of [
        principals.requester.token,
        principals.requester.token,
        "not-a-token",
        principals.requester.token,
        undefined,
        principals.reviewer2.token,
        principals.requester.token,
      ]) {
        answers.push(await whoAmI(token));
      }
      expect(answers.map((a) => a.body.id ?? a.body.code)).toEqual([
        "alice",
        "alice",
        "unauthenticated",
        "alice",
        "unauthenticated",
        "raj",
        "alice",
      ]);
      expect(answers.slice(1).every((a) => a.reused)).toBe(true);
    } finally {
      agent.destroy();
    }
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
