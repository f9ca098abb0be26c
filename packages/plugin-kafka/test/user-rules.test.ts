import type { ChangeKind, OwnedResource, Principal, ResourceLookup } from "@plinth/core";
import { describe, expect, it } from "vitest";
import {
  KafkaSettings,
  type UserSpec,
  type UserSpecInput,
  UserSpec as UserSpecSchema,
  aclKey,
  kafkaUser,
  userAcls,
  userReaches,
  userReviewFindings,
} from "../src/index.ts";
import { ctx, settings, settingsInput } from "./support/fixtures.ts";

const parse = (overrides: Partial<UserSpecInput> = {}): UserSpec =>
  UserSpecSchema.parse({
    cluster: "main",
    owner: { team: "payments", contact: "#payments" },
    access: [{ topics: { prefix: "orders." }, operations: "read" }],
    ...overrides,
  });
const resolved = (overrides: Partial<UserSpecInput> = {}, name = "orders-app"): UserSpec =>
  kafkaUser.defaults!(name, parse(overrides), ctx).spec;
const fields = (name: string, next: UserSpec, previous?: UserSpec, context = ctx) =>
  kafkaUser.validate!(name, next, previous, context).map((violation) => `${violation.field} ${violation.reason}`);

describe("kafka.user defaults and ACLs", () => {
  it("gives a reading user its own consumer groups, explains it, and is idempotent", () => {
    const first = kafkaUser.defaults!("orders-app", parse(), ctx);
    expect(first.spec.consumerGroups).toEqual({ prefix: "orders-app" });
    expect(first.explanations?.consumerGroups).toContain('starts with "orders-app"');
    const again = kafkaUser.defaults!("orders-app", first.spec, ctx);
    expect(again).toEqual(first);
    expect(first.spec.rotation).toBe(0);
  });

  it("gives a write-only user no consumer groups and keeps an explicit choice", () => {
    expect(resolved({ access: [{ topics: "all", operations: "write" }] }).consumerGroups).toBeUndefined();
    expect(resolved({ consumerGroups: "all" }).consumerGroups).toBe("all");
  });

  // The worked examples of docs/kafka.md, as ACL keys.
  it.each([
    [
      [{ topics: { prefix: "orders." }, operations: "read" }],
      ["group-prefix-orders-app-read", "topic-prefix-orders.-read"],
    ],
    [[{ topics: { prefix: "orders." }, operations: "write" }], ["topic-prefix-orders.-write"]],
    [
      [{ topics: "all", operations: "read-write" }],
      [
        "group-prefix-orders-app-read",
        "topic-all-read",
        "topic-all-write",
        "topic-deny-prefix-__-read",
        "topic-deny-prefix-__-write",
      ],
    ],
    [
      [
        { topics: "all", operations: "read" },
        { topics: { prefix: "orders." }, operations: "write" },
      ],
      ["group-prefix-orders-app-read", "topic-all-read", "topic-deny-prefix-__-read", "topic-prefix-orders.-write"],
    ],
  ] as [UserSpecInput["access"], string[]][])("%j → %j", (access, keys) => {
    expect(userAcls(resolved({ access })).map(aclKey)).toEqual(keys);
  });
});

describe("kafka.user ACL names (issue 22)", () => {
  it("keeps grants whose prefixes differ only in case apart, as Kafka does", () => {
    const acls = userAcls(
      resolved({
        access: [
          { topics: { prefix: "Team.X" }, operations: "read" },
          { topics: { prefix: "team.x" }, operations: "read" },
        ],
      }),
    ).filter((acl) => acl.resourceType === "Topic");
    expect(acls.map((acl) => acl.resourceName).sort()).toEqual(["Team.X", "team.x"]);
    // Keys of lower-case names are what they were, so existing stacks keep their ACL resources.
    expect(acls.map(aclKey).sort()).toEqual(["topic-prefix-Team.X-read", "topic-prefix-team.x-read"]);
  });
});

