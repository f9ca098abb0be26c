import { ChangeStatus, ResourceStatus } from "@plinth/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, createTestService } from "../src/index.ts";

const brokenModule = new URL("./support/broken-plugins.ts", import.meta.url).href;
const exports = [
  "healthy",
  "programThrows",
  "programHangs",
  "malformedOutputs",
  "unserializableOutputs",
  "verifyThrows",
  "verifyHangs",
];

// Through a real service and the real Pulumi engine: a plugin that throws,
// hangs or returns malformed outputs while its change is applied fails that
// change with an error naming the plugin; the service and the store go on.
describe("a plugin that breaks during an apply", { timeout: 180_000 }, () => {
  let service: TestService;
  beforeAll(async () => {
    service = await createTestService({
      plugins: exports.map((name) => ({ module: brokenModule, export: name })),
      settings: { worker: { maxAttempts: 1, verifyTimeoutMs: 3_000 } },
      // A hung program is stopped after this long.
      engineTimeoutMs: 15_000,
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it.each([
    { type: "broken.throws", says: /bug in the program/ },
    { type: "broken.hangs", says: /did not finish within 15000 ms/ },
    { type: "broken.malformed", says: /malformed outputs: expected an object of outputs, got number/ },
    { type: "broken.unserializable", says: /output "size" is a bigint/ },
    { type: "broken.verifythrows", says: /bug in verify/ },
    { type: "broken.verifyhangs", says: /verify .*no answer within/ },
  ])("$type: the change fails naming the plugin; the service and the store go on", async ({ type, says }) => {
    const alice = service.client("requester");
    const applied = await alice.apply(type, "x", { size: 1 });
    const change = await alice.waitForChange(applied.change!.id);
    expect(ChangeStatus[change.status]).toBe("FAILED");
    expect(change.lastError).toContain(type);
    expect(change.lastError).toMatch(says);
    const resource = await alice.get(type, "x");
    expect(ResourceStatus[resource.status]).toBe("FAILED");
    // The same service still applies a healthy plugin's change.
    const healthy = await alice.apply("broken.none", `after-${type}`, { size: 2 });
    expect(ChangeStatus[(await alice.waitForChange(healthy.change!.id)).status]).toBe("SUCCEEDED");
    expect((await alice.get("broken.none", `after-${type}`)).outputs).toEqual({ size: 2 });
  });
});
