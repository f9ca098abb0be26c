import { Code } from "@connectrpc/connect";
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

describe("secret outputs", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "secretive",
      spec: { size: 1 },
      requestId: "s1",
    });
    await watchToEnd(alice, created.change!.id);
  });
  afterAll(async () => {
    await service?.close();
  });

  it("are encrypted at rest: the database file never holds the value", () => {
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      const dump =
        JSON.stringify(db.prepare("SELECT * FROM resources").all()) +
        JSON.stringify(db.prepare("SELECT * FROM revisions").all());
      expect(dump).not.toContain("sn-secretive");
    } finally {
      db.close();
    }
  });

  it("are revealed to the owning team and to admins, and every reveal is audited", async () => {
    const byOwner = await service
      .as("teammate")
      .resources.revealSecret({ type: "test.widget", name: "secretive", key: "serial" });
    expect(byOwner.value?.kind).toEqual({ case: "stringValue", value: "sn-secretive" });
    const byAdmin = await service
      .as("admin")
      .resources.revealSecret({ type: "test.widget", name: "secretive", key: "serial" });
    expect(byAdmin.value?.kind.value).toBe("sn-secretive");
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      const audit = db
        .prepare("SELECT principal, action, target FROM audit_log WHERE action LIKE 'reveal-%' ORDER BY id")
        .all();
      expect(audit).toEqual([
        { principal: "amir", action: "reveal-secret", target: "test.widget/secretive#serial" },
        { principal: "ada", action: "reveal-secret", target: "test.widget/secretive#serial" },
      ]);
    } finally {
      db.close();
    }
  });

  it.each([
    { reason: "another team", who: "outsider" as const, key: "serial", code: Code.PermissionDenied },
    { reason: "a reviewer outside the team", who: "reviewer" as const, key: "serial", code: Code.PermissionDenied },
    { reason: "an unknown key", who: "requester" as const, key: "nope", code: Code.NotFound },
    { reason: "no key", who: "requester" as const, key: "", code: Code.InvalidArgument },
  ])("are refused to $reason", async ({ who, key, code }) => {
    expect(
      (await failure(service.as(who).resources.revealSecret({ type: "test.widget", name: "secretive", key }))).code,
    ).toBe(code);
  });

  it("audit refused reveals too, with who asked and whose resource it was", async () => {
    await failure(
      service.as("outsider").resources.revealSecret({ type: "test.widget", name: "secretive", key: "serial" }),
    );
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      const denied = db
        .prepare("SELECT principal, target, details FROM audit_log WHERE action = 'reveal-secret-denied' ORDER BY id")
        .all() as { principal: string; target: string; details: string }[];
      expect(denied.at(-1)).toMatchObject({ principal: "olga", target: "test.widget/secretive#serial" });
      expect(JSON.parse(denied.at(-1)!.details)).toEqual({ ownerTeam: "payments", team: "search" });
    } finally {
      db.close();
    }
  });
});