describe("kafka.user validation", () => {
  it("accepts a plain spec", () => {
    expect(fields("orders-app", resolved())).toEqual([]);
  });

  it.each(
    (
      [
        ["bad name!", resolved(), ["name INVALID_USER_NAME"]],
        ["ANONYMOUS", resolved(), ["name RESERVED_USER_NAME"]],
        ["orders-app", resolved({ cluster: "nowhere" }), ["cluster UNKNOWN_CLUSTER"]],
        [
          "orders-app",
          resolved({ access: [{ topics: { prefix: "orders/" }, operations: "read" }] }),
          ["access.0.topics.prefix INVALID_PREFIX"],
        ],
        ["orders-app", resolved({ consumerGroups: { prefix: "apps*" } }), ["consumerGroups.prefix INVALID_PREFIX"]],
        [
          "orders-app",
          resolved({
            access: [
              { topics: { prefix: "orders." }, operations: "read" },
              { topics: { prefix: "orders." }, operations: "write" },
            ],
          }),
          ["access.1.topics DUPLICATE_GRANT"],
        ],
        [
          "orders-app",
          resolved({ access: [{ topics: { prefix: "or" }, operations: "read" }] }),
          ["access.0.topics.prefix GUARDRAIL_PREFIX_LENGTH"],
        ],
      ] as [string, UserSpec, string[]][]
    ).map(([name, spec, expected]) => ({ name, spec, expected })),
  )("$name → $expected", ({ name, spec, expected }) => {
    expect(fields(name, spec)).toEqual(expected);
  });

  it("refuses the cluster's own admin user, a move between clusters and a rotation going back", () => {
    const withAdmin = KafkaSettings.parse({
      clusters: {
        ...settingsInput.clusters,
        main: {
          ...settingsInput.clusters.main,
          sasl: { mechanism: "SCRAM-SHA-512", username: "plinth", password: "fixture-not-a-secret" },
        },
      },
    });
    expect(fields("plinth", resolved({}, "plinth"), undefined, { ...ctx, settings: withAdmin })).toEqual([
      "name RESERVED_USER_NAME",
    ]);
    expect(fields("orders-app", resolved({ cluster: "small" }), resolved())).toEqual(["cluster CLUSTER_CHANGE"]);
    const back = kafkaUser.validate!("orders-app", resolved({ rotation: 1 }), resolved({ rotation: 2 }), ctx);
    expect(back).toMatchObject([{ field: "rotation", reason: "ROTATION_DECREASE", transition: true }]);
  });

  it("applies guardrails only to what changes", () => {
    const locked = KafkaSettings.parse({
      clusters: { main: { ...settingsInput.clusters.main, guardrails: { allowAllTopicsGrants: false } } },
    });
    const all = resolved({ access: [{ topics: "all", operations: "read" }] });
    const lockedCtx = { ...ctx, settings: locked };
    expect(kafkaUser.validate!("orders-app", all, undefined, lockedCtx)).toMatchObject([
      { field: "access.0.topics", reason: "GUARDRAIL_ALL_TOPICS", overridable: true },
    ]);
    // A user that already reads all topics (e.g. an admin override) stays updatable.
    expect(kafkaUser.validate!("orders-app", { ...all, rotation: 1 }, all, lockedCtx)).toEqual([]);
  });

  it("refuses Kafka's internal names (__*) to everyone, admins too: no team owns them (issue 22)", () => {
    const internal = resolved({
      access: [{ topics: { prefix: "__consumer_offsets" }, operations: "read" }],
      consumerGroups: { prefix: "__consumer" },
    });
    const violations = kafkaUser.validate!("orders-app", internal, undefined, ctx);
    expect(violations.map((violation) => [violation.field, violation.reason, violation.overridable])).toEqual([
      ["access.0.topics.prefix", "INTERNAL_NAMES", undefined],
      ["consumerGroups.prefix", "INTERNAL_NAMES", undefined],
    ]);
  });
});

