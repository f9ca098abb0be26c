import type { z } from "zod";
import type { ChangeKind, JsonObject, Principal, SpecDifference } from "../domain/types.ts";

/** A problem with a spec: the field path and what is allowed, in words. */
export interface Violation {
  /**
   * Dotted path inside the spec, e.g. "partitions" or "config.retention.ms"
   * (clients see it as "spec.partitions"), or "name" for the resource name.
   */
  field: string;
  description: string;
  /** UPPER_SNAKE_CASE, for machines. */
  reason?: string;
  /**
   * True when the spec is fine on its own but the move from the previous
   * spec is not allowed (e.g. fewer partitions): FAILED_PRECONDITION rather
   * than INVALID_ARGUMENT.
   */
  transition?: boolean;
  /**
   * A policy limit (a guardrail) rather than a hard rule: an admin may
   * override it explicitly; the change then needs a reviewer and is audited.
   */
  overridable?: boolean;
}

/** Minimal structured logger handed to plugins. Never log secrets. */
export interface PluginLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What core hands a plugin: its own validated settings and a logger; never core internals. */
export interface PluginContext<Settings> {
  settings: Settings;
  logger: PluginLogger;
}

export interface Defaulted<Spec> {
  spec: Spec;
  /** Why each default was chosen, keyed by spec path. */
  explanations?: Record<string, string>;
}

export interface ReviewInput<Spec> {
  kind: ChangeKind;
  name: string;
  /** The resolved spec in force before this change; undefined for a create. */
  previous: Spec | undefined;
  /** The resolved spec this change asks for; undefined for a delete. */
  next: Spec | undefined;
  differences: SpecDifference[];
  principal: Principal;
}

/** How many approvals a change needs (0 = auto-approved) and why. */
export interface ReviewDecision {
  approvals: number;
  reasons: string[];
}

export interface ProgramInput<Spec, Settings> {
  name: string;
  spec: Spec;
  settings: Settings;
  /**
   * The plugin's secret outputs as Plinth's store holds them, when it holds
   * any: what was revealed to the owners, which may differ from Pulumi's
   * state after an adoption (`plinth-server adopt-secrets`). A program may
   * pass them to its resources as Pulumi secrets; never log them.
   */
  secretOutputs?: JsonObject;
}

export interface VerifyInput<Spec, Settings> {
  name: string;
  spec: Spec;
  outputs: JsonObject;
  /**
   * Values of the plugin's `secretOutputs`, when core has them (after an
   * apply, and in reconcile rounds), for a check that needs them: e.g.
   * logging in with a generated password. Never log or return them.
   */
  secretOutputs?: JsonObject;
  settings: Settings;
}

export interface InventoryItem {
  name: string;
  /** Same form as `identity(name, spec)` returns for a resource of it. */
  identity: string;
  observed: JsonObject;
}

/** How a reconcile round compares what `inventory` lists with a resource's recorded resolved spec. */
export interface BulkObservation<Spec, Settings> {
  /** The inventory scope the resource lives in (e.g. its cluster). Pure. */
  scope: (name: string, spec: Spec, ctx: PluginContext<Settings>) => string;
  /**
   * What differs between the scope's item for this resource (matched by
   * identity; undefined when the scope holds none) and its recorded resolved
   * spec, in spec terms, e.g. "partitions: 5 observed, 3 recorded". Empty =
   * looks as recorded. Pure. When unsure, report a difference: it only costs
   * a confirming preview, while a miss hides drift until the next round.
   */
  differences: (item: InventoryItem | undefined, name: string, spec: Spec, ctx: PluginContext<Settings>) => string[];
  /**
   * Optional: what a listing cannot show, a stored secret checked against the
   * real system (e.g. a login with the password Plinth holds, which a
   * restored backup may hold stale). Called for each resource the listing
   * found as recorded, with its opened secret outputs, a few at a time; what
   * it returns counts as `differences` do. Must not change anything. A throw
   * counts as a difference (unsure: the full check decides).
   */
  checkSecrets?: (
    name: string,
    spec: Spec,
    secretOutputs: JsonObject,
    ctx: PluginContext<Settings>,
  ) => Promise<string[]>;
}

export interface VerifyResult {
  ready: boolean;
  message?: string;
  /**
   * With `ready: false`: the check could not look at all (the system it asks,
   * e.g. a metrics store, is unreachable or refused the question), so it says
   * nothing about the resource. The worker keeps polling as for any "not
   * ready"; a reconcile round leaves the resource as it is instead of
   * calling it drifted.
   */
  unknown?: boolean;
}

