import { join } from "node:path";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { clientCredentialsToken, createPlinthClient } from "@plinth/sdk";
import { ChangeKind, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { type DevIdp, devIdpRules, devIdpUsers, startDevIdp, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditDetails } from "../support/audit-rows.ts";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type Clients, type TestService, clientsFor, startTestService } from "../support/test-service.ts";

// Issue 24: tokens from the organisation's identity provider, through the real server and a real OpenID
// provider (oidc-provider) running as its own process.

let idp: DevIdp;
/** A second provider whose tokens live 3 s: for expiry and group removal. */
let shortIdp: DevIdp;
/** A provider the server does not trust. */
let strangerIdp: DevIdp;
let service: TestService;

const issuerConfig = (issuer: string, extra: Record<string, unknown> = {}) => ({
  issuer,
  audience: "plinth",
  rules: devIdpRules,
  // Every unknown kid refetches at once: the rotation test should not wait out a cooldown.
  jwksCooldownSeconds: 0,
  ...extra,
});

beforeAll(async () => {
  [idp, shortIdp, strangerIdp] = await Promise.all([
    startDevIdp(),
    startDevIdp({ accessTokenTtlSeconds: 3 }),
    startDevIdp(),
  ]);
  service = await startTestService({
    config: {
      oidc: {
        issuers: [issuerConfig(idp.issuer), issuerConfig(shortIdp.issuer, { clockSkewSeconds: 0 })],
      },
      plugins: [
        { module: join(import.meta.dirname, "../support/widget-plugin.ts"), export: "widgetPlugin" },
        { module: join(import.meta.dirname, "../support/owned-plugin.ts"), export: "ownedPlugin" },
      ],
    },
  });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await Promise.all([idp?.stop(), shortIdp?.stop(), strangerIdp?.stop()]);
});

const identity = (token: string) =>
  createClient(
    IdentityService,
    createConnectTransport({
      baseUrl: service.url,
      httpVersion: "1.1",
      interceptors: [
        (next) => async (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return await next(req);
        },
      ],
    }),
  );

const owned = (clients: Clients, name: string, team: string, actAs = "") =>
  clients.resources.applyResource({
    type: "test.owned",
    name,
    spec: { owner: { team, contact: `#${team}` } },
    requestId: `${name}-${Math.random()}`,
    team: actAs,
  });

const userToken = async (provider: DevIdp, login: string) => (await provider.deviceSignIn(login)).access_token;

/** A token's parts, to forge from. */
const parts = (token: string) => {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString()) as Record<string, unknown>;
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return { header: decode(header), payload: decode(payload), signature, encode, rawHeader: header };
};

