import type { ClusterSettings } from "./cluster-settings.ts";
import { formatBytes } from "./format.ts";
import type { Throughput } from "./topic-spec.ts";

export interface PartitionSuggestion {
  partitions: number;
  /** The computation in words, with its numbers. */
  explanation: string;
}

/**
 * The partition count a topic needs for its declared throughput. Constants
 * come from the cluster's `defaults` (values in brackets are the built-in ones):
 *
 * ```
 * needed     = ceil(max(peakMsgPerSec × avgBytes × headroom / targetBytesPerSec,
 *                       peakMsgPerSec × headroom / targetMsgPerSec))
 * partitions = needed ≤ minPartitions ? minPartitions : ceil(needed / step) × step
 * partitions = min(partitions, guardrails.maxPartitions)
 * ```
 *
 * - targetBytesPerSec [1 MiB/s] and targetMsgPerSec [1000/s] are what one
 *   partition is planned to carry: conservative, because one consumer reads
 *   one partition and consumers are usually the bottleneck;
 * - headroom [2] leaves room to double before partitions must be added,
 *   which remaps keys to partitions and so breaks per-key ordering;
 * - minPartitions [3] lets three consumers share even a quiet topic;
 * - step [6] makes counts divisible by 1, 2, 3 and 6 consumers.
 *
 * Without a declared throughput the answer is `minPartitions`. Pure.
 */
export function suggestPartitions(throughput: Throughput | undefined, cluster: ClusterSettings): PartitionSuggestion {
  const { minPartitions, partitionStep, headroom, partitionTargetBytesPerSecond, partitionTargetMessagesPerSecond } =
    cluster.defaults;
  const { maxPartitions } = cluster.guardrails;
  const bounded = (partitions: number) => Math.min(partitions, maxPartitions);
  if (!throughput) {
    const partitions = bounded(minPartitions);
    return {
      partitions,
      explanation: `${partitions}: no throughput declared, so the cluster minimum (declare throughput to size the topic)`,
    };
  }
  const peakBytes = throughput.peakMessagesPerSecond * throughput.averageMessageBytes;
  // The epsilon keeps float noise (2.0000000001) from adding a partition.
  const byBytes = Math.ceil((peakBytes * headroom) / partitionTargetBytesPerSecond - 1e-9);
  const byMessages = Math.ceil((throughput.peakMessagesPerSecond * headroom) / partitionTargetMessagesPerSecond - 1e-9);
  const needed = Math.max(byBytes, byMessages, 0);
  const stepped = needed <= minPartitions ? minPartitions : Math.ceil(needed / partitionStep) * partitionStep;
  const partitions = bounded(stepped);

  const parts = [
    `${partitions}: peak ${throughput.peakMessagesPerSecond} msg/s × ${throughput.averageMessageBytes} B = ${formatBytes(peakBytes)}/s`,
    `with ${headroom}× headroom that needs ${byBytes} partition(s) at ${formatBytes(partitionTargetBytesPerSecond)}/s each` +
      ` and ${byMessages} at ${partitionTargetMessagesPerSecond} msg/s each`,
    needed <= minPartitions
      ? `${needed} is at most the cluster minimum of ${minPartitions}`
      : `${needed} rounded up to a multiple of ${partitionStep} is ${stepped}`,
  ];
  if (partitions < stepped)
    parts.push(`capped at the cluster maximum of ${maxPartitions}: ask for a dedicated cluster`);
  return { partitions, explanation: parts.join("; ") };
}
