import type { Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { dateOf } from "./format.ts";

const hourMs = 3600 * 1000;
/** The chart's span: the last day, an hour a bar. */
export const hours = 24;

/** One hour of the last day: how many changes reached SUCCEEDED in it, and how long they took from submission. */
export interface HourOfChanges {
  /** Start of the hour, ms since the epoch. */
  start: number;
  count: number;
  medianMs: number | undefined;
  p95Ms: number | undefined;
}

export interface AppliedPerHour {
  hours: HourOfChanges[];
  total: number;
  medianMs: number | undefined;
  p95Ms: number | undefined;
}

/** The nearest-rank percentile (`p` in 0..100) of sorted `values`. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const summarise = (durations: number[]) => {
  const sorted = [...durations].sort((a, b) => a - b);
  return { medianMs: percentile(sorted, 50), p95Ms: percentile(sorted, 95) };
};

/**
 * `succeeded` (changes that reached SUCCEEDED) counted per hour of the 24
 * ending at the hour that holds `now`, with the median and p95 of their time
 * from submission to success, per hour and over the day. Changes that
 * finished before the first hour are left out.
 */
export function appliedPerHour(succeeded: readonly Change[], now: number): AppliedPerHour {
  const first = Math.floor(now / hourMs) * hourMs - (hours - 1) * hourMs;
  const perHour: number[][] = Array.from({ length: hours }, () => []);
  for (const change of succeeded) {
    const finished = dateOf(change.finishTime)?.getTime();
    const submitted = dateOf(change.createTime)?.getTime();
    if (finished === undefined || submitted === undefined || finished < first) continue;
    const index = Math.min(hours - 1, Math.floor((finished - first) / hourMs));
    perHour[index]!.push(Math.max(0, finished - submitted));
  }
  return {
    hours: perHour.map((durations, i) => ({
      start: first + i * hourMs,
      count: durations.length,
      ...summarise(durations),
    })),
    total: perHour.reduce((sum, durations) => sum + durations.length, 0),
    ...summarise(perHour.flat()),
  };
}

/** "850 ms", "4.2 s", "3 min": a duration with the precision a chart's label needs. */
export function shortDuration(ms: number | undefined): string {
  if (ms === undefined) return "none";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
