import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { LifecycleDeps } from "../domain/lifecycle-deps.ts";
import type { JsonObject } from "../domain/types.ts";
import { EngineError, type Engine } from "../engine/engine.ts";
import { submitReconcile } from "../domain/submit-change.ts";
import { emitNotification } from "../notifications/emit-notification.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { VerifyResult } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { ResourceDrift, ResourceRecord } from "../store/records.ts";
import { awaitsEngineState } from "./engine-state.ts";
import type { ForegroundActivity } from "./track-foreground.ts";

export interface ReconcilerOptions {
  /** Time between rounds; 0 turns periodic reconciling off. */
  intervalMs: number;
  /** The engine's slots; a round's refreshing previews hold at most `engineShare` of them. */
  engineConcurrency: number;
  /** Share of the engine a round may hold, (0, 1]: floor(concurrency x share) slots, at least 1. */
  engineShare: number;
  /** By plugin type, what to do about drift beyond reporting it; absent = report. */
  repair?: Record<string, RepairMode>;
}

export type RepairMode = "auto" | "review" | "report";

/** The resource label that overrides its type's `repair` mode. */
export const repairLabel = "plinth/repair";

/** The system principal that submits repairs; a resource's own team owns the change. */
export const reconcilerPrincipalId = "plinth-reconciler";

/** A resource's repair mode: its label when valid, else its type's, else report. */
export function repairModeOf(resource: ResourceRecord, byType: Record<string, RepairMode> = {}): RepairMode {
  const label = resource.labels[repairLabel];
  if (label === "auto" || label === "review" || label === "report") return label;
  return byType[resource.type] ?? "report";
}

/** Secret checks (one login each, say) a bulk comparison runs at once. */
const secretChecksAtOnce = 4;

/** How long the engine has been free of changes before a round's full checks go on; see `afterChanges`. */
const changesQuietMs = 1_000;
const changesPollMs = 250;

/** The most refreshing previews a round runs at once: its share of the engine, at least one slot. */
export function reconcileSlots(options: Pick<ReconcilerOptions, "engineConcurrency" | "engineShare">): number {
  return Math.max(1, Math.floor(options.engineConcurrency * options.engineShare));
}