/** What the real system says of a spec before it is recorded (see `precheck`). */
export interface Precheck {
  /** Why the system would refuse the spec, each naming its field (a path inside the spec). */
  violations?: Violation[];
  /** What a reviewer should read, in words, e.g. `field "amount" added (default 0)`. */
  findings?: string[];
}

/** A create that a crash interrupted: Pulumi may or may not have made the resource. */
export interface PendingCreate {
  /** Pulumi type token, e.g. "kafka:index/topic:Topic". */
  type: string;
  /** The resource's logical name in the program. */
  name: string;
  /** The inputs the interrupted create was called with (secret ones still encrypted). */
  inputs: Record<string, unknown>;
}

/**
 * Everything a resource type is. Only `type`, `version`, `spec` and
 * `program` are required; every other capability has a safe default.
 */
export interface PluginDefinition<Spec = unknown, Settings = unknown> {
  /** "<family>.<kind>", lower case, e.g. "kafka.topic". */
  type: string;
  /** Semver of the plugin itself. */
  version: string;
  description?: string;
  /** Validates the plugin's section of the service config at start. */
  settings?: z.ZodType<Settings>;
  /** Validates and types a spec; also published as JSON Schema. */
  spec: z.ZodType<Spec>;
  /**
   * The team a spec names as the resource's owner (e.g. `spec.owner.team`).
   * Core makes it the resource's owning team, the one fact authorization,
   * reveals and quotas use: a requester may only name its own team, an admin
   * names any, and a different team on an update is an ownership transfer.
   * Pure. Absent, or returning undefined for a spec that names no team: the
   * resource belongs to the team of whoever creates it, and keeps its team.
   */
  ownerTeam?: (spec: Spec) => string | undefined;
  /**
   * What this spec reaches that resources of other types (or other
   * resources of this type) own: e.g. a Kafka user's grant on topics of a
   * prefix reaches the teams owning those topics. Core compares each
   * reach's `ownerTeam` with the resource's own team: a reach into another
   * team is an access request that a reviewer of that team must approve.
   * Core also calls it on states that do not exist yet (a lookup with and
   * without a resource about to be created), to refuse a resource that
   * would fall under another team's grant its team never approved. Must not
   * change anything; reads only through `lookup` and depends on nothing else.
   */
  reaches?: (name: string, spec: Spec, lookup: ResourceLookup, ctx: PluginContext<Settings>) => Promise<Reach[]>;
  /**
   * The spec as its client wrote it (`spec`, unparsed), without the reach
   * at `field` (a `Reach.field` of this spec): what RevokeAccessGrant
   * applies when the team owning what is reached withdraws it. The result
   * goes through the whole submit path (parse, defaults, validate, review).
   * Pure. Absent: this type's grants cannot be revoked by their owner.
   */
  revoke?: (name: string, spec: JsonObject, field: string, ctx: PluginContext<Settings>) => Revocation;
  /**
   * What one resource counts against its owning team's quotas, in one scope
   * (e.g. `{ scope: "main", amounts: { topics: 1, partitions: 12 } }`). Pure.
   * Core sums it over the team's resources of this type in the scope.
   */
  usage?: (name: string, spec: Spec, ctx: PluginContext<Settings>) => Usage;
  /** A team's limits in a scope, by metric, from the plugin settings; a metric absent is unlimited. Pure. */
  quota?: (scope: string, team: string, ctx: PluginContext<Settings>) => Record<string, number>;
  /**
   * A key two resources must not share (e.g. cluster + normalized topic name).
   * Pure. Defaults to the resource name.
   */
  identity?: (name: string, spec: Spec, ctx: PluginContext<Settings>) => string;
  /** Fills in smart defaults. Pure and idempotent: defaults(defaults(x)) = defaults(x). */
  defaults?: (name: string, spec: Spec, ctx: PluginContext<Settings>) => Defaulted<Spec>;
  /** Checks a transition from `previous` (undefined on create) to `next`. Returns violations; empty = fine. */
  validate?: (name: string, next: Spec, previous: Spec | undefined, ctx: PluginContext<Settings>) => Violation[];
  /**
   * Checks that the resource may be deleted (e.g. deletion protection). Returns
   * violations (a delete refused is FAILED_PRECONDITION); empty = fine.
   */
  validateDelete?: (name: string, previous: Spec, ctx: PluginContext<Settings>) => Violation[];
  /**
   * Observes the real system before a create: something already there under
   * this identity that Plinth does not manage. Returns what to tell the
   * requester (e.g. how to adopt it), or undefined when the way is clear.
   * Must not change anything. Called outside any transaction, with a timeout.
   * Fails closed: if it throws or does not answer in time, the create is
   * refused with UNAVAILABLE (nothing recorded; the client retries), never
   * created on a guess. So throw when unsure, never return undefined.
   */
  findUnmanaged?: (name: string, spec: Spec, ctx: PluginContext<Settings>) => Promise<string | undefined>;
  /**
   * Asks the real system, before anything is recorded, whether it will take
   * this spec (e.g. a schema registry's compatibility check of a new schema
   * against the subject's versions) and what a reviewer should read about
   * it. Called on every apply and preview that changes the resolved spec
   * (`previous` undefined on a create), outside any transaction, with a
   * timeout. Its violations refuse the change like `validate`'s; overridable
   * ones an admin may override, and the change is then held for a reviewer.
   * Its findings go into the preview's and the change's review reasons.
   * Must not change anything. Fails closed: if it throws or does not answer
   * in time, the change is refused with UNAVAILABLE and nothing is recorded.
   * Asked again when the worker claims the change, against the revision
   * applied then: violations fail the change before the engine runs; no
   * answer makes the attempt retry.
   */
  precheck?: (name: string, next: Spec, previous: Spec | undefined, ctx: PluginContext<Settings>) => Promise<Precheck>;
  /**
   * What depends on this resource, in words, e.g. the `kafka.schema`
   * subjects bound to a topic. Shown by GetResource (`dependents`) and, on a
   * delete, added to the change's review reasons so the requester learns what
   * happens to them. Reads only through `lookup`; a throw is logged and
   * shows nothing (it never blocks a read or a delete).
   */
  dependents?: (name: string, spec: Spec, lookup: ResourceLookup, ctx: PluginContext<Settings>) => Promise<string[]>;
  /**
   * Lists what the real system holds in one scope (e.g. a Kafka cluster's
   * topics), each with the identity a Plinth resource for it would have.
   * Must not change anything. Core marks each item managed, unmanaged or drifted.
   */
  inventory?: (scope: string, ctx: PluginContext<Settings>) => Promise<InventoryItem[]>;
  /** The scopes `inventory` accepts (e.g. cluster names); others are refused with this list. */
  inventoryScopes?: (ctx: PluginContext<Settings>) => string[];
  /**
   * Bulk adoption (`plinth import`, needs `inventory` and `observeInBulk`):
   * the spec, as a client would write it, that describes `item` of `scope`
   * exactly as it is, owned by `owner` (from the operator's import rules).
   * Core parses it, fills defaults and compares the result with the item
   * through `observeInBulk.differences`; an item where they differ is not
   * imported. The recorded resource has no engine state until its first
   * change, so the spec must also make that change's program take the
   * existing thing over rather than create it (e.g. a topic's `adopt: true`),
   * and a first apply of the spec itself must change nothing. A `refusal`
   * says why this item is never imported (e.g. a Kafka internal topic). Pure.
   */
  importSpec?: (item: InventoryItem, scope: string, owner: ImportOwner, ctx: PluginContext<Settings>) => ImportedSpec;
  /**
   * Drift observed in bulk (needs `inventory`): a reconcile round lists each
   * scope once and compares every managed resource in it with its item, in
   * spec terms. Only a resource that looks different (or is missing) gets the
   * refreshing engine preview that confirms the drift. Absent: every
   * resource of this type gets that preview, a few at a time.
   */
  observeInBulk?: BulkObservation<Spec, Settings>;
  /** The plugin's review policy; combined with the global policy (the larger demand wins). */
  review?: (input: ReviewInput<Spec>, ctx: PluginContext<Settings>) => ReviewDecision;
  /** The review policy in words, for GetPlugin. */
  reviewPolicy?: string;
  /**
   * The body of a Pulumi inline program that declares this resource.
   * Runs inside the engine's child process, never in the server. Returns outputs.
   */
  program: (input: ProgramInput<Spec, Settings>) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Output keys that are secrets: encrypted at rest, never returned by Get/List. */
  secretOutputs?: readonly string[];
  /** Independent check that the resource really is as the spec says. Must not change anything. */
  verify?: (input: VerifyInput<Spec, Settings>) => Promise<VerifyResult>;
  /**
   * Independent check, after a delete, that the resource is really gone
   * (`ready: true` = gone). Must not change anything. Polled like `verify`.
   */
  verifyGone?: (input: VerifyInput<Spec, Settings>) => Promise<VerifyResult>;
  /**
   * Crash recovery: a create interrupted between the provider call and the
   * state write may have made a resource that Pulumi's state does not know.
   * Returns the provider ID to adopt it by (a Kafka topic's is its name); the
   * engine refreshes it into state rather than creating a duplicate or
   * failing with "already exists". Undefined (the default) drops the
   * interrupted create. Pure; runs in the engine's child process.
   */
  adoptPendingCreate?: (pending: PendingCreate) => string | undefined;
  /**
   * What the resource is right now, beyond its spec, for its page in the
   * console (`GetResourceSummary`): a few numbers and short time series read
   * from what the plugin already observes (a topic's log size from
   * Prometheus). Must not change anything, and should answer within a few
   * seconds (core gives up after `summaryTimeoutMs`). Must not throw for an
   * unreachable system: return the facts it could read and say in `missing`
   * what it could not, and why. Absent: the summary is empty.
   */
  summarize?: (input: Omit<VerifyInput<Spec, Settings>, "secretOutputs">) => Promise<ResourceSummary>;
}

