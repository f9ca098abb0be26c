import { InvalidArgumentError } from "../../domain/errors.ts";

export const maxPageSize = 500;
export const defaultPageSize = 50;

/** 0 means the default; more than the maximum is a client mistake, not silently clamped. */
export function pageSize(requested: number): number {
  if (requested === 0) return defaultPageSize;
  if (requested < 0 || requested > maxPageSize) {
    throw new InvalidArgumentError([
      {
        field: "page_size",
        description: `must be between 1 and ${maxPageSize} (0 for ${defaultPageSize})`,
        reason: "OUT_OF_RANGE",
      },
    ]);
  }
  return requested;
}
