import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { expect, it } from "vitest";
import { parseServiceConfig, startPlinthService } from "../../src/index.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { clientsFor, principals, testConfig } from "../support/test-service.ts";

it("every log line names the replica that wrote it", async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    }),
  );
  const dataDir = mkdtempSync(join(tmpdir(), "plinth-logs-"));
  const service = await startPlinthService(parseServiceConfig(testConfig(dataDir), dataDir), {
    createEngine: () => createFakeEngine(),
    logger,
  });
  try {
    // Lines from the request path, the worker and the engine's children alike.
    await clientsFor(service.url, principals.requester.token).resources.applyResource({
      type: "test.widget",
      name: "logged",
      spec: { size: 1 },
    });
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  expect(lines.some((line) => line.msg === "plinth is serving")).toBe(true);
  const replicas = new Set(lines.map((line) => line.replica));
  expect(replicas.size).toBe(1);
  expect([...replicas][0]).toMatch(/^[^:]+:\d+:[0-9a-f]{8}$/);
});