describe("signing in with the identity provider", () => {
  it(
    "accepts a service's client-credentials token with the teams and roles its groups give",
    { timeout: 60_000 },
    async () => {
      const token = await idp.clientCredentials("orders-deployer", "orders-deployer-dev-secret");
      const me = await identity(token).whoAmI({});
      expect(me).toMatchObject({ id: "orders-deployer", team: "orders", roles: ["requester"], issuer: idp.issuer });
      expect(me.teams.map((m) => ({ team: m.team, roles: m.roles }))).toEqual([
        { team: "orders", roles: ["requester"] },
      ]);
      const created = await owned(clientsFor(service.url, token), "cc-orders", "orders");
      expect(created.change?.kind).toBe(ChangeKind.CREATE);
      expect(created.change?.requestedBy).toBe("orders-deployer");
      // Its groups give orders only.
      expect((await failure(owned(clientsFor(service.url, token), "cc-payments", "payments"))).code).toBe(
        Code.PermissionDenied,
      );
    },
  );

  it(
    "signs a service in through the SDK with client credentials, fetching a new token when the last runs out",
    { timeout: 60_000 },
    async () => {
      // The short-lived provider: its tokens last 3 s, so the SDK must fetch a second one within this test.
      const token = clientCredentialsToken({
        issuer: shortIdp.issuer,
        clientId: "orders-deployer",
        clientSecret: "orders-deployer-dev-secret",
        scope: "plinth",
      });
      const sdk = createPlinthClient({ baseUrl: service.url, token });
      expect(await sdk.identity.whoAmI({})).toMatchObject({ id: "orders-deployer", issuer: shortIdp.issuer });
      const first = await token();
      await waitFor(
        async () => {
          const refused = await failure(identity(first).whoAmI({})).catch(() => undefined);
          if (!refused) throw new Error("the first token still works");
          expect(refused.message).toMatch(/expired/);
        },
        { what: "the SDK's first token to expire", timeoutMs: 20_000 },
      );
      const applied = await sdk.apply("test.owned", "sdk-service", { owner: { team: "orders", contact: "#orders" } });
      expect(applied.change?.requestedBy).toBe("orders-deployer");
      expect(await token()).not.toBe(first);
    },
  );

  it(
    "accepts a person's device-flow token with the teams and roles their groups give",
    { timeout: 60_000 },
    async () => {
      const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((login) => userToken(idp, login)));
      const who = async (token: string) => {
        const me = await identity(token!).whoAmI({});
        return { id: me.id, subject: me.subject, issuer: me.issuer, teams: me.teams.map((m) => [m.team, m.roles]) };
      };
      expect(await who(alice!)).toEqual({
        id: "alice",
        subject: "alice",
        issuer: idp.issuer,
        teams: [["payments", ["requester"]]],
      });
      expect((await who(bob!)).teams).toEqual([["payments", ["reviewer"]]]);
      expect((await who(carol!)).teams).toEqual([["platform", ["requester", "reviewer", "admin"]]]);
    },
  );

  it("refuses bad tokens with the check that failed, never echoing the token", { timeout: 60_000 }, async () => {
    const good = await idp.clientCredentials("orders-deployer", "orders-deployer-dev-secret");
    const { header, payload, signature, encode, rawHeader } = parts(good);
    const cases: { why: string; token: string; reason: RegExp }[] = [
      {
        why: "a token for another audience",
        token: await idp.clientCredentials("orders-deployer", "orders-deployer-dev-secret", "urn:other"),
        reason: /wrong audience/,
      },
      {
        why: "a token of an issuer the server does not trust",
        token: await strangerIdp.clientCredentials("orders-deployer", "orders-deployer-dev-secret"),
        reason: /unknown issuer/,
      },
      {
        why: "a real token whose groups were changed (admin added)",
        token: `${rawHeader}.${encode({ ...payload, groups: ["plinth-admins"] })}.${signature}`,
        reason: /bad signature/,
      },
      {
        why: "alg none with the signature dropped",
        token: `${encode({ ...header, alg: "none" })}.${encode(payload)}.`,
        reason: /algorithm not allowed/,
      },
      {
        why: "HS256 signed with the issuer's public key as the secret would be",
        token: `${encode({ ...header, alg: "HS256" })}.${encode(payload)}.${signature}`,
        reason: /algorithm not allowed/,
      },
    ];
    for (const { why, token, reason } of cases) {
      const refused = await failure(identity(token).whoAmI({}));
      expect({ why, code: refused.code }).toEqual({ why, code: Code.Unauthenticated });
      expect(refused.message, why).toMatch(reason);
      expect(refused.message, why).not.toContain(token.split(".")[1]);
    }
  });

  it("refuses an expired token, saying so", { timeout: 60_000 }, async () => {
    const token = await shortIdp.clientCredentials("orders-deployer", "orders-deployer-dev-secret");
    expect((await identity(token).whoAmI({})).id).toBe("orders-deployer");
    const refused = await waitFor(
      async () => {
        const result = await failure(identity(token).whoAmI({})).catch(() => undefined);
        if (!result) throw new Error("still accepted");
        return result;
      },
      { what: "the token to expire", timeoutMs: 20_000 },
    );
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(refused.message).toMatch(/token expired/);
  });

  it("picks up a signing-key rotation at the provider without a restart", { timeout: 60_000 }, async () => {
    const before = await idp.clientCredentials("orders-deployer", "orders-deployer-dev-secret");
    expect((await identity(before).whoAmI({})).id).toBe("orders-deployer");
    const kid = await idp.rotateKeys();
    const after = await idp.clientCredentials("orders-deployer", "orders-deployer-dev-secret");
    expect(parts(after).header.kid).toBe(kid);
    expect((await identity(after).whoAmI({})).id).toBe("orders-deployer");
    // Tokens signed before stay good while the old key is still published.
    expect((await identity(before).whoAmI({})).id).toBe("orders-deployer");
  });

  it("lets a person in two teams act for each, and for no other", { timeout: 60_000 }, async () => {
    const dana = clientsFor(service.url, await userToken(idp, "dana"));
    const forPayments = await owned(dana, "dana-payments", "payments");
    const forOrders = await owned(dana, "dana-orders", "orders");
    expect([forPayments.change?.team, forOrders.change?.team]).toEqual(["payments", "orders"]);
    expect((await watchToEnd(dana, forOrders.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    // Naming a team the token does not give is refused, as is a spec for such a team.
    const search = await failure(owned(dana, "dana-search", "search", "search"));
    expect(search.code).toBe(Code.PermissionDenied);
    expect(search.message).toMatch(/may act for orders, payments only/);
    expect((await failure(owned(dana, "dana-search-2", "search"))).code).toBe(Code.PermissionDenied);
    // Acting for orders, a spec owned by payments is refused: the acting team is the one that counts.
    expect((await failure(owned(dana, "dana-mixed", "payments", "orders"))).code).toBe(Code.PermissionDenied);
  });

  it(
    "lets a reviewer of two teams approve and revoke access for the one that owns what is reached",
    { timeout: 60_000 },
    async () => {
      const [dana, alice, erin] = await Promise.all(
        ["dana", "alice", "erin"].map(async (login) => clientsFor(service.url, await userToken(idp, login))),
      );
      // Erin's first team (orders, as teams sort) owns the reader; payments owns what it reads.
      expect((await identity(await userToken(idp, "erin")).whoAmI({})).team).toBe("orders");
      const target = await owned(alice!, "erin-payments-data", "payments");
      expect((await watchToEnd(alice!, target.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      const reader = await dana!.resources.applyResource({
        type: "test.owned",
        name: "erin-orders-reader",
        spec: { owner: { team: "orders", contact: "#orders" }, reads: ["erin-payments-data"] },
        requestId: `erin-reader-${Math.random()}`,
        team: "orders",
      });
      expect(reader.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
      await erin!.changes.approveChange({ id: reader.change!.id, comment: "payments shares it" });
      expect((await watchToEnd(dana!, reader.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

      const revoke = (team: string) =>
        erin!.resources.revokeAccessGrant({
          type: "test.owned",
          name: "erin-orders-reader",
          field: "reads.0",
          requestId: `erin-revoke-${team}-${Math.random()}`,
          team,
        });
      // Named, the team counts: orders owns nothing the grant reaches, and search is not Erin's.
      const asOrders = await failure(revoke("orders"));
      expect(asOrders.code).toBe(Code.NotFound);
      expect(asOrders.message).toContain("reaching what team orders owns");
      expect((await failure(revoke("search"))).code).toBe(Code.PermissionDenied);
      // Unnamed, the revocation is recorded for payments, the team owning what is reached.
      const revoked = await revoke("");
      expect(revoked.change).toMatchObject({ team: "payments", requestedBy: "erin" });
      expect((await watchToEnd(dana!, revoked.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      const after = await dana!.resources.getResource({ type: "test.owned", name: "erin-orders-reader" });
      expect(after.resource?.spec?.reads).toEqual([]);
    },
  );

  it(
    "takes the reviewer role from someone removed from the reviewer group once their token expires",
    { timeout: 90_000 },
    async () => {
      const alice = clientsFor(service.url, await userToken(idp, "alice"));
      const created = await owned(alice, "removed-reviewer", "payments");
      await watchToEnd(alice, created.change!.id);
      const deletion = await alice.resources.deleteResource({
        type: "test.owned",
        name: "removed-reviewer",
        requestId: `removed-reviewer-delete`,
      });
      expect(deletion.change?.status).toBe(ChangeStatus.PENDING_REVIEW);

      const oldToken = await userToken(shortIdp, "bob");
      expect((await identity(oldToken).whoAmI({})).teams[0]?.roles).toEqual(["reviewer"]);
      shortIdp.setUsers({
        ...devIdpUsers,
        users: devIdpUsers.users.map((user) =>
          user.id === "bob" ? { ...user, groups: ["plinth-payments-requesters"] } : user,
        ),
      });
      await waitFor(
        async () => {
          const refused = await failure(identity(oldToken).whoAmI({})).catch(() => undefined);
          if (!refused) throw new Error("the old token still works");
          expect(refused.message).toMatch(/expired/);
        },
        { what: "bob's old token to expire", timeoutMs: 20_000 },
      );
      const bob = clientsFor(service.url, await userToken(shortIdp, "bob"));
      const refused = await failure(bob.changes.approveChange({ id: deletion.change!.id, comment: "ok" }));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(refused.message).toMatch(/no reviewer role/);
    },
  );

  it(
    "lets an admin deny a principal at once, and records who did what by issuer and subject",
    { timeout: 60_000 },
    async () => {
      const [carol, alice] = await Promise.all([userToken(idp, "carol"), userToken(idp, "alice")]);
      const created = await owned(clientsFor(service.url, alice), "audited", "payments");
      await watchToEnd(clientsFor(service.url, alice), created.change!.id);
      const deletion = await clientsFor(service.url, alice).resources.deleteResource({
        type: "test.owned",
        name: "audited",
        requestId: "audited-delete",
      });
      const bob = clientsFor(service.url, await userToken(idp, "bob"));
      await bob.changes.approveChange({ id: deletion.change!.id, comment: "fine" });
      const big = await clientsFor(service.url, alice).resources.applyResource({
        type: "test.widget",
        name: "audited-big",
        spec: { size: 60 }, // above 50: needs review
        requestId: "audited-big",
      });
      await bob.changes.rejectChange({ id: big.change!.id, comment: "too big" });
      const small = await clientsFor(service.url, alice).resources.applyResource({
        type: "test.widget",
        name: "audited-secret",
        spec: { size: 1 },
        requestId: "audited-secret",
      });
      await watchToEnd(clientsFor(service.url, alice), small.change!.id);
      await clientsFor(service.url, alice).resources.revealSecret({
        type: "test.widget",
        name: "audited-secret",
        key: "serial",
      });
      await clientsFor(service.url, carol).resources.applyResource({
        type: "test.widget",
        name: "audited-huge",
        spec: { size: 95 }, // over the guardrail: only an admin's override lets it through
        requestId: "audited-huge",
        overrideGuardrails: true,
      });

      // Not an admin: refused.
      expect((await failure(identity(alice).denyPrincipal({ principal: "bob", reason: "x" }))).code).toBe(
        Code.PermissionDenied,
      );
      await identity(carol).denyPrincipal({ principal: "alice", reason: "left the company" });
      const denied = await failure(identity(alice).whoAmI({}));
      expect(denied.code).toBe(Code.PermissionDenied);
      expect(denied.message).toMatch(/denied by an admin: left the company/);
      expect((await identity(carol).listDeniedPrincipals({})).denied.map((d) => d.principal)).toEqual(["alice"]);
      await identity(carol).allowPrincipal({ principal: "alice" });
      expect((await identity(alice).whoAmI({})).id).toBe("alice");

      const audit = auditDetails(service.dataDir);
      const of = (action: string, target: string) =>
        audit.find((row) => row.action === action && row.target === target);
      expect(of("request-change", created.change!.id)?.details).toMatchObject({ issuer: idp.issuer, subject: "alice" });
      expect(of("approve-change", deletion.change!.id)?.details).toMatchObject({ issuer: idp.issuer, subject: "bob" });
      expect(of("reject-change", big.change!.id)?.details).toMatchObject({ issuer: idp.issuer, subject: "bob" });
      expect(of("reveal-secret", "test.widget/audited-secret#serial")?.details).toMatchObject({
        issuer: idp.issuer,
        subject: "alice",
      });
      expect(of("override-guardrails", "test.widget/audited-huge")?.details).toMatchObject({
        issuer: idp.issuer,
        subject: "carol",
      });
      expect(of("deny-principal", "alice")?.details).toMatchObject({ issuer: idp.issuer, subject: "carol" });
    },
  );
});
