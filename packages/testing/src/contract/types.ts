import type { EnginePreview, PluginDefinition } from "@plinth/core";
import type { PlinthClient } from "@plinth/sdk";

/** A JSON object as the API carries it (a spec, settings, outputs). */
export type JsonRecord = Record<string, unknown>;

/** Any plugin made with `definePlugin`, whatever its spec and settings types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a plugin's Spec/Settings are invariant (used in and out).
export type AnyPlugin = PluginDefinition<any, any>;

/* ------------------------------------------------------------------ */
/* createTestService                                                    */
/* ------------------------------------------------------------------ */

/** One plugin entry, exactly as in the service config's `plugins:` list. */
export interface TestPluginEntry {
  /** Absolute path, file URL, or package name of the plugin's TypeScript module (loaded through tsx). */
  module: string;
  /** Name of the export made with `definePlugin`. */
  export: string;
  /** The plugin's own settings section; validated by the plugin's `settings` schema at start. */
  settings?: JsonRecord;
}

/** A caller of the test service: one SDK client is made per principal. */
export interface TestPrincipal {
  id: string;
  team: string;
  roles: ("requester" | "reviewer" | "admin")[];
  /** Bearer token; default `token-<id>`. Only its hash goes into the service config. */
  token?: string;
}

/** Options of `createTestService`. */
export interface TestServiceOptions {
  /** The plugins the service loads (by module path, like `plinth.yaml`). */
  plugins: TestPluginEntry[];
  /**
   * Service-config overrides merged over the test defaults (fast worker timings,
   * reconcile off): e.g. `{ reconcile: { intervalMs: 500 } }` or `{ worker: { maxAttempts: 3 } }`.
   * Objects are merged one level deep.
   */
  settings?: JsonRecord;
  /**
   * Who may call; keys become the names of `clients`. Default:
   * `requester` (alice, team payments), `teammate` (amir, payments),
   * `outsider` (olga, search), `reviewer` (rita, platform), `reviewer2` (raj, platform), `admin` (ada, platform).
   */
  principals?: Record<string, TestPrincipal>;
  /** Data directory (store, Pulumi state); default a fresh temporary one, removed by `close`. */
  dataDir?: string;
  /** Pulumi operation timeout of the engine (a hung program fails with TIMEOUT); default 120 s. */
  engineTimeoutMs?: number;
  /** Log level of the service's captured log (see `TestService.logs`); default debug. `PLINTH_TEST_LOG=1` also prints it. */
  logLevel?: string;
}

/** A running Plinth server: real store, real Pulumi engine, one SDK client per principal. */
export interface TestService {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  dataDir: string;
  /** SDK clients by principal name (`requester`, `reviewer`, `admin`, ... or your own). */
  clients: Record<string, PlinthClient>;
  /** The SDK client of one principal; throws on an unknown name. */
  client(principal: string): PlinthClient;
  /** Everything the service and its engine logged so far (JSON lines). */
  logs(): string;
  /**
   * Every secret value the plugins' providers generated so far (through
   * `generatePassword`/`registerSecret` of `@plinth/core/provider-helpers`),
   * in operations that succeeded or failed; optionally of one resource.
   */
  generatedSecrets(filter?: { type?: string; name?: string }): string[];
  /**
   * Every file of the service's Pulumi state backend (`file://`, the default),
   * or every row of its table (`postgres://`), as text: for the secret scan.
   */
  pulumiStateText(): Promise<string>;
  /** Every row of every table of the service's PostgreSQL store (`store.postgres`); "" with the SQLite store. */
  storeText(): Promise<string>;
  /**
   * What the engine would do to make `resolvedSpec` real right now, reading the
   * real resource first (Pulumi refresh, then the provider's diff). Changes nothing.
   */
  enginePreview(type: string, name: string, resolvedSpec: JsonRecord): Promise<EnginePreview>;
  /** Stops the server (in-flight changes park) and removes the temporary data directory. */
  close(): Promise<void>;
}

/* ------------------------------------------------------------------ */
/* runProgram                                                           */
/* ------------------------------------------------------------------ */

/** What a mock sees when the program registers a resource. */
export interface MockResourceArgs {
  /** Pulumi type token, e.g. "kafka:index/topic:Topic". */
  type: string;
  name: string;
  inputs: JsonRecord;
  /** The provider reference, if the program set one. */
  provider?: string;
  id?: string;
}

/** What a mock sees when the program calls a provider function (an invoke). */
export interface MockCallArgs {
  token: string;
  inputs: JsonRecord;
  provider?: string;
}