/** Runs `work` over `items`, at most `limit` at a time, until done or `stopped()`. */
async function forEachLimited<T>(
  items: T[],
  limit: number,
  stopped: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stopped()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** A resource the round checks in full, with what a bulk comparison saw different (if anything). */
type Settled = ResourceRecord & { resolvedSpec: JsonObject };

interface Suspect {
  resource: Settled;
  seen: string[];
}

export interface Reconciler {
  start(): void;
  stop(): Promise<void>;
  /** One pass over every READY or DRIFTED resource; resolves when done. */
  reconcileOnce(): Promise<void>;
}

/**
 * Notices when reality moves away from what Plinth recorded. A round lists
 * each scope of a plugin with `observeInBulk` once (one `inventory` call per
 * cluster or instance) and compares every settled resource in it with what
 * was listed; only those that look different or are missing, those already
 * DRIFTED, and every resource of a plugin without bulk observation get the
 * expensive check: the plugin's `verify` and a refreshing engine preview
 * (both change nothing), a few at a time (its `engineShare` of the engine, as
 * background work that yields to changes). It marks the resource DRIFTED with
 * what it found, or READY again once the difference is gone. It never repairs
 * anything by itself: `ReconcileResource` re-applies the recorded spec as a
 * reviewed change.
 */
export function createReconciler(
  deps: LifecycleDeps & {
    engine: Engine;
    logger: Logger;
    metrics: Metrics;
    secrets?: SecretBox;
    /** The changes in this process's engine; without it, full checks never wait for them. */
    foreground?: ForegroundActivity;
  },
  options: ReconcilerOptions,
): Reconciler {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopping = false;
  /** This replica, as its reconcile claims name it. */
  const replica = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  /** The resource's secret outputs for `verify`; none when they cannot be opened (the check then does without). */
  function secretOutputsOf(resource: ResourceRecord): JsonObject {
    if (!resource.secretOutputs || !deps.secrets) return {};
    try {
      return deps.secrets.open(resource.secretOutputs);
    } catch {
      return {};
    }
  }

  /** What a refreshing engine preview of the recorded spec would change, in words; undefined when it could not run. */
  async function refreshPreview(resource: Settled, plugin: LoadedPlugin): Promise<string[] | undefined> {
    const findings: string[] = [];
    deps.metrics.reconcileObservations.inc({ type: resource.type, method: "refresh" });
    try {
      const preview = await deps.engine.preview({
        stackName: `${resource.type}--${resource.name}`,
        type: resource.type,
        name: resource.name,
        plugin: plugin.ref,
        settings: plugin.settingsJson,
        resolvedSpec: resource.resolvedSpec,
        changeId: `reconcile-${resource.revision}`,
        kind: "UPDATE",
        attempt: 0,
        refresh: true,
        background: true,
      });
      const steps = Object.entries(preview.steps).filter(([op]) => op !== "same");
      if (steps.length > 0) {
        findings.push(`engine: re-applying the recorded spec would ${steps.map(([op, n]) => `${op} ${n}`).join(", ")}`);
      }
    } catch (error) {
      // Unreachable or broken: the state is unknown, which is not drift. Try again next round.
      if (error instanceof EngineError) {
        deps.logger.warn(
          { type: resource.type, name: resource.name, err: error },
          "reconcile could not observe the resource",
        );
        return undefined;
      }
      throw error;
    }
    return findings;
  }

  /** `withEngine: false` for a resource without engine state (imported, not changed since): `verify` alone. */
  async function observe(resource: ResourceRecord, withEngine: boolean): Promise<string[] | undefined> {
    const plugin = deps.plugins.get(resource.type);
    if (!plugin || !resource.resolvedSpec) return undefined;
    const findings: string[] = [];
    if (withEngine) {
      const engine = await refreshPreview({ ...resource, resolvedSpec: resource.resolvedSpec }, plugin);
      if (engine === undefined) return undefined;
      findings.push(...engine);
    }
    const verify = plugin.definition.verify;
    if (verify) {
      const result = await verify({
        name: resource.name,
        spec: resource.resolvedSpec,
        outputs: resource.outputs,
        secretOutputs: secretOutputsOf(resource),
        settings: plugin.context.settings,
      }).catch((error: unknown): VerifyResult => ({
        ready: false,
        message: error instanceof Error ? error.message : String(error),
      }));
      if (!result.ready && result.unknown) {
        // As with an unreachable engine: not knowing is not drift. Try again next round.
        deps.logger.warn(
          { type: resource.type, name: resource.name, reason: result.message },
          "reconcile could not verify the resource",
        );
        return undefined;
      }
      if (!result.ready) findings.push(`verify: ${result.message ?? "not as recorded"}`);
    }
    return findings;
  }

  /** `seen`: what a bulk comparison found different, named first when the check confirms drift. */
  async function reconcile(resource: ResourceRecord, seen: string[]): Promise<void> {
    if ((await deps.store.openChanges(resource.type, resource.name)).length > 0) return;
    deps.logger.debug({ type: resource.type, name: resource.name, seen }, "reconcile checks the resource in full");
    const imported = await awaitsEngineState(deps.store, resource);
    const checked = await observe(resource, !imported);
    if (checked === undefined) return;
    // Without engine state there is no refresh to confirm the listing: what it saw different is the finding.
    const confirmed = checked.length > 0 || (imported && seen.length > 0);
    const findings = confirmed ? [...seen.map((difference) => `observed: ${difference}`), ...checked] : [];
    const drifted = await deps.store.transact(async (tx): Promise<ResourceRecord | undefined> => {
      const current = await tx.getResource(resource.type, resource.name);
      // Something moved while we looked: leave it to the next round.
      if (!current || current.revision !== resource.revision || !["READY", "DRIFTED"].includes(current.status))
        return undefined;
      if ((await tx.openChanges(resource.type, resource.name)).length > 0) return undefined;
      const now = deps.now().toISOString();
      if (findings.length === 0) {
        if (current.status === "DRIFTED") {
          await tx.upsertResource({ ...current, status: "READY", drift: null, updatedAt: now });
          await tx.appendAudit({
            time: now,
            principal: "plinth",
            action: "drift-cleared",
            target: `${current.type}/${current.name}`,
            details: {},
          });
        }
        return undefined;
      }
      const drift: ResourceDrift = {
        detectedAt: current.drift?.detectedAt ?? now,
        findings,
        details: { revision: current.revision } as JsonObject,
      };
      await tx.upsertResource({ ...current, status: "DRIFTED", drift, updatedAt: now });
      if (current.status !== "DRIFTED") {
        await tx.appendAudit({
          time: now,
          principal: "plinth",
          action: "drift-detected",
          target: `${current.type}/${current.name}`,
          details: { findings },
        });
        await emitNotification(tx, deps, {
          kind: "DRIFT_DETECTED",
          type: current.type,
          name: current.name,
          team: current.ownerTeam,
          change: null,
          message: `${current.type} "${current.name}" drifted from revision ${current.revision}: ${findings.join("; ")}`,
          details: { findings },
        });
        deps.logger.warn(
          { type: current.type, name: current.name, findings },
          "resource drifted from its recorded revision",
        );
      }
      return { ...current, status: "DRIFTED", drift };
    });
    if (drifted) await repair(drifted);
  }

  /**
   * Submits the repair a drifted resource's mode asks for: the recorded spec
   * re-applied (as ReconcileResource does) by the system principal, for the
   * resource's own team, audited and in its history like any change. One
   * request per drift (the id names its revision and when it was found), so
   * a later round replays it instead of piling up changes.
   */
  async function repair(resource: ResourceRecord): Promise<void> {
    const mode = repairModeOf(resource, options.repair);
    if (mode === "report" || !resource.drift) return;
    const principal = { id: reconcilerPrincipalId, team: resource.ownerTeam, roles: ["requester" as const] };
    try {
      const submitted = await submitReconcile(deps, principal, {
        type: resource.type,
        name: resource.name,
        requestId: `repair-${resource.revision}-${resource.drift.detectedAt}`,
        comment: `${mode === "auto" ? "automatic" : "reviewed"} repair of drift: ${resource.drift.findings.join("; ")}`,
        repair: mode,
      });
      deps.logger.info(
        { type: resource.type, name: resource.name, mode, changeId: submitted.change?.id },
        "reconciler submitted a repair",
      );
    } catch (error) {
      // The resource stays DRIFTED; the next round tries again with the same request id.
      deps.logger.warn(
        { type: resource.type, name: resource.name, err: error },
        "reconciler could not submit a repair",
      );
    }
  }

  /** Every READY and DRIFTED resource, as the round starts. */
  async function settledResources(): Promise<Settled[]> {
    const settled: Settled[] = [];
    for (const status of ["READY", "DRIFTED"] as const) {
      let token = "";
      do {
        const page = await deps.store.listResources({ status }, 500, token);
        settled.push(...page.items.filter((resource): resource is Settled => resource.resolvedSpec !== null));
        token = page.nextPageToken;
      } while (token);
    }
    return settled;
  }

  /**
   * Compares one type's resources with one inventory listing per scope.
   * Returns those that need the full check, each with what looked different.
   * A scope that cannot be listed leaves its resources as they are: not
   * knowing is not drift. Only scopes this replica claims for `round` are
   * looked at (replicas sharing a store split them); a type without bulk
   * observation is one scope, `<type>/*`.
   */
  async function compareInBulk(type: string, resources: Settled[], round: number): Promise<Suspect[]> {
    const plugin = deps.plugins.get(type);
    const bulk = plugin?.definition.observeInBulk;
    const inventory = plugin?.definition.inventory;
    const oneByOne: Settled[] = [];
    const byScope = new Map<string, Settled[]>();
    for (const resource of resources) {
      if (!plugin || !bulk || !inventory) {
        oneByOne.push(resource);
        continue;
      }
      try {
        const scope = bulk.scope(resource.name, resource.resolvedSpec, plugin.context);
        byScope.set(scope, [...(byScope.get(scope) ?? []), resource]);
      } catch (error) {
        deps.logger.warn({ type, name: resource.name, err: error }, "observeInBulk.scope threw; checking one by one");
        oneByOne.push(resource);
      }
    }
    const suspects: Suspect[] = [];
    if (oneByOne.length > 0 && (await claim(`${type}/*`, round))) {
      suspects.push(...oneByOne.map((resource) => ({ resource, seen: [] })));
      observed(`${type}/*`, round, oneByOne.length, oneByOne.length);
    }
    if (!plugin || !bulk || !inventory) return suspects;
    for (const [scope, members] of byScope) {
      await afterChanges();
      if (stopping) break;
      if (!(await claim(`${type}/${scope}`, round))) continue;
      let items;
      try {
        items = await inventory(scope, plugin.context);
      } catch (error) {
        deps.logger.warn({ type, scope, err: error }, "reconcile could not list the scope; its resources wait");
        continue;
      }
      const byIdentity = new Map(items.map((item) => [item.identity, item]));
      const before = suspects.length;
      const asListed: Settled[] = [];
      for (const resource of members) {
        deps.metrics.reconcileObservations.inc({ type, method: "bulk" });
        let seen: string[];
        try {
          seen = bulk.differences(
            byIdentity.get(resource.identity),
            resource.name,
            resource.resolvedSpec,
            plugin.context,
          );
        } catch (error) {
          seen = [`could not compare: ${error instanceof Error ? error.message : String(error)}`];
        }
        // A DRIFTED resource gets the full check whatever the listing says: only it clears the drift.
        if (seen.length > 0 || resource.status === "DRIFTED") suspects.push({ resource, seen });
        else asListed.push(resource);
      }
      const checkSecrets = bulk.checkSecrets;
      if (checkSecrets) {
        await forEachLimited(
          asListed,
          secretChecksAtOnce,
          () => stopping,
          async (resource) => {
            const seen = await checkSecrets(
              resource.name,
              resource.resolvedSpec,
              secretOutputsOf(resource),
              plugin.context,
            ).catch((error: unknown) => [
              `could not check its secrets: ${error instanceof Error ? error.message : String(error)}`,
            ]);
            if (seen.length > 0) suspects.push({ resource, seen });
          },
        );
      }
      observed(`${type}/${scope}`, round, members.length, suspects.length - before);
    }
    return suspects;
  }

  /**
   * One line per scope and round, from the replica that claimed it: with
   * replicas sharing a store, these lines show each scope observed once per
   * round, and by whom.
   */
  function observed(scope: string, round: number, resources: number, suspects: number): void {
    deps.logger.info({ scope, round, replica, resources, suspects }, "reconcile observed a scope");
  }

  /** Whether this replica observes `scopeKey` in `round`; a store that cannot say leaves it to the next round. */
  async function claim(scopeKey: string, round: number): Promise<boolean> {
    try {
      return await deps.store.transact((tx) =>
        tx.claimReconcileScope(scopeKey, round, replica, deps.now().toISOString()),
      );
    } catch (error) {
      deps.logger.warn({ scope: scopeKey, err: error }, "reconcile could not claim the scope; it waits");
      return false;
    }
  }

  /**
   * One pass. Replicas sharing a store number rounds alike, by the interval
   * since the epoch: rounds start at least an interval apart, so one replica
   * never gets the same number twice. Off the periodic schedule (interval 0),
   * every call is a round of its own, numbered by the millisecond.
   */
  async function reconcileOnce(): Promise<void> {
    const round = options.intervalMs > 0 ? Math.floor(Date.now() / options.intervalMs) : Date.now();
    // Listing every settled resource and comparing it takes this process's CPU too: after the changes.
    await afterChanges();
    const byType = new Map<string, Settled[]>();
    for (const resource of await settledResources()) {
      byType.set(resource.type, [...(byType.get(resource.type) ?? []), resource]);
    }
    const suspects: Suspect[] = [];
    for (const [type, resources] of byType) {
      if (stopping) return;
      suspects.push(...(await compareInBulk(type, resources, round)));
    }
    await forEachLimited(
      suspects,
      reconcileSlots(options),
      () => stopping,
      async ({ resource, seen }) => {
        await afterChanges();
        if (stopping) return;
        await reconcile(resource, seen).catch((error: unknown) =>
          deps.logger.error({ err: error, type: resource.type, name: resource.name }, "reconcile failed"),
        );
      },
    );
  }

  /**
   * Changes come first, for the cores as well as the engine's slots: a round,
   * each scope's listing and each full check start only once this process's
   * engine has run no change operation for `changesQuietMs` (so a person
   * submitting one change after another is not slowed by previews slipping in
   * between). The engine already hands a free slot to a waiting change before
   * a drift check, but a refreshing preview beside an apply still takes half
   * of a 2-core machine from it (measured: Apply to SUCCEEDED about 1.6 to 2
   * times as long). A preview already running when a change arrives runs to
   * its end: stopping it would cost a new engine child, which competes for the
   * cores the same way. Under changes that never pause the round waits, and
   * reports itself late (the overrun metric and warning).
   */
  async function afterChanges(): Promise<void> {
    const activity = deps.foreground;
    if (!activity) return;
    while (!stopping && activity.idleForMs(Date.now()) < changesQuietMs) {
      await new Promise((resolve) => setTimeout(resolve, changesPollMs));
    }
  }

  /** One periodic round, measured: `PlinthReconcileLate` alerts when rounds stop ending in time. */
  async function timedRound(): Promise<void> {
    const started = Date.now();
    let outcome = "ok";
    try {
      await reconcileOnce();
    } catch (error) {
      outcome = "failed";
      deps.logger.error({ err: error }, "reconcile round failed");
    }
    const seconds = (Date.now() - started) / 1000;
    deps.metrics.reconcileRounds.inc({ outcome });
    deps.metrics.reconcileRoundDuration.observe(seconds);
    if (seconds * 1000 > options.intervalMs) {
      // The next round starts late (now, not an interval after this one started): drift is found later than configured.
      deps.metrics.reconcileOverruns.inc();
      deps.logger.warn(
        { seconds, intervalSeconds: options.intervalMs / 1000 },
        "reconcile round took longer than its interval",
      );
    }
    deps.metrics.reconcileLastRoundEnd.set(Date.now() / 1000);
  }

  /**
   * Rounds start an interval apart, counted from the previous round's start:
   * a deletion just after a round listed its scope is then seen one interval
   * later, not an interval plus that round's full checks. A round that
   * overran is followed at once by the next.
   */
  let lastStart: number | undefined;
  const schedule = () => {
    if (stopping || options.intervalMs <= 0) return;
    const due = lastStart === undefined ? options.intervalMs : lastStart + options.intervalMs - Date.now();
    timer = setTimeout(
      () => {
        lastStart = Date.now();
        round = timedRound().finally(schedule);
      },
      Math.max(0, due),
    );
    timer.unref();
  };

  return {
    start() {
      deps.metrics.reconcileInterval.set(Math.max(0, options.intervalMs) / 1000);
      // Counts as a round's end, so a fresh server is not "late" before its first round is due.
      deps.metrics.reconcileLastRoundEnd.set(Date.now() / 1000);
      schedule();
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await round;
    },
    reconcileOnce,
  };
}
