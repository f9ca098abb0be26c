import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { describeStoreContract } from "./store-contract.ts";

describeStoreContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "plinth-store-"));
  const path = join(dir, "plinth.db");
  return {
    store: createSqliteStore({ path }),
    reopen: async () => createSqliteStore({ path }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