/** Pulumi mocks; by default a resource gets id `<name>-id` and its inputs as state. */
export interface ProgramMocks {
  newResource?: (args: MockResourceArgs) => { id?: string; state?: JsonRecord };
  call?: (args: MockCallArgs) => JsonRecord;
}

export interface RunProgramOptions {
  /** Resource name; default "test". */
  name?: string;
  /** The plugin's settings (parsed by its `settings` schema); default `{}`. */
  settings?: JsonRecord;
  mocks?: ProgramMocks;
  /**
   * Parse the spec and complete it with the plugin's `defaults`, as core does
   * before it runs a program; default true. `false` hands the spec as given.
   */
  resolve?: boolean;
}

/** One resource the program registered. Providers are included (type `pulumi:providers:<pkg>`). */
export interface RegisteredResource {
  type: string;
  name: string;
  /** Inputs as the provider would receive them (Outputs resolved, unknowns undefined). */
  inputs: JsonRecord;
}

export interface ProgramRun {
  resources: RegisteredResource[];
  /** What the program returned, with every Output resolved. */
  outputs: JsonRecord;
  /** The spec the program ran with (after defaults when `resolve` is on). */
  spec: JsonRecord;
}

/* ------------------------------------------------------------------ */
/* describePluginContract                                               */
/* ------------------------------------------------------------------ */

export interface ValidFixture {
  /** Resource name to use. */
  name: string;
  /** A spec as a requester would send it. */
  spec: JsonRecord;
  /** Shown in the test title; default the spec as JSON. */
  description?: string;
}

export interface InvalidFixture {
  name: string;
  spec: JsonRecord;
  /**
   * The dotted field path the refusal must name ("partitions",
   * "config.retention.ms", "" for the whole spec). Checked against the
   * schema's issues, then `validate`'s violations.
   */
  field: string;
  /** For transitions: the spec in force before (then `validate` is called with it, after defaults). */
  previous?: JsonRecord;
  description?: string;
}

/** An edit after which the resource must keep its identity (e.g. only a config value changes). */
export interface IdentityFixture {
  description: string;
  name: string;
  spec: JsonRecord;
  edited: JsonRecord;
}

/** What the real-infrastructure part of the suite may do; a plugin declares the steps that apply to it. */
export interface ContractSteps {
  /** After create: re-applying the same spec previews as a no-op, and applying it makes no change. Default true. */
  noOpReapply?: boolean;
  /** Apply `update`, wait, verify. Default true when `update` is given. */
  update?: boolean;
  /** Delete (a reviewer approves if the plugin asks for review), then check it is gone. Default true. */
  delete?: boolean;
  /** Change the real thing out of band with `drift`, then wait until the resource is DRIFTED. Default true when `drift` is given. */
  drift?: boolean;
  /**
   * After the create and after the update, a refreshing engine preview of the
   * recorded spec plans nothing (the provider's `read` and `diff` agree with
   * what `create`/`update` wrote). Default true.
   */
  convergence?: boolean;
  /**
   * Every secret output can be revealed and `verify` checks with it; its
   * value stays the same across a no-op re-apply and the update (unless
   * listed in `rotatedByUpdate`); no secret value, and no credential-shaped
   * plain output, shows in GetResource, ListResources, revisions, change
   * events or the service's logs. Default true.
   */
  secrets?: boolean;
}

/** What out-of-band hooks receive: the resource as Plinth recorded it and the plugin settings in force. */
export interface RealResourceView<Spec = JsonRecord, Settings = JsonRecord> {
  name: string;
  /** The resolved spec (after defaults). */
  spec: Spec;
  /** Non-secret outputs. */
  outputs: JsonRecord;
  /** The plugin's settings, parsed by its `settings` schema. */
  settings: Settings;
}

/** Infrastructure the real part runs against. */
export interface RealInfrastructure {
  /** The plugin's settings pointing at it (e.g. a cluster with the broker's bootstrap servers). */
  settings: JsonRecord;
  /** Stops it; called after the suite. */
  stop?: () => Promise<void>;
  /**
   * Other plugins the test service loads beside the one under test, e.g.
   * `kafka.topic` for a `kafka.schema`, whose resources it needs.
   */
  plugins?: { module: string; export: string; settings?: JsonRecord }[];
  /**
   * Service-config overrides that name what `setup` started, merged over
   * `real.service`: e.g. `{ store: { postgres: { url } }, engine: { backendUrl: "postgres://...?sslmode=disable" } }`
   * to run the suite with a PostgreSQL store and Pulumi backend, whose rows the secret scan then searches too.
   * (Worker timings belong in `real.service`: the step timeouts follow only those.)
   */
  service?: JsonRecord;
}

