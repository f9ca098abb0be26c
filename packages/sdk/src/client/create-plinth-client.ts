import { createClient, Code, ConnectError, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Change, ChangeSchema } from "../gen/plinth/v1/change_pb.ts";
import { ChangeService } from "../gen/plinth/v1/change_service_pb.ts";
import { IdentityService } from "../gen/plinth/v1/identity_service_pb.ts";
import { type Callback, NotificationFormat, type NotificationKind } from "../gen/plinth/v1/notification_pb.ts";
import { NotificationService } from "../gen/plinth/v1/notification_service_pb.ts";
import { PluginService } from "../gen/plinth/v1/plugin_service_pb.ts";
import { ImportService } from "../gen/plinth/v1/import_service_pb.ts";
import { ChangeSetService } from "../gen/plinth/v1/change_set_service_pb.ts";
import { type Resource, ResourceSchema } from "../gen/plinth/v1/resource_pb.ts";
import {
  ApplyResourceResponseSchema,
  DeleteResourceResponseSchema,
  ResourceService,
  type ApplyResourceResponse,
  type DeleteResourceResponse,
} from "../gen/plinth/v1/resource_service_pb.ts";
import { type TokenSource, createAuthInterceptor } from "./auth-interceptor.ts";
import { createNodeTransport, type PlinthProtocol } from "./create-node-transport.ts";
import { createFailoverTransport } from "./failover-transport.ts";
import { interceptTransport } from "./intercept-transport.ts";
import { jsonSerializable } from "./json-serializable.ts";
import type { ResourceType, SpecOf } from "./resource-types.ts";
import { createRetryInterceptor } from "./retry-interceptor.ts";
import { resolveRetryPolicy, type RetryOptions } from "./retry-policy.ts";
import { waitForChange, type WaitForChangeOptions } from "./wait-for-change.ts";

/** Options of {@link createPlinthClient}. */
export interface PlinthClientOptions {
  /**
   * Where the server listens, e.g. `http://127.0.0.1:8080`. Several URLs (replicas sharing one store,
   * reached without a load balancer): calls go to one, and a call that cannot reach it is retried on
   * the next (see {@link createFailoverTransport}).
   */
  baseUrl: string | readonly string[];
  /**
   * Bearer token sent with every call, or a function giving the current one
   * (asked before each call); without one the server answers UNAUTHENTICATED.
   */
  token?: TokenSource;
  /**
   * PEM certificate(s) of the CA that signed the server's certificate, for `https:` URLs served
   * with a private CA (e.g. `readFileSync("/etc/plinth/tls/ca.pem")`). These replace Node's list of
   * public CAs for this client; without it, Node's list (and `NODE_EXTRA_CA_CERTS`) applies.
   */
  ca?: string | Buffer | undefined;
  /** Wire protocol; default `connect` (HTTP/1.1). `grpc` uses HTTP/2. */
  protocol?: PlinthProtocol | undefined;
  /**
   * A ready transport to use instead of a network one (e.g.
   * `createRouterTransport` in tests); `baseUrl` and `protocol` are then
   * ignored. Auth and retry still wrap every call.
   */
  transport?: Transport | undefined;
  /** Retry of unreachable-server failures; `false` turns it off. See {@link createRetryInterceptor}. */
  retry?: RetryOptions | false | undefined;
}

/**
 * A webhook for one change only (see docs/notifications.md): the server posts
 * the change's events to `url` (CloudEvents JSON by default), signed with
 * `secret` when given, until the change ends (`SUCCEEDED`, `FAILED`,
 * `REJECTED` or `CANCELLED`).
 */
export interface CallbackOptions {
  url: string;
  /** HMAC-SHA256 key for the `plinth-signature` header (16-256 characters). */
  secret?: string;
  format?: NotificationFormat;
  /** Only these kinds; every kind of the change by default. */
  kinds?: NotificationKind[];
}

/** Options of {@link PlinthClient.apply}. */
export interface ApplyOptions {
  /** Idempotency key; a fresh UUID per `apply` call by default, reused by its retries. */
  requestId?: string;
  /** Refuse with ABORTED unless the resource is at this revision (0 = must not exist yet). */
  expectedRevision?: bigint | number;
  comment?: string;
  labels?: Record<string, string>;
  /** Admins only: go ahead despite guardrail violations; the change then needs a reviewer and is audited. */
  overrideGuardrails?: boolean;
  /** Where to post this change's events instead of polling it; see {@link CallbackOptions}. */
  callback?: CallbackOptions;
  signal?: AbortSignal;
}

/** Options of {@link PlinthClient.delete}. */
export type DeleteOptions = Omit<ApplyOptions, "labels">;

