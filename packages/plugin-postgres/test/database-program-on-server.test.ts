import { type PostgresServer, startPostgres } from "@plinth/testing";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseSpec, type DatabaseSpecInput, type PostgresSettings, postgresDatabase } from "../src/index.ts";
import { adminPassword, connectionProps } from "../src/index.ts";
import { providerModule } from "../src/provider-module.ts";
import { localSettings, silent } from "./support/fixtures.ts";
import { createLocalStack } from "./support/local-stack.ts";
import { adminQuery, loginAs as loginAsOn } from "./support/server-queries.ts";

/** Steps other than "same" in a preview: an apply followed by a preview must leave none. */
function pendingSteps(summary: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(summary).filter(([op, count]) => op !== "same" && (count ?? 0) > 0),
  ) as Record<string, number>;
}

// The plugin's own program through the real chain: Automation API → pulumi CLI →
// dynamic provider host → PostgreSQL, each step checked by the plugin's verify.
describe("postgres.database program on a real server", () => {
  let server: PostgresServer;
  let settings: PostgresSettings;
  beforeAll(async () => {
    server = await startPostgres();
    settings = localSettings(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const resolve = (name: string, input: Partial<DatabaseSpecInput> = {}): DatabaseSpec =>
    postgresDatabase.defaults!(name, postgresDatabase.spec.parse({ instance: "local", ...input }), {
      settings,
      logger: silent,
    }).spec;
  const use = (stack: Stack, name: string, spec: DatabaseSpec) => {
    stack.workspace.program = async () => postgresDatabase.program({ name, spec, settings });
  };
  const verify = (name: string, spec: DatabaseSpec, password: string) =>
    postgresDatabase.verify!({ name, spec, outputs: {}, secretOutputs: { password }, settings });

  const admin = <T>(sql: string, params: unknown[] = []) => adminQuery<T>(server, sql, params);
  const loginAs = (user: string, password: string, database: string) => loginAsOn(server, user, password, database);

  it("creates, re-applies as a no-op, updates, rotates, notices drift and destroys", async () => {
    const name = "orders";
    const created = resolve(name, { extensions: ["pgcrypto"] });
    const stack = await createLocalStack(name, async () => postgresDatabase.program({ name, spec: created, settings }));

    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.password?.secret).toBe(true);
    expect(up.outputs.uri?.secret).toBe(true);
    const password = up.outputs.password?.value as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(up.outputs).toMatchObject({ database: { value: "orders" }, owner: { value: "orders_owner" } });
    expect(await loginAs("orders_owner", password, "orders")).toBe("orders_owner");
    expect(await verify(name, created, password)).toMatchObject({ ready: true });
    // The password never reaches the server as text: it stores a SCRAM verifier.
    const [stored] = await admin<{ rolpassword: string }>(
      "select rolpassword from pg_authid where rolname = 'orders_owner'",
    );
    expect(stored?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);

    expect(pendingSteps((await stack.preview({ refresh: true })).changeSummary)).toEqual({});
    const again = await stack.up({ refresh: true });
    expect(again.outputs.password?.value).toBe(password);

    const grown = resolve(name, { extensions: ["citext", "pgcrypto"], connectionLimit: 30 });
    use(stack, name, grown);
    const update = await stack.up({ refresh: true });
    expect(update.summary.resourceChanges?.update).toBe(1);
    expect(update.outputs.password?.value).toBe(password);
    expect(await verify(name, grown, password)).toMatchObject({ ready: true });

    const rotated = { ...grown, rotation: 1 };
    use(stack, name, rotated);
    const rotation = await stack.up({ refresh: true });
    const newPassword = rotation.outputs.password?.value as string;
    expect(newPassword).not.toBe(password);
    await expect(loginAs("orders_owner", password, "orders")).rejects.toMatchObject({ code: "28P01" });
    expect(await loginAs("orders_owner", newPassword, "orders")).toBe("orders_owner");
    expect(await verify(name, rotated, newPassword)).toMatchObject({ ready: true });

    await admin('alter database "orders" connection limit 3');
    expect(pendingSteps((await stack.preview({ refresh: true })).changeSummary)).toEqual({ update: 1 });
    expect(await verify(name, rotated, newPassword)).toMatchObject({ ready: false });
    await stack.up({ refresh: true });
    expect(await verify(name, rotated, newPassword)).toMatchObject({ ready: true });

    // Dropped by hand: the refresh reads it as gone, and the next apply makes it again, with a new password.
    await admin('drop database "orders" with (force)');
    expect(pendingSteps((await stack.preview({ refresh: true })).changeSummary)).toEqual({ create: 1 });
    const remade = await stack.up({ refresh: true });
    const remadePassword = remade.outputs.password?.value as string;
    expect(await loginAs("orders_owner", remadePassword, "orders")).toBe("orders_owner");
    expect(await verify(name, rotated, remadePassword)).toMatchObject({ ready: true });

    await stack.destroy();
    expect(await postgresDatabase.verifyGone!({ name, spec: rotated, outputs: {}, settings })).toMatchObject({
      ready: true,
    });
  });

  describe("the dynamic provider, called directly: every step converges when repeated", () => {
    const provider = () => providerModule.databaseProvider;
    const inputs = (database: string, owner = `${database}_owner`) => {
      const instance = settings.instances.local!;
      return {
        connection: connectionProps(instance),
        adminPassword: adminPassword("local", instance),
        instance: "local",
        database,
        owner,
        connectionLimit: 5,
        extensions: ["citext"],
        rotation: 0,
      };
    };

    it("a create retried after a crash (its result never recorded) takes over what the first attempt made", async () => {
      const first = await provider().create(inputs("retried"));
      const second = await provider().create(inputs("retried"));
      expect(second.id).toBe("retried");
      const password = (second.outs as { password: string }).password;
      expect(password).not.toBe((first.outs as { password: string }).password);
      expect(await loginAs("retried_owner", password, "retried")).toBe("retried_owner");
      await provider().delete!("retried", second.outs);
      await provider().delete!("retried", second.outs);
      expect(await admin("select 1 from pg_database where datname = 'retried'")).toEqual([]);
      expect(await admin("select 1 from pg_roles where rolname = 'retried_owner'")).toEqual([]);
    });

    it("a create cut short after CREATE DATABASE (not yet marked) resumes: the database belongs to our role", async () => {
      const made = await provider().create(inputs("halfway"));
      await admin('comment on database "halfway" is null');
      const resumed = await provider().create(inputs("halfway"));
      expect(resumed.id).toBe("halfway");
      await provider().delete!("halfway", made.outs);
    });

    it("works with an admin that is not a superuser (CREATEROLE, CREATEDB), as managed services give", async () => {
      await admin("create role limited_admin login createrole createdb password 'fixture-limited-admin'");
      const limited = {
        ...inputs("managed"),
        connection: { ...inputs("managed").connection, user: "limited_admin" },
        adminPassword: "fixture-limited-admin",
      };
      const made = await provider().create(limited);
      const password = (made.outs as { password: string }).password;
      expect(await loginAs("managed_owner", password, "managed")).toBe("managed_owner");
      expect(
        await verify("managed", resolve("managed", { connectionLimit: 5, extensions: ["citext"] }), password),
      ).toMatchObject({ ready: true });
      const updated = await provider().update!("managed", made.outs, { ...limited, connectionLimit: 9, rotation: 1 });
      expect(await loginAs("managed_owner", (updated.outs as { password: string }).password, "managed")).toBe(
        "managed_owner",
      );
      await provider().delete!("managed", updated.outs);
      expect(await admin("select 1 from pg_database where datname = 'managed'")).toEqual([]);
      expect(await admin("select 1 from pg_roles where rolname = 'managed_owner'")).toEqual([]);
    });

    // After a restore from before a rotation the state holds a password the role no longer has. The store may hold
    // the live one (plinth-server adopt-secrets took it from the database the restore replaced): it is kept.
    it("an update keeps the password the store holds when the owner logs in with it, and otherwise sets the state's back", async () => {
      const made = await provider().create(inputs("adopting"));
      const stale = (made.outs as { password: string }).password;
      const live = "live-after-the-dump-91ab";
      await admin(`alter role adopting_owner password '${live}'`);
      const read = await provider().read!("adopting", made.outs);
      expect(read.props).toMatchObject({ ownerCanLogin: false });
      const adopted = await provider().update!("adopting", read.props, { ...inputs("adopting"), held: live });
      expect(adopted.outs).toMatchObject({ password: live, ownerCanLogin: true });
      expect(adopted.outs).not.toHaveProperty("held");
      expect(await loginAs("adopting_owner", live, "adopting")).toBe("adopting_owner");

      // A held password the role refuses too is no reason to keep anything: the state's is set back.
      await admin("alter role adopting_owner password 'someone-elses-3f0c'");
      const again = await provider().read!("adopting", adopted.outs);
      const setBack = await provider().update!(
        "adopting",
        { ...again.props, password: stale },
        {
          ...inputs("adopting"),
          held: "not-the-live-one",
        },
      );
      expect(setBack.outs).toMatchObject({ password: stale });
      expect(await loginAs("adopting_owner", stale, "adopting")).toBe("adopting_owner");
      await provider().delete!("adopting", setBack.outs);
    });

    it("never takes over a role or a database someone else made", async () => {
      await admin("create role taken_owner login");
      await expect(provider().create(inputs("fresh", "taken_owner"))).rejects.toThrow(
        /role "taken_owner" already exists .* Plinth did not make it/,
      );
      expect(await admin("select 1 from pg_database where datname = 'fresh'")).toEqual([]);
      await admin("create database theirs");
      await expect(provider().create(inputs("theirs"))).rejects.toThrow(
        /database "theirs" already exists .* does not manage it/,
      );
      expect(await admin("select 1 from pg_roles where rolname = 'theirs_owner'")).toEqual([]);
    });
  });
});
