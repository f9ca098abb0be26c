import type { PhaseMarks } from "./child-protocol.ts";

/**
 * Milliseconds spent in each phase of one operation, in the order reached:
 * each mark's time minus the one before (the first minus `since`, when the
 * engine handed the operation out). For the engine's "finished" log line,
 * which says where an apply's time went (child start, plugin load, CLI,
 * stack selection, engine start, provider, steps).
 */
export function phaseDurations(marks: PhaseMarks, since: number): Record<string, number> {
  const durations: Record<string, number> = {};
  let previous = since;
  for (const [phase, at] of [...marks].sort((a, b) => a[1] - b[1])) {
    durations[phase] = (durations[phase] ?? 0) + Math.max(0, at - previous);
    previous = Math.max(previous, at);
  }
  return durations;
}
