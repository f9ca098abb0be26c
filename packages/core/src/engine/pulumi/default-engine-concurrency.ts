import { availableParallelism, totalmem } from "node:os";

/**
 * What one Pulumi operation holds at its peak, measured with
 * bench/apply-latency.ts (a kafka.topic apply: the warm engine child, the
 * Pulumi CLI and the Kafka provider together, 400–520 MiB of RSS), with
 * headroom for heavier providers.
 */
export const operationMemoryBytes = 768 * 2 ** 20;

/** The engine.concurrency config's ceiling. */
export const maxEngineConcurrency = 32;

/**
 * Engine slots (Pulumi operations at once) this machine can carry: one per
 * core, since an operation's CLI and provider starts are CPU-bound and more
 * slots than cores only stretch every operation; and no more than half the
 * memory allows at `operationMemoryBytes` each, leaving the rest to the
 * server, its store and the system. At least 1, at most 32.
 */
export function defaultEngineConcurrency(
  machine: { cores: number; memoryBytes: number } = { cores: availableParallelism(), memoryBytes: totalmem() },
): number {
  const byMemory = Math.floor(machine.memoryBytes / 2 / operationMemoryBytes);
  return Math.max(1, Math.min(machine.cores, byMemory, maxEngineConcurrency));
}
