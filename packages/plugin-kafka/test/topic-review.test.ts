import type { ChangeKind, Principal } from "@plinth/core";
import { describe, expect, it } from "vitest";
import { type TopicSpec, type TopicSpecInput, kafkaTopic, topicReviewFindings } from "../src/index.ts";
import { ctx, settings, topicSpec } from "./support/fixtures.ts";

const resolved = (overrides: Partial<TopicSpecInput> = {}): TopicSpec =>
  kafkaTopic.defaults!("orders.placed.v1", topicSpec(overrides), ctx).spec;
const principal: Principal = { id: "alice", team: "payments", roles: ["requester"] };
const current = resolved({ partitions: 12 });

interface Case {
  why: string;
  kind: ChangeKind;
  previous?: TopicSpec;
  next?: TopicSpec;
  /** Finding codes; empty = auto-approved. */
  codes: string[];
}

const cases: Case[] = [
  { why: "a create within guardrails is automatic", kind: "CREATE", next: resolved(), codes: [] },
  {
    why: "a partition increase is automatic",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 24 }),
    codes: [],
  },
  {
    why: "a retention increase is automatic",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, config: { "retention.ms": 5 * 86_400_000 } }),
    codes: [],
  },
  {
    why: "adding protection is automatic",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, protect: true }),
    codes: [],
  },
  { why: "a delete needs a reviewer", kind: "DELETE", previous: current, codes: ["DELETE"] },
  {
    why: "a protected delete says so",
    kind: "DELETE",
    previous: resolved({ protect: true }),
    codes: ["DELETE", "PROTECTED"],
  },
  {
    why: "unclean leader election on a new topic needs a reviewer (issue 13)",
    kind: "CREATE",
    next: resolved({ cluster: "small", config: { "unclean.leader.election.enable": true } }),
    codes: ["UNCLEAN_LEADER_ELECTION"],
  },
  {
    why: "turning unclean leader election on needs a reviewer",
    kind: "UPDATE",
    previous: resolved({ cluster: "small", partitions: 12 }),
    next: resolved({ cluster: "small", partitions: 12, config: { "unclean.leader.election.enable": true } }),
    codes: ["UNCLEAN_LEADER_ELECTION"],
  },
  {
    why: "keeping it on asks nothing new",
    kind: "UPDATE",
    previous: resolved({ cluster: "small", partitions: 12, config: { "unclean.leader.election.enable": true } }),
    next: resolved({ cluster: "small", partitions: 12, config: { "unclean.leader.election.enable": true } }),
    codes: [],
  },
  {
    why: "adopting an existing topic needs a reviewer",
    kind: "CREATE",
    next: resolved({ adopt: true }),
    codes: ["ADOPT"],
  },
  {
    why: "a replication factor change needs a reviewer",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, replicationFactor: 2, config: { "min.insync.replicas": 2 } }),
    codes: ["REPLICATION_CHANGE"],
  },
  {
    why: "a retention cut needs a reviewer",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, config: { "retention.ms": 86_400_000 } }),
    codes: ["RETENTION_CUT"],
  },
  {
    why: "a size limit where there was none is a retention cut",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, config: { "retention.bytes": 1_073_741_824 } }),
    codes: ["RETENTION_CUT"],
  },
  {
    why: "from forever to a finite retention is a cut",
    kind: "UPDATE",
    previous: resolved({ partitions: 12, config: { "retention.ms": -1 } }),
    next: current,
    codes: ["RETENTION_CUT"],
  },
  {
    why: "removing protection needs a reviewer",
    kind: "UPDATE",
    previous: resolved({ partitions: 12, protect: true }),
    next: current,
    codes: ["PROTECTION_REMOVED"],
  },
  {
    why: "stopping compaction needs a reviewer",
    kind: "UPDATE",
    previous: resolved({ partitions: 12, config: { "cleanup.policy": "compact" } }),
    next: resolved({ partitions: 12, config: { "cleanup.policy": "delete" } }),
    codes: ["COMPACTION_REMOVED"],
  },
  {
    why: "lowering min.insync.replicas needs a reviewer",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, config: { "min.insync.replicas": 1 } }),
    codes: ["MIN_ISR_LOWERED"],
  },
  {
    why: "moving the topic to another team needs a reviewer",
    kind: "UPDATE",
    previous: current,
    next: resolved({ partitions: 12, owner: { team: "risk", contact: "#risk" } }),
    codes: ["OWNER_CHANGE"],
  },
  {
    why: "anything outside a guardrail (admin override) needs a reviewer",
    kind: "CREATE",
    next: resolved({ partitions: 200 }),
    codes: ["GUARDRAIL_MAX_PARTITIONS"],
  },
];

describe("kafka.topic review", () => {
  it.each(cases)("$why", ({ kind, previous, next, codes }) => {
    const input = { kind, name: "orders.placed.v1", previous, next, differences: [], principal };
    expect(topicReviewFindings(input, settings).map((finding) => finding.code)).toEqual(codes);
    const decision = kafkaTopic.review!(input, ctx);
    expect(decision.approvals).toBe(codes.length > 0 ? 1 : 0);
    // One reason per finding, or the one reason a change was approved automatically.
    expect(decision.reasons).toHaveLength(Math.max(codes.length, 1));
  });

  it("states its policy in words", () => {
    expect(kafkaTopic.reviewPolicy).toMatch(/automatically/);
  });
});
