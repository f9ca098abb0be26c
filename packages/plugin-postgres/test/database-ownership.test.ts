import { join } from "node:path";
import { ChangeStatus, Code, ConnectError } from "@plinth/sdk";
import { type PostgresServer, type TestService, createTestService, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../src/resource-types.ts";
import { localSettings } from "./support/fixtures.ts";

const pluginModule = join(import.meta.dirname, "../src/index.ts");

const code = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error("expected a refusal");
    },
    (error: unknown) => ConnectError.from(error),
  );

// The spec's team is the database's owning team, as kafka's owner.team is: real server, engine and PostgreSQL.
describe("postgres.database is owned by the team its spec names (issue 13)", { timeout: 300_000 }, () => {
  let server: PostgresServer;
  let service: TestService;
  beforeAll(async () => {
    server = await startPostgres();
    const settings = localSettings(server);
    settings.instances.local!.quotas = { default: {}, teams: { search: { databases: 1 } } };
    service = await createTestService({
      plugins: [{ module: pluginModule, export: "postgresDatabase", settings }],
    });
  });
  afterAll(async () => {
    await service?.close();
    await server?.stop();
  });

  const apply = (who: string, name: string, team: string | undefined, requestId: string) =>
    service.client(who).resources.applyResource({
      type: "postgres.database",
      name,
      spec: { instance: "local", ...(team && { team }) },
      requestId,
    });

  it("refuses a requester naming another team; gives an admin's database to the team it names, within its quota", async () => {
    const forged = await code(apply("requester", "search_forged", "search", "forged-1"));
    expect(forged.code).toBe(Code.PermissionDenied);
    expect(forged.rawMessage).toContain("a requester creates resources for its own team only");
    expect((await service.client("admin").resources.listResources({ type: "postgres.database" })).resources).toEqual(
      [],
    );

    const made = await apply("admin", "search_db", "search", "search-db-1");
    expect(made.resource?.ownerTeam).toBe("search");
    expect((await service.client("outsider").waitForChange(made.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    // Reveal and change rights are search's, not the admin's team's nor payments'.
    const { value } = await service
      .client("outsider")
      .resources.revealSecret({ type: "postgres.database", name: "search_db", key: "password" });
    expect(value?.kind.case).toBe("stringValue");
    expect(
      (
        await code(
          service
            .client("requester")
            .resources.revealSecret({ type: "postgres.database", name: "search_db", key: "password" }),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    expect((await code(apply("requester", "search_db", "payments", "grab-1"))).code).toBe(Code.PermissionDenied);

    // search may have one database on this instance.
    const over = await code(apply("outsider", "search_db2", undefined, "search-db-2"));
    expect(over.code).toBe(Code.ResourceExhausted);
    expect(over.rawMessage).toContain('team search is over its postgres.database quota on "local": databases');

    // Naming another team on an update is a transfer that the receiving team approves.
    const transfer = await apply("outsider", "search_db", "payments", "transfer-1");
    expect(transfer.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(transfer.change?.accessRequests).toEqual([
      expect.objectContaining({ field: "owner.team", ownerTeam: "payments", requesterTeam: "search" }),
    ]);
    await service.client("outsider").changes.cancelChange({ id: transfer.change!.id, comment: "only showing" });
  });
});
