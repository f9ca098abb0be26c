import type { Violation } from "@plinth/core";
import { type KafkaSettings, unknownClusterViolation } from "./cluster-settings.ts";
import { guardrailViolations } from "./topic-guardrails.ts";
import { topicNameViolations } from "./topic-name.ts";
import type { TopicSpec } from "./topic-spec.ts";

function partitionDecrease(name: string, from: number, to: number): Violation {
  return {
    field: "partitions",
    reason: "PARTITIONS_DECREASE",
    // The spec is fine, the move is not (FAILED_PRECONDITION), as docs/lifecycle.md promises.
    transition: true,
    description:
      `partitions can only grow (${from} → ${to} refused): Kafka cannot remove partitions, and the provider would ` +
      `delete and recreate the topic, losing its data. To use fewer partitions, create a new topic with ${to} ` +
      `partitions, move producers to it, let consumers drain "${name}", then delete it. If you did not set ` +
      `partitions, the throughput default now gives ${to}: set partitions: ${from} to keep the topic as it is.`,
  };
}

/**
 * Checks a transition of topic `name` from `previous` (undefined on create)
 * to `next` (undefined on delete) against Kafka's rules and the cluster's
 * guardrails (see `guardrailViolations`). Every violation names its field and
 * what is allowed; `reason` is stable for machines. Pure.
 *
 * Typed wider than the plugin API's `validate` (which is not called for
 * deletes yet) so deletion protection is enforced here once core calls
 * `validate(name, undefined, previous)` for a delete.
 */
export function validateTopic(
  name: string,
  next: TopicSpec | undefined,
  previous: TopicSpec | undefined,
  settings: KafkaSettings,
): Violation[] {
  if (!next) {
    return previous?.protect
      ? [
          {
            field: "protect",
            reason: "PROTECTED",
            description: `"${name}" is protected: apply a change with protect: false (it needs a reviewer) before deleting it`,
          },
        ]
      : [];
  }
  const violations = topicNameViolations(name);
  const cluster = settings.clusters[next.cluster];
  if (previous && previous.cluster !== next.cluster) {
    violations.push({
      field: "cluster",
      reason: "CLUSTER_CHANGE",
      description: `a topic cannot move from cluster "${previous.cluster}" to "${next.cluster}": create a topic on "${next.cluster}", move producers and consumers to it, then delete this one`,
    });
  }
  if (!cluster) {
    violations.push(unknownClusterViolation(settings, next.cluster));
    return violations;
  }
  if (previous?.partitions !== undefined && next.partitions !== undefined && next.partitions < previous.partitions) {
    violations.push(partitionDecrease(name, previous.partitions, next.partitions));
  }
  const rf = next.replicationFactor;
  if (rf !== undefined && cluster.brokers !== undefined && rf > cluster.brokers) {
    violations.push({
      field: "replicationFactor",
      reason: "REPLICATION_EXCEEDS_BROKERS",
      description: `cluster "${next.cluster}" has ${cluster.brokers} broker(s): at most ${cluster.brokers} replicas`,
    });
  }
  const isr = next.config?.["min.insync.replicas"];
  if (isr !== undefined && rf !== undefined && isr > rf) {
    violations.push({
      field: "config.min.insync.replicas",
      reason: "MIN_ISR_EXCEEDS_REPLICATION",
      description: `min.insync.replicas must be at most the replication factor (${rf}), or no acks=all write can succeed`,
    });
  }
  violations.push(...throughputViolations(next));
  // An illegal name already says what is wrong with it; the naming convention would only repeat it.
  const nameIsLegal = !violations.some((violation) => violation.field === "name");
  violations.push(
    ...guardrailViolations(name, next, previous, cluster).filter(
      (violation) => nameIsLegal || violation.field !== "name",
    ),
  );
  return violations;
}

function throughputViolations(next: TopicSpec): Violation[] {
  const throughput = next.throughput;
  if (!throughput) return [];
  const violations: Violation[] = [];
  if (throughput.averageMessageBytes > throughput.maxMessageBytes) {
    violations.push({
      field: "throughput.averageMessageBytes",
      reason: "THROUGHPUT_INCONSISTENT",
      description: `the average message (${throughput.averageMessageBytes} B) cannot exceed the largest (${throughput.maxMessageBytes} B)`,
    });
  }
  const limit = next.config?.["max.message.bytes"];
  if (limit !== undefined && limit < throughput.maxMessageBytes) {
    violations.push({
      field: "config.max.message.bytes",
      reason: "MESSAGE_LIMIT_BELOW_DECLARED",
      description: `max.message.bytes must be at least the declared largest message (${throughput.maxMessageBytes} B), or producers of it would be refused`,
    });
  }
  return violations;
}