export interface RealContractFixture<Spec = JsonRecord, Settings = JsonRecord> {
  /** How the service loads the plugin (the same plugin as the first argument). */
  plugin: { module: string; export: string };
  /** Starts (or points at) the infrastructure; called once before the real steps. */
  setup: () => Promise<RealInfrastructure>;
  /**
   * Called once the test service runs, before the create: makes what the
   * resource needs through the service (e.g. the topic a schema is bound to,
   * applied by the `requester`).
   */
  prepare?: (service: TestService) => Promise<void>;
  /** Resource name; default a unique `contract-<n>` name. */
  name?: string;
  /** Spec of the create. */
  create: JsonRecord;
  /** Spec of the update (must differ and be allowed as a transition). */
  update?: JsonRecord;
  steps?: ContractSteps;
  /** Independent check (your own client, not the plugin's `verify`) that the real thing matches; throw if not. */
  check?: (resource: RealResourceView<Spec, Settings>) => Promise<void>;
  /**
   * Independent check that the real thing is gone after the delete (your own
   * client, not the plugin's `verifyGone`); throw if not. Required by the
   * delete step; a plugin with nothing real to look at declares
   * `{ none: "why" }` instead, and the report says so.
   */
  checkGone?: ((resource: RealResourceView<Spec, Settings>) => Promise<void>) | { none: string };
  /** Changes the real thing behind Plinth's back, so that the reconciler must find drift. */
  drift?: (resource: RealResourceView<Spec, Settings>) => Promise<void>;
  /**
   * Secret outputs the `update` fixture is meant to change (e.g. it raises a
   * `rotation` counter); every other secret output must keep its value.
   */
  rotatedByUpdate?: string[];
  /**
   * Secret outputs the `drift` fixture destroys on the real system (e.g. it
   * deletes the credential itself), so that the repair must make new ones;
   * every other secret output must keep its value across the repair.
   */
  rotatedByDrift?: string[];
  /**
   * The real system is eventually consistent: a change may need a retry.
   * Default false: a step whose change needed more than one attempt fails,
   * showing every attempt's error. True: retries are allowed (and printed),
   * but a retried step slower than 3 × `expectedStepMs` still fails.
   */
  eventuallyConsistent?: boolean;
  /** How long one step (one change) is expected to take; default 60 s. See `eventuallyConsistent`. */
  expectedStepMs?: number;
  /**
   * An update that keeps the identity is meant to replace the resource (the
   * provider can only replace): reported instead of failing the update step.
   */
  replacesOnUpdate?: boolean;
  /**
   * A create spec that makes the plugin fail after it generated its secret
   * (e.g. a name the system refuses, checked after the password is made).
   * The suite applies it to `<name>-fails`, expects FAILED, and searches
   * last_error, the events, the logs and the Pulumi state for the secrets
   * the failed create generated (`generatePassword`/`registerSecret`).
   */
  failAfterSecret?: { spec: JsonRecord };
  /** Service-config overrides for the test service (see `TestServiceOptions.settings`), e.g. `{ worker: { maxAttempts: 2 } }`. */
  service?: JsonRecord;
  /** The engine's operation timeout (see `TestServiceOptions.engineTimeoutMs`); default 120 s. */
  engineTimeoutMs?: number;
  /**
   * How long a change may take to end. Default: derived from the service's
   * worker settings, so every retry the worker may make fits:
   * `maxAttempts × (engineTimeoutMs + verifyTimeoutMs + retryMaxMs) + leaseMs + pollMs`.
   */
  stepTimeoutMs?: number;
}

/** The suite's fixtures, typed by the plugin's spec and settings (inferred from the plugin: no casts in hooks). */
export interface PluginContractFixtures<Spec = JsonRecord, Settings = JsonRecord> {
  /** Plugin settings for the pure checks (identity, defaults, validate). Default `{}`. */
  settings?: JsonRecord;
  /** Specs that must parse, validate cleanly and have idempotent defaults. At least one. */
  valid: ValidFixture[];
  /** Specs that must be refused naming `field`. */
  invalid: InvalidFixture[];
  /** Edits that must keep the identity. */
  sameIdentity?: IdentityFixture[];
  /** The lifecycle against real infrastructure; omit for pure checks only. */
  real?: RealContractFixture<Spec, Settings>;
}
