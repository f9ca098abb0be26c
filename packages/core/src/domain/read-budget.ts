import { ResourceExhaustedError } from "./errors.ts";
import type { StoreReader } from "../store/store.ts";

/** The listing reads a call's work grows with: every resource and change they return is counted. */
const counted = new Set<string | symbol>(["listResources", "listChanges"]);

/**
 * The store as one call may read it: after `max` resources and changes
 * read (across every page and every lookup the call makes), the call stops
 * with RESOURCE_EXHAUSTED instead of reading on. One caller's preview of a
 * spec that reaches everything, or a grant listing without a filter on a
 * large installation, must not hold a store connection and a core for as
 * long as it likes.
 */
export function withReadBudget<T extends StoreReader>(reader: T, max: number, what: string): T {
  let read = 0;
  return new Proxy(reader, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (!counted.has(property)) return (value as (...args: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const page = (await (value as (...a: unknown[]) => Promise<{ items: unknown[] }>).apply(target, args)) as {
          items: unknown[];
        };
        read += page.items.length;
        if (read > max) {
          throw new ResourceExhaustedError(
            `${what} would read more than ${max} resources and changes (limits.maxReadsPerCall); ` +
              `narrow it down, or ask an operator to raise the limit`,
          );
        }
        return page;
      };
    },
  });
}
