import type { Interceptor } from "@connectrpc/connect";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import type { DenialRecord } from "../store/records.ts";

/**
 * How long a denial made on one replica may take to hold on the others
 * (docs/security.md, "Taking access away"). The replica that took it applies it at once.
 */
export const denyListMaxStalenessMs = 1_000;

export interface DenyListOptions {
  /**
   * The oldest a copy of the list may be when a request is judged by it: a
   * denial made on another replica takes effect here within this long. The
   * replica that took the denial applies it at once (`changed`).
   */
  maxStalenessMs: number;
  /** Monotonic, in ms. */
  clock?: () => number;
}

/** Why a principal is denied, undefined when it is not: at once from this replica's copy, or after reading the list again. */
export type DeniedReason = (principalId: string) => string | undefined | Promise<string | undefined>;

export interface DenyList {
  reasonFor: DeniedReason;
  /** This replica changed the list (a deny or an allow committed): the next request reads it again first. */
  changed(): void;
}

/**
 * The admins' deny list, kept per replica. Reading it from the store on every
 * RPC cost a store read per request (a round trip on PostgreSQL); the list is
 * small and changes rarely, so each replica keeps a copy and reads the whole
 * list again in the background once its copy is half the allowed staleness
 * old. A request never goes by a copy older than `maxStalenessMs` (measured
 * from when its read began): it waits for the read under way instead. A
 * failed read is not cached, so the next request tries again (and fails the
 * same way as a store read on every request would have).
 */
export function createDenyList(listDenials: () => Promise<DenialRecord[]>, options: DenyListOptions): DenyList {
  const clock = options.clock ?? (() => performance.now());
  let copy: { reasons: Map<string, string>; readAt: number } | undefined;
  let reading: Promise<Map<string, string>> | undefined;
  /** Bumped by `changed()`: a read that began before it may miss the change and must not become the copy. */
  let generation = 0;

  const read = (): Promise<Map<string, string>> => {
    if (reading) return reading;
    const startedAt = clock();
    const startedIn = generation;
    const pending = listDenials().then((denials) => {
      const reasons = new Map(denials.map((denial) => [denial.principal, denial.reason]));
      if (startedIn === generation) copy = { reasons, readAt: startedAt };
      return reasons;
    });
    reading = pending;
    const done = () => {
      if (reading === pending) reading = undefined;
    };
    pending.then(done, done);
    return pending;
  };

  return {
    reasonFor(principalId) {
      const age = copy === undefined ? Number.POSITIVE_INFINITY : clock() - copy.readAt;
      if (copy !== undefined && age < options.maxStalenessMs) {
        // Read ahead, so that under steady traffic no request waits for the list.
        if (age >= options.maxStalenessMs / 2) read().catch(() => undefined);
        return copy.reasons.get(principalId);
      }
      return read().then((reasons) => reasons.get(principalId));
    },
    changed() {
      generation++;
      copy = undefined;
      reading = undefined;
    },
  };
}

/** The RPCs that change the list (from the service descriptor: a renamed RPC fails to compile here). */
const changesTheList: ReadonlySet<unknown> = new Set([
  IdentityService.method.denyPrincipal,
  IdentityService.method.allowPrincipal,
]);

/**
 * Tells the deny list when an RPC on this replica changed it, once the RPC
 * has committed: the admin who denied someone sees it hold on this replica
 * at once (other replicas follow within `maxStalenessMs`).
 */
export function createDenyListChangeInterceptor(denyList: DenyList): Interceptor {
  return (next) => async (req) => {
    if (!changesTheList.has(req.method)) return await next(req);
    try {
      return await next(req);
    } finally {
      // Also after a failure: it may have come after the commit (a lost reply), and a read too many is cheap.
      denyList.changed();
    }
  };
}