/** A number about a resource, e.g. `{ label: "Log size", value: 1048576, unit: "bytes", source: "Prometheus" }`. */
export interface SummaryFact {
  label: string;
  value: number;
  /** "bytes", "count", "messages", "seconds", or another plain unit name; the console formats the first four. */
  unit: string;
  /** Where the number comes from ("Prometheus", "spec"), shown beside it. */
  source?: string;
}

/** A short time series, oldest point first; a few hundred points at most. */
export interface SummarySeries {
  label: string;
  unit: string;
  source?: string;
  points: { time: Date; value: number }[];
}

export interface ResourceSummary {
  facts?: SummaryFact[];
  series?: SummarySeries[];
  /** What could not be read, each in words with its reason ("log size: Prometheus … unreachable: …"). */
  missing?: string[];
}

/** A live resource as `ResourceLookup` shows it: its owning team and resolved spec. */
export interface OwnedResource {
  name: string;
  ownerTeam: string;
  /** The resolved spec it has, or will have once the changes in flight apply. */
  spec: JsonObject;
}

/** Read-only view of the resources Plinth manages, handed to `reaches`. */
export interface ResourceLookup {
  /** Every resource of `type` that exists or is being created, with its owner. */
  list(type: string): Promise<OwnedResource[]>;
}

