import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type Delivery, DeliveryStatus } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { freePort, waitFor } from "@plinth/testing";
import { afterEach, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { type Clients, clientsFor, principals } from "../support/test-service.ts";
import { WebhookReceiver, signatureVerifies } from "../support/webhook-receiver.ts";

const serverScript = join(import.meta.dirname, "../support/fake-engine-server.ts");
const children: ChildProcess[] = [];
const secret = "kill-test-secret-0123456789";

async function startServerProcess(dataDir: string, overrides: object): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", serverScript, dataDir, join(dataDir, "journal.ndjson"), "20", "-", JSON.stringify(overrides)],
    { cwd: join(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => line.startsWith("READY ") && resolve(line.slice(6)));
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready`)));
  });
  return { url, child };
}

async function deliveriesOf(clients: Clients, changeIds: string[]): Promise<Delivery[]> {
  const all = await Promise.all(
    changeIds.map(async (changeId) => (await clients.notifications.listDeliveries({ changeId })).deliveries),
  );
  return all.flat();
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

describe("webhooks across a receiver outage and a killed server", () => {
  it("delivers every event at least once, a duplicate always with the same event id", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-notify-kill-"));
    // Down at first: nothing listens on its port yet.
    const hooks = new WebhookReceiver(await freePort());
    const overrides = {
      notifications: {
        delivery: { pollMs: 50, timeoutMs: 1_000, retryBaseMs: 50, retryMaxMs: 400 },
        // The receiver is on loopback, which webhooks reach only when allowed.
        allowedTargets: ["127.0.0.1"],
        subscriptions: [{ id: "everything", url: hooks.url("/events"), secret, ownerTeam: "payments" }],
      },
    };
    try {
      const first = await startServerProcess(dataDir, overrides);
      const alice = clientsFor(first.url, principals.requester.token);
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { change } = await alice.resources.applyResource({
          type: "test.widget",
          name: `notify-kill-${i}`,
          spec: { size: 1 },
        });
        ids.push(change!.id);
      }
      for (const id of ids) expect((await watchToEnd(alice, id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      // Submitted and succeeded, for each change; every one tried at least once against the dead port.
      await waitFor(
        async () => {
          // An admin sees the network's reason; the owner team only that delivery failed.
          const deliveries = await deliveriesOf(clientsFor(first.url, principals.admin.token), ids);
          expect(deliveries).toHaveLength(12);
          for (const d of deliveries) {
            expect(d.status).toBe(DeliveryStatus.PENDING);
            expect(d.lastError).toMatch(/^could not reach the receiver/);
          }
          for (const d of await deliveriesOf(alice, ids))
            expect(d.lastError).toBe("delivery failed (an admin sees why)");
        },
        { what: "every delivery refused once", timeoutMs: 30_000 },
      );

      // The receiver comes up but takes requests without ever answering; the server is killed meanwhile.
      hooks.answer = () => "hang";
      await hooks.start();
      await waitFor(
        async () => {
          if (hooks.received.length < 3) throw new Error(`${hooks.received.length} requests held`);
        },
        { what: "requests held by the receiver", timeoutMs: 30_000 },
      );
      first.child.kill("SIGKILL");
      await new Promise((resolve) => first.child.once("exit", resolve));
      const heldBeforeKill = new Set(hooks.received.map((r) => String(r.json.id)));

      hooks.answer = () => 204;
      const second = await startServerProcess(dataDir, overrides);
      const after = clientsFor(second.url, principals.requester.token);
      const deliveries = await waitFor(
        async () => {
          const now = await deliveriesOf(after, ids);
          for (const d of now) expect(d.status).toBe(DeliveryStatus.DELIVERED);
          return now;
        },
        { what: "every delivery acknowledged after the restart", timeoutMs: 60_000 },
      );

      const eventIds = deliveries.map((d) => d.eventId);
      expect(new Set(eventIds).size).toBe(12);
      const bodies = new Map<string, Set<string>>();
      for (const request of hooks.received) {
        expect(signatureVerifies(secret, request)).toBe(true);
        const id = String(request.json.id);
        bodies.set(id, (bodies.get(id) ?? new Set()).add(request.body));
      }
      // At least once: every event arrived...
      for (const id of eventIds) expect(bodies.has(id)).toBe(true);
      // ...the ones held at the kill arrived again, and every copy of an event is the same event.
      for (const id of heldBeforeKill) {
        expect(hooks.received.filter((r) => r.json.id === id).length).toBeGreaterThanOrEqual(2);
      }
      for (const copies of bodies.values()) expect(copies.size).toBe(1);
    } finally {
      await hooks.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
