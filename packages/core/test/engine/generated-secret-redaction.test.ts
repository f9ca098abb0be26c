import { readFileSync } from "node:fs";
import { join } from "node:path";
import { engineDataDir } from "./support/engine-fixture.ts";
import { ChangeStatus, isFinalChangeStatus } from "@plinth/sdk";
import { createTestService, waitFor } from "@plinth/testing";
import { expect, it } from "vitest";

// Issue 28: scrubbing knew only the secrets already recorded (settings, stored
// secret outputs), so a create that failed with its freshly generated password
// in the message put that password into the change's last_error, its events
// and the service's log. A provider's generatePassword now tells the engine
// before the value is used.
it(
  "scrubs a password generated during the failing operation from last_error, events and the service log",
  { timeout: 300_000 },
  async () => {
    const dir = engineDataDir();
    const file = join(dir, "password.txt");
    const service = await createTestService({
      plugins: [
        {
          module: new URL("./fixtures/fresh-password-plugin.ts", import.meta.url).href,
          export: "freshPasswordPlugin",
        },
      ],
      settings: { worker: { maxAttempts: 1 } },
    });
    try {
      const requester = service.client("requester");
      const { change } = await requester.apply("test.freshpassword", "fresh-1", { file });
      const id = change?.id ?? "";
      const ended = await waitFor(
        async () => {
          const answer = await requester.changes.getChange({ id });
          if (!answer.change || !isFinalChangeStatus(answer.change.status)) throw new Error("still running");
          return answer;
        },
        { what: "the failing create to end", timeoutMs: 240_000 },
      );
      expect(ChangeStatus[ended.change?.status ?? 0]).toBe("FAILED");
      const password = readFileSync(file, "utf8");
      expect(password.length).toBeGreaterThan(16);
      const lastError = ended.change?.lastError ?? "";
      // The provider's words are kept, the value is not.
      expect(lastError).toContain("ALTER ROLE app PASSWORD '[secret]'");
      expect(lastError).not.toContain(password);
      const events = JSON.stringify(ended.events.map((event) => event.message));
      expect(events).toContain("[secret]");
      expect(events).not.toContain(password);
      expect(service.logs()).toContain("ALTER ROLE app PASSWORD");
      expect(service.logs()).not.toContain(password);
    } finally {
      await service.close();
    }
  },
);