/** Options of {@link PlinthClient.approve} and {@link PlinthClient.reject}. */
export interface ReviewOptions {
  /**
   * The team the reviewer acts for, when their token puts them in several; by default the change's
   * team when the reviewer may act for it.
   */
  team?: string;
  signal?: AbortSignal;
}

/**
 * A typed client of one Plinth server. What its helpers return prints with `JSON.stringify`
 * (as {@link plainJson} would: enums by name, int64 as strings); the raw clients' messages do not.
 */
export interface PlinthClient {
  /** The raw `ResourceService` client. */
  readonly resources: Client<typeof ResourceService>;
  /** The raw `ChangeService` client. */
  readonly changes: Client<typeof ChangeService>;
  /** The raw `PluginService` client. */
  readonly plugins: Client<typeof PluginService>;
  /** The raw `IdentityService` client: `whoAmI()` tells who the token belongs to. */
  readonly identity: Client<typeof IdentityService>;
  /**
   * The raw `NotificationService` client: a team's subscriptions
   * (`createSubscription`, `listSubscriptions`, `deleteSubscription`) and what
   * was sent to them (`listDeliveries`, by change or subscription).
   */
  readonly notifications: Client<typeof NotificationService>;
  /** The raw `ImportService` client: bulk adoption of what a scope holds, reviewed once. */
  readonly imports: Client<typeof ImportService>;
  /** Several changes planned, submitted and reviewed as one (`plinth plan` / `plinth apply -f`). */
  readonly changeSets: Client<typeof ChangeSetService>;
  /**
   * Creates or updates a resource. `spec` is checked against the spec type a
   * plugin declared in {@link ResourceTypes}; it must be JSON-serializable
   * (undefined fields are dropped). One request id per call, reused by the
   * call's retries, so a retried apply never makes a second change.
   */
  apply<T extends ResourceType>(
    type: T,
    name: string,
    spec: SpecOf<T>,
    options?: ApplyOptions,
  ): Promise<ApplyResourceResponse>;
  /** Requests the deletion of a resource; idempotent like {@link PlinthClient.apply}. */
  delete(type: ResourceType, name: string, options?: DeleteOptions): Promise<DeleteResourceResponse>;
  /** The resource as of its latest revision; rejects with NOT_FOUND if there is none. */
  get(type: ResourceType, name: string, options?: { signal?: AbortSignal }): Promise<Resource>;
  /** The change as it is now; rejects with NOT_FOUND for an unknown id or another team's change. */
  getChange(id: string, options?: { signal?: AbortSignal }): Promise<Change>;
  /**
   * Approves a change in review, as a reviewer who did not request it (PERMISSION_DENIED
   * otherwise). Resolves with the change: APPROVED, or still PENDING_REVIEW when it needs more
   * approvals. Approving a change that is no longer in review is FAILED_PRECONDITION.
   */
  approve(id: string, options?: ReviewOptions & { comment?: string }): Promise<Change>;
  /** Rejects a change in review; `comment` (why) is required. Resolves with the REJECTED change. */
  reject(id: string, comment: string, options?: ReviewOptions): Promise<Change>;
  /** Cancels a change that has not started applying; `comment` (why) is required. Resolves with the CANCELLED change. */
  cancel(id: string, comment: string, options?: { signal?: AbortSignal }): Promise<Change>;
  /** Follows a change until it is final; see {@link waitForChange}. */
  waitForChange(id: string, options?: WaitForChangeOptions): Promise<Change>;
  /**
   * One secret output's value as plain JSON (e.g. a password string), for the
   * owning team or an admin; the server audits every reveal. The raw
   * `resources.revealSecret` returns it as a protobuf `Value` instead.
   */
  reveal(type: ResourceType, name: string, key: string, options?: { signal?: AbortSignal }): Promise<JsonValue>;
}

/**
 * Creates a client of a Plinth server. Every call carries the bearer token;
 * unary calls that fail because the server could not be reached are retried
 * (see {@link createRetryInterceptor}); streaming calls are not, and
 * `waitForChange` reconnects on its own.
 */