/** Something another team may own that a spec reaches. */
export interface Reach {
  /** Dotted path inside the spec of what reaches, e.g. "access.0.topics". */
  field: string;
  /**
   * The team owning what is reached. Absent when no team owns it (e.g. a
   * topic prefix no managed topic is under yet: whoever creates topics
   * there later would be read without being asked). Core refuses a new
   * unowned reach to requesters; only an admin's override, which a
   * reviewer must approve and the audit log records, lets it through.
   */
  ownerTeam?: string;
  /** For an unowned reach: what the requester can do instead, e.g. "create a topic under it first". */
  hint?: string;
  /** What is asked, in words, completing "payments asks to ...": e.g. `read topics orders.*`. */
  access: string;
  /**
   * Only the team owning what is reached may hold this reach (e.g. a schema
   * subject bound to a topic belongs with the topic): another team's
   * requester is refused (reason OWNERS_ONLY_REACH) instead of asking for
   * access; an admin may override it, and the owning team's reviewer must
   * then approve as for any access request.
   */
  ownersOnly?: boolean;
}

/** Who receives an imported resource: a team and where to reach it, from the operator's import rules. */
export interface ImportOwner {
  team: string;
  contact: string;
}

/** What `importSpec` makes of an inventory item: the spec to record, or why it is never imported. */
export type ImportedSpec = { spec: JsonObject; refusal?: undefined } | { spec?: undefined; refusal: string };

/** A written spec without one reach, or why that reach cannot be removed alone. */
export type Revocation = { spec: JsonObject; refusal?: undefined } | { spec?: undefined; refusal: string };

/** What a resource counts against its team's quotas. */
export interface Usage {
  scope: string;
  /** By metric, e.g. { topics: 1, partitions: 12 }. */
  amounts: Record<string, number>;
}

/** A plugin is one value: `export const kafkaTopic = definePlugin({...})`. */
export function definePlugin<Spec, Settings = Record<string, never>>(
  definition: PluginDefinition<Spec, Settings>,
): PluginDefinition<Spec, Settings> {
  return definition;
}
