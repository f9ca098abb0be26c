import type { Violation } from "@plinth/core";
import type { ClusterSettings } from "./cluster-settings.ts";
import { formatBytes, formatDuration } from "./format.ts";
import { type TopicConfigKey, type TopicSpec, topicConfigKeys } from "./topic-spec.ts";

/** Configs the smart defaults fill: always allowed, whatever `allowedConfigs` says. */
export const managedConfigKeys: readonly TopicConfigKey[] = [
  "retention.ms",
  "min.insync.replicas",
  "max.message.bytes",
];

/** A reason of a violation an admin may override (with a reviewer). */
export function isGuardrailReason(reason: string | undefined): boolean {
  return reason?.startsWith("GUARDRAIL_") ?? false;
}

function changedConfig(next: TopicSpec, previous: TopicSpec | undefined, key: TopicConfigKey): boolean {
  const value = next.config?.[key];
  return value !== undefined && value !== previous?.config?.[key];
}

/**
 * The cluster's guardrails applied to a create or update. They judge what
 * changes (a value equal to the previous one passes), so a topic adopted or
 * overridden outside the guardrails stays updatable. Every reason starts
 * with "GUARDRAIL_". Pure.
 */
export function guardrailViolations(
  name: string,
  next: TopicSpec,
  previous: TopicSpec | undefined,
  cluster: ClusterSettings,
): Violation[] {
  const limits = cluster.guardrails;
  const violations: Violation[] = [];
  const add = (field: string, reason: string, description: string) =>
    violations.push({ field, reason: `GUARDRAIL_${reason}`, description, overridable: true });

  if (!previous && limits.namingPattern && !new RegExp(`^(?:${limits.namingPattern})$`, "u").test(name)) {
    add("name", "NAMING", `cluster "${next.cluster}" requires new topic names to match ${limits.namingPattern}`);
  }
  if (next.partitions !== undefined && next.partitions > limits.maxPartitions) {
    if (next.partitions > (previous?.partitions ?? 0)) {
      add("partitions", "MAX_PARTITIONS", `at most ${limits.maxPartitions} partitions on cluster "${next.cluster}"`);
    }
  }
  const rf = next.replicationFactor;
  if (rf !== undefined && rf < limits.minReplicationFactor && rf !== previous?.replicationFactor) {
    add(
      "replicationFactor",
      "MIN_REPLICATION_FACTOR",
      `at least ${limits.minReplicationFactor} replicas on cluster "${next.cluster}"`,
    );
  }
  // A compact-only topic never deletes by age: retention.ms does not apply to it.
  const retention = next.config?.["retention.ms"];
  if (
    retention !== undefined &&
    changedConfig(next, previous, "retention.ms") &&
    next.config?.["cleanup.policy"] !== "compact"
  ) {
    const tooLong = retention === -1 || retention > limits.maxRetentionMs;
    if (tooLong || retention < limits.minRetentionMs) {
      add(
        "config.retention.ms",
        "RETENTION",
        `retention must be between ${formatDuration(limits.minRetentionMs)} (${limits.minRetentionMs}) and ` +
          `${formatDuration(limits.maxRetentionMs)} (${limits.maxRetentionMs}) on cluster "${next.cluster}"`,
      );
    }
  }
  const messageBytes = next.config?.["max.message.bytes"];
  if (
    messageBytes !== undefined &&
    messageBytes > limits.maxMessageBytes &&
    changedConfig(next, previous, "max.message.bytes")
  ) {
    add(
      "config.max.message.bytes",
      "MAX_MESSAGE_BYTES",
      `at most ${limits.maxMessageBytes} on cluster "${next.cluster}"`,
    );
  }
  const bounded = (key: "segment.ms" | "segment.bytes", min: number, shown: string) => {
    const value = next.config?.[key];
    if (value !== undefined && value < min && changedConfig(next, previous, key)) {
      add(
        `config.${key}`,
        "MIN_SEGMENT",
        `at least ${shown} (${min}) on cluster "${next.cluster}": smaller segments multiply the broker's open files`,
      );
    }
  };
  bounded("segment.ms", limits.minSegmentMs, formatDuration(limits.minSegmentMs));
  bounded("segment.bytes", limits.minSegmentBytes, formatBytes(limits.minSegmentBytes));
  const ratio = next.config?.["min.cleanable.dirty.ratio"];
  if (
    ratio !== undefined &&
    (ratio < limits.minCleanableDirtyRatio || ratio > limits.maxCleanableDirtyRatio) &&
    changedConfig(next, previous, "min.cleanable.dirty.ratio")
  ) {
    add(
      "config.min.cleanable.dirty.ratio",
      "CLEANABLE_RATIO",
      `between ${limits.minCleanableDirtyRatio} and ${limits.maxCleanableDirtyRatio} on cluster "${next.cluster}"`,
    );
  }
  if (limits.allowedConfigs) {
    const allowed = new Set<string>([...managedConfigKeys, ...limits.allowedConfigs]);
    for (const key of topicConfigKeys) {
      if (!allowed.has(key) && changedConfig(next, previous, key)) {
        add(
          `config.${key}`,
          "CONFIG_NOT_ALLOWED",
          `cluster "${next.cluster}" allows only: ${[...allowed].sort().join(", ")}`,
        );
      }
    }
  }
  return violations;
}
