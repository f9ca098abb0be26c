import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { waitFor } from "@plinth/testing";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { sealedVerifyCalls } from "../support/sealed-widget-plugin.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

// A plugin's verify may need a secret output (postgres.database logs in with its generated password).
describe("verify is handed the secret outputs", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({
      config: {
        reconcile: { intervalMs: 50 },
        plugins: [
          { module: join(import.meta.dirname, "../support/sealed-widget-plugin.ts"), export: "sealedWidgetPlugin" },
        ],
      },
      engine: createFakeEngine({ preview: async () => ({ steps: { same: 1 }, destructive: false, details: {} }) }),
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it("after an apply, and in each reconcile round (opened from the store)", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.sealed",
      name: "box",
      spec: { size: 1 },
      requestId: "sealed-1",
    });
    const { change, messages } = await watchToEnd(alice, created.change!.id);
    expect(change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(messages).toContain("verified: the serial matches");

    const seen = sealedVerifyCalls().length;
    await waitFor(
      async () => {
        if (sealedVerifyCalls().length < seen + 2) throw new Error("no reconcile round yet");
      },
      { what: "two reconcile rounds", timeoutMs: 10_000 },
    );
    expect(sealedVerifyCalls().every((serial) => serial === "sn-box")).toBe(true);
    const { resource } = await alice.resources.getResource({ type: "test.sealed", name: "box" });
    expect(resource?.status).toBe(ResourceStatus.READY);
  });
});
