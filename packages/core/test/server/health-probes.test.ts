import { waitFor } from "@plinth/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

async function probe(service: TestService, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${service.url}${path}`);
  return { status: response.status, body: await response.text() };
}

describe("/healthz and /readyz", () => {
  let service: TestService | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await service?.close();
    service = undefined;
  });

  it("a serving server is alive and ready", async () => {
    service = await startTestService();
    expect(await probe(service, "/healthz")).toEqual({ status: 200, body: "ok\n" });
    expect(await probe(service, "/readyz")).toEqual({ status: 200, body: "ready\n" });
  });

  it("once the store refuses further work, both answer 503 with the store's reason", async () => {
    service = await startTestService();
    const reason = "the store could not sync its files to disk; restart the server: EIO";
    vi.spyOn(service.store, "refusal").mockReturnValue(reason);
    expect(await probe(service, "/healthz")).toEqual({ status: 503, body: `unhealthy: ${reason}\n` });
    expect(await probe(service, "/readyz")).toEqual({ status: 503, body: `not ready: ${reason}\n` });
  });

  it("while it drains an in-flight change on shutdown, it is alive but not ready", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const applying = new Promise<void>((resolve) => (started = resolve));
    const engine = createFakeEngine({
      // Ignores the worker's abort: an apply that takes its time to finish or park.
      apply: async (request) => {
        started();
        await released;
        return { outputs: { name: request.name }, secretOutputs: {} };
      },
    });
    const draining = await startTestService({ engine });
    service = draining;
    const alice = draining.as("requester");
    await alice.resources.applyResource({
      type: "test.widget",
      name: "slow",
      spec: { size: 1 },
      requestId: "slow",
    });
    await applying;
    const closing = draining.close();
    service = undefined;
    await waitFor(
      async () => expect(await probe(draining, "/readyz")).toEqual({ status: 503, body: "not ready: shutting down\n" }),
      { what: "/readyz to report the shutdown", timeoutMs: 10_000 },
    );
    expect(await probe(draining, "/healthz")).toEqual({ status: 200, body: "ok\n" });
    release();
    await closing;
    await expect(fetch(`${draining.url}/readyz`)).rejects.toThrow();
  });
});
