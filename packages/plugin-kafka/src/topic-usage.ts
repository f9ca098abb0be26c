import type { Usage } from "@plinth/core";
import type { TopicSpec } from "./topic-spec.ts";

/** The quota metrics a topic counts. */
export const topicQuotaMetrics = ["topics", "partitions", "retentionBytes"] as const;

/**
 * Bytes a topic declares it keeps, on all replicas: its declared peak
 * throughput over its retention time, or its size limit (retention.bytes is
 * per partition) when that is smaller. Nothing declared counts 0; kept
 * forever without a size limit counts as unbounded.
 */
export function declaredRetentionBytes(spec: TopicSpec): number {
  const throughput = spec.throughput;
  if (!throughput) return 0;
  const replicas = spec.replicationFactor ?? 1;
  const retentionMs = spec.config?.["retention.ms"] ?? -1;
  const sizeLimit = spec.config?.["retention.bytes"] ?? -1;
  const byTime =
    retentionMs === -1
      ? Number.POSITIVE_INFINITY
      : throughput.peakMessagesPerSecond * throughput.averageMessageBytes * (retentionMs / 1000);
  const bySize = sizeLimit === -1 ? Number.POSITIVE_INFINITY : sizeLimit * (spec.partitions ?? 1);
  return Math.round(Math.min(byTime, bySize) * replicas);
}

/** What a resolved topic counts against its team's quotas on its cluster. Pure. */
export function topicUsage(spec: TopicSpec): Usage {
  return {
    scope: spec.cluster,
    amounts: { topics: 1, partitions: spec.partitions ?? 0, retentionBytes: declaredRetentionBytes(spec) },
  };
}
