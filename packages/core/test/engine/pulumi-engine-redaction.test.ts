import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { type Engine, type EngineEvent, EngineError } from "../../src/index.ts";
import { engineDataDir } from "./support/engine-fixture.ts";

const passphrase = "redaction-test-passphrase";
const adminPassword = "admin-pw-7f3a9c1e";
const userPassword = "user-pw-b81d44e0";

describe("engine messages never carry a secret", () => {
  let engine: Engine;
  let dataDir: string;
  beforeAll(() => {
    dataDir = engineDataDir();
    engine = createPulumiEngine({ dataDir, passphrase });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("scrubs the settings' admin password and the resource's known secrets from a provider's error", async () => {
    const events: EngineEvent[] = [];
    const error = await engine
      .apply({
        stackName: "test.leaky--leaky-1",
        type: "test.leaky",
        name: "leaky-1",
        plugin: { module: new URL("./fixtures/leaky-plugin.ts", import.meta.url).href, exportName: "leakyPlugin" },
        settings: { admin: { user: "admin", password: adminPassword } },
        resolvedSpec: { currentPassword: userPassword },
        changeId: "change-leaky-1",
        kind: "CREATE",
        attempt: 1,
        secrets: [userPassword],
        onEvent: (event) => events.push(event),
      })
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(EngineError);
    const message = (error as EngineError).message;
    // The provider's words are kept, the values are not.
    expect(message).toContain("login failed for admin with password [secret]");
    const everything = JSON.stringify([message, events]);
    expect(everything).toContain("[secret]");
    for (const secret of [adminPassword, userPassword, passphrase]) expect(everything).not.toContain(secret);
  });

  it("keeps Pulumi's state and workspaces to the service's user: directories 0700, files 0600", () => {
    const open: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const mode = statSync(path).mode & 0o777;
        if (entry.isDirectory()) {
          if (mode !== 0o700) open.push(`${path} ${mode.toString(8)}`);
          walk(path);
        } else if (mode & 0o077) open.push(`${path} ${mode.toString(8)}`);
      }
    };
    walk(join(dataDir, "pulumi"));
    walk(join(dataDir, "pulumi-work"));
    expect(readdirSync(join(dataDir, "pulumi-work"))).toContain("test.leaky--leaky-1");
    expect(open).toEqual([]);
  });
});
