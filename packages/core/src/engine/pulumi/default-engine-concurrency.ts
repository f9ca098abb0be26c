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
 * Engine slots per core. A kafka.topic apply uses about 1.1–1.3 CPU seconds
 * of the engine child, the Pulumi CLI (`stack init` for a new stack, then
 * `up`) and the provider, over 3 s or more of wall time: the rest is waiting
 * for the broker and the provider's own polling. One slot per core left the
 * cores half idle in a burst (bench/apply-latency.ts --burst 100: 100 topics
 * took 241 s with 2 slots on 2 cores, 154 s with 4, at the same CPU per apply).
 */
export const slotsPerCore = 2;

/**
 * Engine slots (Pulumi operations at once) this machine can carry: two per
 * core (`slotsPerCore`), and no more than half the memory allows at
 * `operationMemoryBytes` each, leaving the rest to the server, its store and
 * the system. At least 1, at most 32.
 */
export function defaultEngineConcurrency(
  machine: { cores: number; memoryBytes: number } = { cores: availableParallelism(), memoryBytes: totalmem() },
): number {
  const byMemory = Math.floor(machine.memoryBytes / 2 / operationMemoryBytes);
  return Math.max(1, Math.min(machine.cores * slotsPerCore, byMemory, maxEngineConcurrency));
}
