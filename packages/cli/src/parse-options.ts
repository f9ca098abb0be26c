import { InvalidArgumentError } from "commander";
import { ChangeStatus, ResourceStatus } from "@plinth/sdk";

/** A revision number: an integer ≥ 0, as bigint like the API's int64. */
export function parseRevision(value: string): bigint {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError("expected a revision number (0, 1, 2, ...).");
  }
  return BigInt(value);
}

/** A positive count such as `--limit`. */
export function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidArgumentError("expected a positive integer.");
  }
  return limit;
}

/** A change status by name, any case, `-` or `_`: `pending-review`, `FAILED`. */
export function parseChangeStatus(value: string): ChangeStatus {
  return parseEnumName(ChangeStatus, value);
}

/** A resource status by name, any case: `ready`, `DRIFTED`. */
export function parseResourceStatus(value: string): ResourceStatus {
  return parseEnumName(ResourceStatus, value);
}

function parseEnumName<E extends number>(enumObject: Record<string, string | number>, value: string): E {
  const key = value.trim().toUpperCase().replaceAll("-", "_");
  const found = enumObject[key];
  if (typeof found !== "number" || found === 0) {
    const allowed = Object.keys(enumObject)
      .filter((name) => Number.isNaN(Number(name)) && enumObject[name] !== 0)
      .map((name) => name.toLowerCase())
      .join(", ");
    throw new InvalidArgumentError(`expected one of: ${allowed}.`);
  }
  return found as E;
}
