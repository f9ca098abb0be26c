import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../../domain/errors.ts";
import type { Violation } from "../../plugin/define-plugin.ts";

export const maxPageSize = 500;
export const defaultPageSize = 50;

/** 0 means the default; more than the maximum is a client mistake, not silently clamped. */
export function pageSize(requested: number): number {
  const violations: Violation[] = [];
  const size = checkedPageSize(requested, violations);
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  return size;
}

/** `pageSize`, adding its violation to `violations` (to be reported with the request's others) instead of throwing. */
export function checkedPageSize(requested: number, violations: Violation[]): number {
  if (requested === 0) return defaultPageSize;
  if (requested < 0 || requested > maxPageSize) {
    violations.push({
      field: "page_size",
      description: `must be between 1 and ${maxPageSize} (0 for ${defaultPageSize})`,
      reason: "OUT_OF_RANGE",
    });
  }
  return requested;
}

/** Years the store's ISO times can hold and compare as text: 0001 to 9999. */
const earliest = new Date("0001-01-01T00:00:00.000Z").getTime();
const latest = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A time filter as the store's ISO text, or undefined when the request left
 * it out; a time outside years 1 to 9999 is added to `violations`.
 */
export function isoTimeFilter(
  value: Timestamp | undefined,
  field: string,
  violations: Violation[],
): string | undefined {
  if (value === undefined) return undefined;
  const date = timestampDate(value);
  const ms = date.getTime();
  if (!Number.isFinite(ms) || ms < earliest || ms > latest) {
    violations.push({ field, description: "must be a time between years 1 and 9999", reason: "OUT_OF_RANGE" });
    return undefined;
  }
  return date.toISOString();
}
