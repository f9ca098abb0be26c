import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnginePreview } from "../../src/index.ts";
import { watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

describe("drift", () => {
  // What the fake "real system" holds, per widget: the size it really has.
  const reality = new Map<string, number>();
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({
      config: { reconcile: { intervalMs: 50 } },
      engine: createFakeEngine({
        apply: async (request) => {
          reality.set(request.name, Number(request.resolvedSpec.size));
          return { outputs: {}, secretOutputs: {} };
        },
        preview: async (request): Promise<EnginePreview> => {
          const real = reality.get(request.name);
          const differs = request.refresh && real !== undefined && real !== request.resolvedSpec.size;
          return { steps: differs ? { update: 1 } : { same: 1 }, destructive: false, details: {} };
        },
      }),
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  const statusOf = async (name: string) =>
    (await service.as("requester").resources.getResource({ type: "test.widget", name })).resource!;

  it("is detected by the periodic reconcile and repaired by ReconcileResource", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "drifty",
      spec: { size: 5 },
      requestId: "d1",
    });
    await watchToEnd(alice, created.change!.id);

    reality.set("drifty", 9); // someone changed it by hand
    const drifted = await waitFor(
      async () => {
        const resource = await statusOf("drifty");
        if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${resource.status}`);
        return resource;
      },
      { what: "drift detection", timeoutMs: 10_000 },
    );
    expect(drifted.drift?.findings.join(" ")).toContain("update 1");

    const repair = await alice.resources.reconcileResource({ type: "test.widget", name: "drifty", requestId: "d2" });
    expect(repair.change?.comment).toBe("reconcile: re-apply revision 1");
    const done = await watchToEnd(alice, repair.change!.id);
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(reality.get("drifty")).toBe(5);
    const repaired = await statusOf("drifty");
    expect(repaired.status).toBe(ResourceStatus.READY);
    expect(repaired.drift).toBeUndefined();
    expect(repaired.revision).toBe(2n);
  });

  it("clears DRIFTED by itself when reality comes back", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "returns",
      spec: { size: 5 },
      requestId: "r1",
    });
    await watchToEnd(alice, created.change!.id);
    reality.set("returns", 6);
    await waitFor(
      async () => {
        if ((await statusOf("returns")).status !== ResourceStatus.DRIFTED) throw new Error("not drifted yet");
      },
      { what: "drift", timeoutMs: 10_000 },
    );
    reality.set("returns", 5);
    await waitFor(
      async () => {
        if ((await statusOf("returns")).status !== ResourceStatus.READY) throw new Error("still drifted");
      },
      { what: "recovery", timeoutMs: 10_000 },
    );
  });
});

describe("drift checks wait for changes", () => {
  const reality = new Map<string, number>();
  // When the reconciler's full checks (refreshing previews named reconcile-*) started.
  const checks: number[] = [];
  let releaseApply: () => void = () => undefined;
  let applying: Promise<void> = Promise.resolve();
  let heldEnded = 0;
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({
      config: { reconcile: { intervalMs: 50 } },
      engine: createFakeEngine({
        apply: async (request) => {
          if (request.name === "held") {
            await applying;
            heldEnded = Date.now();
          }
          reality.set(request.name, Number(request.resolvedSpec.size));
          return { outputs: {}, secretOutputs: {} };
        },
        preview: async (request): Promise<EnginePreview> => {
          if (request.changeId.startsWith("reconcile-")) checks.push(Date.now());
          const real = reality.get(request.name);
          const differs = request.refresh && real !== undefined && real !== request.resolvedSpec.size;
          return { steps: differs ? { update: 1 } : { same: 1 }, destructive: false, details: {} };
        },
      }),
    });
  });
  afterAll(async () => {
    releaseApply();
    await service?.close();
  });

  it("starts no full check while a change is in the engine, nor within a second of its end", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "suspect",
      spec: { size: 5 },
      requestId: "s1",
    });
    await watchToEnd(alice, created.change!.id);
    reality.set("suspect", 9); // DRIFTED from now on: checked in full every round
    await waitFor(
      async () => {
        const { resource } = await alice.resources.getResource({ type: "test.widget", name: "suspect" });
        if (resource?.status !== ResourceStatus.DRIFTED) throw new Error("not drifted yet");
      },
      { what: "drift", timeoutMs: 10_000 },
    );

    applying = new Promise((resolve) => (releaseApply = resolve));
    const held = await alice.resources.applyResource({
      type: "test.widget",
      name: "held",
      spec: { size: 1 },
      requestId: "h1",
    });
    await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: held.change!.id });
        if (change?.status !== ChangeStatus.APPLYING) throw new Error(`still ${ChangeStatus[change?.status ?? 0]}`);
      },
      { what: "the held change applying", timeoutMs: 10_000 },
    );
    const before = checks.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // 30 rounds' worth at 50 ms
    // At most the one that may have been under way as the change came.
    expect(checks.length - before).toBeLessThanOrEqual(1);
    releaseApply();
    expect((await watchToEnd(alice, held.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const next = await waitFor(
      async () => {
        const after = checks.find((at) => at > heldEnded);
        if (after === undefined) throw new Error("no check since");
        return after;
      },
      { what: "checks again once the change is done", timeoutMs: 10_000 },
    );
    expect(next - heldEnded).toBeGreaterThanOrEqual(1_000);
  });
});
