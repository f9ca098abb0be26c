import type { ReviewDecision, ReviewInput } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import { guardrailViolations } from "./topic-guardrails.ts";
import type { TopicSpec } from "./topic-spec.ts";

export const topicReviewPolicy =
  "Creates and partition increases within the cluster's guardrails are approved automatically. One reviewer is " +
  "needed to delete a topic, adopt an existing one, change its replication factor, cut its retention (time or " +
  "size), stop compacting it, lower min.insync.replicas, enable unclean leader election, move it to another team, remove its deletion " +
  "protection, or go outside a guardrail (admins only).";

/** One reason a change needs a reviewer; `code` is stable for machines, `reason` is for people. */
export interface ReviewFinding {
  code: string;
  reason: string;
}

const uncleanElection: ReviewFinding = {
  code: "UNCLEAN_LEADER_ELECTION",
  reason: "unclean.leader.election.enable lets an out-of-sync replica lead: acknowledged writes can be lost",
};

/** -1 means "unlimited" for both retention configs; a missing retention.bytes is Kafka's default, -1. */
function limit(value: number | undefined): number {
  return value === undefined || value === -1 ? Number.POSITIVE_INFINITY : value;
}

function updateFindings(previous: TopicSpec, next: TopicSpec): ReviewFinding[] {
  const findings: ReviewFinding[] = [];
  const before = previous.config ?? {};
  const after = next.config ?? {};
  if (previous.replicationFactor !== next.replicationFactor) {
    findings.push({
      code: "REPLICATION_CHANGE",
      reason: `replication factor ${previous.replicationFactor} → ${next.replicationFactor} moves every partition's data between brokers`,
    });
  }
  for (const key of ["retention.ms", "retention.bytes"] as const) {
    if (limit(after[key]) < limit(before[key])) {
      findings.push({
        code: "RETENTION_CUT",
        reason: `${key} ${before[key] ?? "default"} → ${after[key]} deletes data consumers may not have read`,
      });
    }
  }
  const compacted = (policy: string | undefined) => policy?.includes("compact") ?? false;
  if (compacted(before["cleanup.policy"]) && !compacted(after["cleanup.policy"])) {
    findings.push({
      code: "COMPACTION_REMOVED",
      reason: "without compaction the latest value per key expires with age",
    });
  }
  if ((after["min.insync.replicas"] ?? 1) < (before["min.insync.replicas"] ?? 1)) {
    findings.push({ code: "MIN_ISR_LOWERED", reason: "lowering min.insync.replicas weakens acknowledged writes" });
  }
  if (previous.owner.team !== next.owner.team) {
    findings.push({
      code: "OWNER_CHANGE",
      reason: `ownership moves from ${previous.owner.team} to ${next.owner.team}`,
    });
  }
  if (after["unclean.leader.election.enable"] === true && before["unclean.leader.election.enable"] !== true) {
    findings.push(uncleanElection);
  }
  if (previous.protect && !next.protect) {
    findings.push({ code: "PROTECTION_REMOVED", reason: "removing deletion protection makes the topic deletable" });
  }
  return findings;
}

/** Why a topic change needs a reviewer; empty = auto-approve. Pure. */
export function topicReviewFindings(input: ReviewInput<TopicSpec>, settings: KafkaSettings): ReviewFinding[] {
  const { previous, next } = input;
  if (!next) {
    const findings = [{ code: "DELETE", reason: `deleting "${input.name}" deletes its data` }];
    if (previous?.protect) findings.push({ code: "PROTECTED", reason: `"${input.name}" is protected` });
    return findings;
  }
  const findings = previous ? updateFindings(previous, next) : [];
  if (!previous && next.config?.["unclean.leader.election.enable"] === true) findings.push(uncleanElection);
  if (!previous && next.adopt) {
    findings.push({
      code: "ADOPT",
      reason: `adopting the existing topic "${input.name}" makes ${next.owner.team} its owner`,
    });
  }
  const cluster = settings.clusters[next.cluster];
  // Validate refuses these; they reach review only through an admin's override.
  for (const violation of cluster ? guardrailViolations(input.name, next, previous, cluster) : []) {
    findings.push({ code: violation.reason ?? "GUARDRAIL", reason: `${violation.field}: ${violation.description}` });
  }
  return findings;
}

/** One approval when any finding applies, with one reason each; otherwise auto-approved with the reason why. */
export function reviewTopic(input: ReviewInput<TopicSpec>, settings: KafkaSettings): ReviewDecision {
  const findings = topicReviewFindings(input, settings);
  if (findings.length > 0) return { approvals: 1, reasons: findings.map((finding) => finding.reason) };
  const what = input.kind === "CREATE" ? "a create" : "a change";
  return { approvals: 0, reasons: [`${what} within the guardrails of cluster "${input.next?.cluster}"`] };
}