describe("kafka.user review", () => {
  const principal: Principal = { id: "alice", team: "payments", roles: ["requester"] };
  const codes = (kind: ChangeKind, next?: UserSpec, previous?: UserSpec) =>
    userReviewFindings({ kind, name: "orders-app", next, previous, differences: [], principal }, settings).map(
      (finding) => finding.code,
    );
  const reader = resolved();

  it.each([
    ["read on a prefix is automatic", codes("CREATE", reader), []],
    [
      "write on a prefix needs a reviewer",
      codes("CREATE", resolved({ access: [{ topics: { prefix: "orders." }, operations: "read-write" }] })),
      ["WRITE_ACCESS"],
    ],
    [
      "read on all topics needs a reviewer",
      codes("CREATE", resolved({ access: [{ topics: "all", operations: "read" }] })),
      ["ALL_RESOURCES"],
    ],
    ["all consumer groups need a reviewer", codes("CREATE", resolved({ consumerGroups: "all" })), ["ALL_RESOURCES"]],
    [
      "write on all topics needs a reviewer",
      codes("CREATE", resolved({ access: [{ topics: "all", operations: "write" }] })),
      ["WRITE_ACCESS"],
    ],
    ["a rotation is automatic", codes("UPDATE", resolved({ rotation: 1 }), reader), []],
    [
      "narrowing is automatic",
      codes("UPDATE", reader, resolved({ access: [{ topics: "all", operations: "read-write" }] })),
      [],
    ],
    [
      "widening to write needs a reviewer",
      codes("UPDATE", resolved({ access: [{ topics: { prefix: "orders." }, operations: "read-write" }] }), reader),
      ["WRITE_ACCESS"],
    ],
    [
      "an owner change needs a reviewer",
      codes("UPDATE", resolved({ owner: { team: "search", contact: "#s" } }), reader),
      ["OWNER_CHANGE"],
    ],
    ["a delete is automatic", codes("DELETE", undefined, reader), []],
    [
      // Kafka compares ACL names exactly: write on Team.X was never granted by write on team.x (issue 22).
      "write on a prefix differing only in case needs a reviewer",
      codes(
        "UPDATE",
        resolved({ access: [{ topics: { prefix: "Team.X" }, operations: "read-write" }] }),
        resolved({ access: [{ topics: { prefix: "team.x" }, operations: "read-write" }] }),
      ),
      ["WRITE_ACCESS"],
    ],
  ])("%s", (_why, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it("says why in words", () => {
    const decision = kafkaUser.review!(
      {
        kind: "CREATE",
        name: "orders-app",
        next: resolved({ access: [{ topics: "all", operations: "read" }] }),
        previous: undefined,
        differences: [],
        principal,
      },
      ctx,
    );
    expect(decision).toEqual({ approvals: 1, reasons: ["grants read on all topics"] });
    expect(kafkaUser.reviewPolicy).toContain("One reviewer is needed");
  });
});

describe("kafka.user reaches (issue 13)", () => {
  const owned = (name: string, ownerTeam: string, spec: Record<string, unknown>) => ({
    name,
    ownerTeam,
    spec: { cluster: "main", ...spec } as OwnedResource["spec"],
  });
  // Topics of three teams and one on another cluster; users claiming consumer groups.
  const lookup: ResourceLookup = {
    list: async (type) =>
      type === "kafka.topic"
        ? [
            owned("orders.placed", "orders", {}),
            owned("orders.refunds", "billing", {}),
            owned("payments.settled", "payments", {}),
            owned("orders.elsewhere", "search", { cluster: "small" }),
          ]
        : [
            owned("orders-app", "orders", { consumerGroups: { prefix: "orders-app" } }),
            owned("payments-app", "payments", { consumerGroups: { prefix: "payments-app" } }),
          ],
  };

  it("names each team owning a topic a grant covers, on the user's cluster only", async () => {
    const reaches = await userReaches("payments-reader", resolved({}, "payments-reader"), lookup);
    expect(reaches.map((reach) => [reach.field, reach.ownerTeam, reach.access])).toEqual([
      ["access.0.topics", "orders", "read topics orders.*"],
      ["access.0.topics", "billing", "read topics orders.*"],
    ]);
  });

  it("names the teams whose users claim overlapping consumer groups, and everyone for all topics", async () => {
    const reaches = await userReaches(
      "payments-reader",
      resolved({ access: [{ topics: "all", operations: "read-write" }], consumerGroups: { prefix: "orders-" } }),
      lookup,
    );
    // All topics reaches what no team owns yet as well: an admin's grant, asking every owner.
    expect(reaches.map((reach) => [reach.field, reach.ownerTeam, reach.access])).toEqual([
      ["access.0.topics", undefined, "read and write all topics"],
      ["access.0.topics", "orders", "read and write all topics"],
      ["access.0.topics", "billing", "read and write all topics"],
      ["access.0.topics", "payments", "read and write all topics"],
      ["consumerGroups", "orders", "join consumer groups orders-*"],
    ]);
  });

  it("reports a prefix nobody owns without a team: topics no managed topic is under, groups nobody claims", async () => {
    const reaches = await userReaches(
      "payments-reader",
      resolved(
        { access: [{ topics: { prefix: "refunds." }, operations: "read" }], consumerGroups: { prefix: "shared-" } },
        "payments-reader",
      ),
      lookup,
      settings,
    );
    expect(reaches.map((reach) => [reach.field, reach.ownerTeam, reach.access])).toEqual([
      ["access.0.topics", undefined, "read topics refunds.*"],
      ["consumerGroups", undefined, "join consumer groups shared-*"],
    ]);
    expect(reaches[0]?.hint).toContain('No managed topic on cluster "main" starts with "refunds."');
    // A user's name is its team's group prefix even when that user claims none.
    const named = await userReaches(
      "payments-reader",
      resolved({ consumerGroups: { prefix: "payments-app.x" } }, "payments-reader"),
      lookup,
      settings,
    );
    expect(named.filter((reach) => reach.field === "consumerGroups").map((reach) => reach.ownerTeam)).toEqual([
      "payments",
    ]);
    // A cluster whose topics are made outside Plinth may allow unowned topic prefixes.
    const open = KafkaSettings.parse({
      ...settingsInput,
      clusters: {
        ...settingsInput.clusters,
        main: {
          ...settingsInput.clusters.main!,
          guardrails: { ...settingsInput.clusters.main!.guardrails, allowUnownedPrefixGrants: true },
        },
      },
    });
    const allowed = await userReaches(
      "payments-reader",
      resolved({ access: [{ topics: { prefix: "refunds." }, operations: "read" }] }, "payments-reader"),
      lookup,
      open,
    );
    expect(allowed).toEqual([]);
  });
});