export function createPlinthClient(options: PlinthClientOptions): PlinthClient {
  const retry = options.retry === false ? undefined : options.retry;
  // Auth runs inside retry, so each attempt carries the header.
  const interceptors: Interceptor[] = [];
  if (options.retry !== false) {
    interceptors.push(createRetryInterceptor(retry));
  }
  interceptors.push(createAuthInterceptor(options.token));
  const transport = options.transport
    ? interceptTransport(options.transport, interceptors)
    : networkTransport(options, interceptors);
  // Without retries the watch still needs a policy: one attempt, no reconnect.
  const watchPolicy = resolveRetryPolicy(options.retry === false ? { maxAttempts: 1 } : retry);

  const resources = createClient(ResourceService, transport);
  const changes = createClient(ChangeService, transport);
  const plugins = createClient(PluginService, transport);
  const identity = createClient(IdentityService, transport);
  const notifications = createClient(NotificationService, transport);
  const imports = createClient(ImportService, transport);
  const changeSets = createClient(ChangeSetService, transport);

  return {
    resources,
    changes,
    plugins,
    identity,
    notifications,
    imports,
    changeSets,
    async apply(type, name, spec, opts = {}) {
      const response = await resources.applyResource(
        {
          type,
          name,
          spec: toJsonObject(spec),
          requestId: opts.requestId ?? crypto.randomUUID(),
          expectedRevision: opts.expectedRevision === undefined ? undefined : BigInt(opts.expectedRevision),
          comment: opts.comment ?? "",
          labels: opts.labels ?? {},
          overrideGuardrails: opts.overrideGuardrails ?? false,
          callback: callbackMessage(opts.callback),
        },
        { signal: opts.signal },
      );
      return jsonSerializable(ApplyResourceResponseSchema, response);
    },
    async delete(type, name, opts = {}) {
      const response = await resources.deleteResource(
        {
          type,
          name,
          requestId: opts.requestId ?? crypto.randomUUID(),
          expectedRevision: opts.expectedRevision === undefined ? undefined : BigInt(opts.expectedRevision),
          comment: opts.comment ?? "",
          callback: callbackMessage(opts.callback),
        },
        { signal: opts.signal },
      );
      return jsonSerializable(DeleteResourceResponseSchema, response);
    },
    async get(type, name, opts = {}) {
      const { resource } = await resources.getResource({ type, name }, { signal: opts.signal });
      if (!resource) {
        throw new ConnectError(`the server returned no resource for ${type}/${name}`, Code.Internal);
      }
      return jsonSerializable(ResourceSchema, resource);
    },
    async getChange(id, opts = {}) {
      return changeOf(await changes.getChange({ id }, { signal: opts.signal }), id);
    },
    async approve(id, opts = {}) {
      const request = { id, comment: opts.comment ?? "", team: opts.team ?? "" };
      return changeOf(await changes.approveChange(request, { signal: opts.signal }), id);
    },
    async reject(id, comment, opts = {}) {
      const request = { id, comment, team: opts.team ?? "" };
      return changeOf(await changes.rejectChange(request, { signal: opts.signal }), id);
    },
    async cancel(id, comment, opts = {}) {
      return changeOf(await changes.cancelChange({ id, comment }, { signal: opts.signal }), id);
    },
    async waitForChange(id, opts = {}) {
      return jsonSerializable(ChangeSchema, await waitForChange(changes, id, opts, watchPolicy));
    },
    async reveal(type, name, key, opts = {}) {
      const { value } = await resources.revealSecret({ type, name, key }, { signal: opts.signal });
      return value ? toJson(ValueSchema, value) : null;
    },
  };
}

function changeOf(response: { change?: Change | undefined }, id: string): Change {
  if (!response.change) throw new ConnectError(`the server returned no change for ${id}`, Code.Internal);
  return jsonSerializable(ChangeSchema, response.change);
}

function networkTransport(options: PlinthClientOptions, interceptors: Interceptor[]): Transport {
  const { protocol = "connect", ca } = options;
  if (typeof options.baseUrl === "string")
    return createNodeTransport({ baseUrl: options.baseUrl, protocol, interceptors, ca });
  // Retry outside the failover, so that each retry goes to the server the last failure moved on to.
  const servers = options.baseUrl.map((baseUrl) => createNodeTransport({ baseUrl, protocol, interceptors: [], ca }));
  return interceptTransport(createFailoverTransport(servers), interceptors);
}

function callbackMessage(callback: CallbackOptions | undefined): Callback | undefined {
  return (
    callback && {
      $typeName: "plinth.v1.Callback",
      url: callback.url,
      secret: callback.secret ?? "",
      format: callback.format ?? NotificationFormat.UNSPECIFIED,
      kinds: callback.kinds ?? [],
    }
  );
}

// A Struct holds JSON only: a round trip through JSON drops undefined fields
// and turns Dates into strings the way JSON.stringify always does.
function toJsonObject(spec: unknown): JsonObject {
  const json: unknown = JSON.parse(JSON.stringify(spec ?? null));
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new TypeError("spec must be a JSON object");
  }
  return json as JsonObject;
}
