import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import type { EngineEvent, EngineRequest, JsonObject } from "../../../src/index.ts";

/** A fresh data directory inside the test run's scratch directory (removed by the global teardown). */
export function engineDataDir(): string {
  const parent = process.env.PLINTH_TEST_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, "plinth-engine-"));
}

const fixtures = new URL("../fixtures/test-topic-plugin.ts", import.meta.url).href;

/** An engine request for the test topic plugin; `events` collects what the engine streams. */
export function topicRequest(
  name: string,
  spec: JsonObject,
  settings: JsonObject,
  extra: Partial<EngineRequest> = {},
): EngineRequest & { events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  return {
    stackName: `test.topic--${name}`,
    type: "test.topic",
    name,
    plugin: { module: fixtures, exportName: "testTopicPlugin" },
    settings,
    resolvedSpec: spec,
    changeId: `change-${name}`,
    kind: "CREATE",
    attempt: 1,
    onEvent: (event) => events.push(event),
    ...extra,
    events,
  };
}

/** The same request shape for the plugin whose program throws. */
export function throwingRequest(name: string): EngineRequest {
  return {
    stackName: `test.throwing--${name}`,
    type: "test.throwing",
    name,
    plugin: { module: fixtures, exportName: "throwingPlugin" },
    settings: {},
    resolvedSpec: {},
    changeId: `change-${name}`,
    kind: "CREATE",
    attempt: 1,
  };
}

/** Partition count of a topic as an independent admin client sees it; undefined when it does not exist. */
export async function partitionsOnBroker(admin: Admin, topic: string): Promise<number | undefined> {
  if (!(await admin.listTopics()).includes(topic)) return undefined;
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  return metadata.topics.get(topic)?.partitionsCount;
}

export function createAdmin(bootstrapServers: string): Admin {
  return new Admin({ clientId: "engine-test-check", bootstrapBrokers: [bootstrapServers] });
}

/** Pids of live processes whose Pulumi state lives in `dataDir` (CLI, providers): Linux /proc. */
export function processesUsing(dataDir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (/^State:\s+Z/m.test(status)) continue;
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(`PULUMI_BACKEND_URL=file://${dataDir}/pulumi`)) {
        found.push(Number(entry));
      }
    } catch {
      // Gone, or not readable.
    }
  }
  return found;
}
