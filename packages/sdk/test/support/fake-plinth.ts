import { clone, create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createRouterTransport,
  type ConnectRouter,
  type HandlerContext,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";
import {
  BadRequestSchema,
  ChangeEventSchema,
  ChangeKind,
  ChangeSchema,
  ChangeService,
  ChangeStatus,
  PluginSchema,
  PluginService,
  ResourceSchema,
  ResourceService,
  ResourceStatus,
  ReviewDecision,
  ReviewSchema,
  RevisionSchema,
  WatchChangeResponseSchema,
  type Change,
  type Resource,
  type Revision,
  type WatchChangeResponse,
} from "../../src/index.ts";

/** Who a token stands for in the fake. */
export interface FakePrincipal {
  id: string;
  team: string;
  roles: ("requester" | "reviewer" | "admin")[];
}

/** One call the fake received. */
export interface FakeCall {
  method: string;
  request: unknown;
  authorization: string | null;
}

export interface FakePlinthOptions {
  /** Runs before every handler; throw to fail the call before anything happens. */
  before?: (method: string, request: unknown) => void;
  /** Runs after a unary handler succeeded; throw to lose its response. */
  after?: (method: string, request: unknown) => void;
  /** How a change that runs ends; SUCCEEDED unless its spec has `fail: "<error>"`. */
  outcome?: (change: Change) => { error?: string };
  /** Replaces single ChangeService methods (e.g. a `watchChange` that drops). */
  changeService?: Partial<ServiceImpl<typeof ChangeService>>;
}

export const tokens: Record<string, FakePrincipal> = {
  "requester-token": { id: "alice", team: "payments", roles: ["requester"] },
  "reviewer-token": { id: "rita", team: "platform", roles: ["reviewer"] },
};

/**
 * A small in-memory Plinth for SDK and CLI tests: one plugin, `test.widget`
 * (spec `{size: integer ≥ 1, review?: boolean, fail?: string}`), auth by the
 * tokens above, idempotency keys, reviews (deletes and `review: true` need one
 * approval), and a worker that runs a change to its end as soon as it is
 * queued, recording events that `WatchChange` replays. Not the real server:
 * the integration tests cover that.
 */
export function createFakePlinth(options: FakePlinthOptions = {}) {
  const calls: FakeCall[] = [];
  const resources = new Map<string, Resource>();
  const revisions = new Map<string, Revision[]>();
  const changes = new Map<string, Change>();
  const events = new Map<string, WatchChangeResponse[]>();
  const requestIds = new Map<string, string>();
  let clock = Date.UTC(2025, 0, 1);
  const now = () => timestampFromMs((clock += 1000));

  function enter(method: string, request: unknown, context: HandlerContext): FakePrincipal {
    const authorization = context.requestHeader.get("authorization");
    calls.push({ method, request, authorization });
    options.before?.(method, request);
    const principal = tokens[authorization?.replace(/^Bearer /, "") ?? ""];
    if (!principal) {
      throw new ConnectError("missing or unknown token", Code.Unauthenticated);
    }
    return principal;
  }

  function unary<Req, Res>(
    method: string,
    handle: (request: Req, principal: FakePrincipal) => Res,
  ): (request: Req, context: HandlerContext) => Res {
    return (request, context) => {
      const response = handle(request, enter(method, request, context));
      options.after?.(method, request);
      return response;
    };
  }

  function record(change: Change, kind: string, message: string, status?: ChangeStatus) {
    const list = events.get(change.id) ?? [];
    if (status !== undefined) {
      change.status = status;
    }
    change.updateTime = now();
    const event = create(ChangeEventSchema, {
      changeId: change.id,
      sequence: BigInt(list.length + 1),
      time: change.updateTime,
      status: status ?? ChangeStatus.UNSPECIFIED,
      kind,
      message,
    });
    list.push(create(WatchChangeResponseSchema, { event, change: clone(ChangeSchema, change) }));
    events.set(change.id, list);
  }

  // The fake worker: queued changes run to their end at once.
  function run(change: Change) {
    record(change, "status", "queued", ChangeStatus.QUEUED);
    record(change, "status", "a worker claimed the change", ChangeStatus.APPLYING);
    record(change, "engine", `updating ${change.type}/${change.name}`);
    const key = `${change.type}/${change.name}`;
    const resource = resources.get(key);
    const error = options.outcome?.(change).error ?? (change.spec?.["fail"] as string | undefined);
    if (!resource) {
      return;
    }
    change.attempts += 1;
    if (error) {
      change.lastError = error;
      resource.status = ResourceStatus.FAILED;
      record(change, "status", error, ChangeStatus.FAILED);
      change.finishTime = change.updateTime;
      return;
    }
    const list = revisions.get(key) ?? [];
    const deleted = change.kind === ChangeKind.DELETE;
    const revision = create(RevisionSchema, {
      type: change.type,
      name: change.name,
      revision: BigInt(list.length + 1),
      changeId: change.id,
      spec: change.spec,
      resolvedSpec: change.resolvedSpec,
      requestedBy: change.requestedBy,
      approvedBy: change.reviews.filter((r) => r.decision === ReviewDecision.APPROVED).map((r) => r.reviewer),
      createTime: now(),
      deleted,
    });
    list.push(revision);
    revisions.set(key, list);
    Object.assign(resource, {
      status: deleted ? ResourceStatus.DELETED : ResourceStatus.READY,
      revision: revision.revision,
      spec: change.spec,
      resolvedSpec: change.resolvedSpec,
      updateTime: now(),
    });
    change.resultRevision = revision.revision;
    record(change, "status", "applied and verified", ChangeStatus.SUCCEEDED);
    change.finishTime = change.updateTime;
  }

  function submit(
    principal: FakePrincipal,
    input: { type: string; name: string; requestId: string; expectedRevision?: bigint; comment: string },
    kind: "apply" | "delete",
    spec?: JsonObject,
  ) {
    const dedupeKey = `${principal.id}/${input.requestId}`;
    const earlier = requestIds.get(dedupeKey);
    if (earlier) {
      const change = changes.get(earlier)!;
      return {
        change: clone(ChangeSchema, change),
        resource: resources.get(`${change.type}/${change.name}`),
        deduplicated: true,
      };
    }
    if (input.type !== "test.widget") {
      throw invalid([{ field: "type", description: "unknown resource type; known: test.widget" }]);
    }
    const key = `${input.type}/${input.name}`;
    let resource = resources.get(key);
    if (input.expectedRevision !== undefined && input.expectedRevision !== (resource?.revision ?? 0n)) {
      throw new ConnectError(`${key} is at revision ${resource?.revision ?? 0n}`, Code.Aborted);
    }
    if (resource && resource.ownerTeam !== principal.team && !principal.roles.includes("admin")) {
      throw new ConnectError(`${key} belongs to team ${resource.ownerTeam}`, Code.PermissionDenied);
    }
    if (kind === "delete" && !resource) {
      throw new ConnectError(`${key} not found`, Code.NotFound);
    }
    if (spec) {
      const size = spec["size"];
      if (typeof size !== "number" || !Number.isInteger(size) || size < 1) {
        throw invalid([{ field: "spec.size", description: "must be an integer of at least 1" }]);
      }
    }
    resource ??= create(ResourceSchema, {
      type: input.type,
      name: input.name,
      ownerTeam: principal.team,
      status: ResourceStatus.PROVISIONING,
      createTime: now(),
    });
    resources.set(key, resource);
    const needsReview = kind === "delete" || spec?.["review"] === true;
    const change = create(ChangeSchema, {
      id: `ch-${changes.size + 1}`,
      type: input.type,
      name: input.name,
      kind: kind === "delete" ? ChangeKind.DELETE : resource.revision > 0n ? ChangeKind.UPDATE : ChangeKind.CREATE,
      requestedBy: principal.id,
      team: resource.ownerTeam,
      requiredApprovals: needsReview ? 1 : 0,
      spec,
      resolvedSpec: spec ? { ...spec, replicas: 3 } : undefined,
      baseRevision: resource.revision,
      comment: input.comment,
      createTime: now(),
    });
    changes.set(change.id, change);
    requestIds.set(dedupeKey, change.id);
    record(
      change,
      "status",
      needsReview ? "needs 1 approval" : "auto-approved",
      needsReview ? ChangeStatus.PENDING_REVIEW : ChangeStatus.APPROVED,
    );
    const response = {
      change: clone(ChangeSchema, change),
      resource: clone(ResourceSchema, resource),
      deduplicated: false,
    };
    if (!needsReview) {
      run(change);
    }
    return response;
  }

  function getChange(id: string): Change {
    const change = changes.get(id);
    if (!change) {
      throw new ConnectError(`change ${id} not found`, Code.NotFound);
    }
    return change;
  }

  function requireComment(comment: string) {
    if (!comment) {
      throw invalid([{ field: "comment", description: "required: say why" }]);
    }
  }

  const resourceService: ServiceImpl<typeof ResourceService> = {
    getTeamUsage: unary("GetTeamUsage", () => {
      throw new ConnectError("the fake does not count usage", Code.Unimplemented);
    }),
    getResourceSummary: unary("GetResourceSummary", () => {
      throw new ConnectError("the fake reads no metrics", Code.Unimplemented);
    }),
    listAccessGrants: unary("ListAccessGrants", () => {
      throw new ConnectError("the fake does not list access grants", Code.Unimplemented);
    }),
    revokeAccessGrant: unary("RevokeAccessGrant", () => {
      throw new ConnectError("the fake does not revoke access grants", Code.Unimplemented);
    }),
    reconcileResource: unary("ReconcileResource", () => {
      throw new ConnectError("the fake does not reconcile", Code.Unimplemented);
    }),
    revealSecret: unary("RevealSecret", () => {
      throw new ConnectError("the fake keeps no secrets", Code.Unimplemented);
    }),
    applyResource: unary("ApplyResource", (req, principal) => submit(principal, req, "apply", req.spec ?? {})),
    deleteResource: unary("DeleteResource", (req, principal) => submit(principal, req, "delete")),
    getResource: unary("GetResource", (req) => {
      const resource = resources.get(`${req.type}/${req.name}`);
      if (!resource) {
        throw new ConnectError(`${req.type}/${req.name} not found`, Code.NotFound);
      }
      return { resource };
    }),
    listResources: unary("ListResources", (req) => ({
      resources: [...resources.values()].filter(
        (r) =>
          (!req.type || r.type === req.type) &&
          (!req.team || r.ownerTeam === req.team) &&
          (!req.status || r.status === req.status),
      ),
    })),
    listRevisions: unary("ListRevisions", (req) => ({ revisions: revisions.get(`${req.type}/${req.name}`) ?? [] })),
    getRevision: unary("GetRevision", (req) => {
      const revision = revisions.get(`${req.type}/${req.name}`)?.[Number(req.revision) - 1];
      if (!revision) {
        throw new ConnectError(`revision ${req.revision} not found`, Code.NotFound);
      }
      return { revision };
    }),
    previewResource: unary("PreviewResource", () => {
      throw new ConnectError("not in the fake", Code.Unimplemented);
    }),
    revertResource: unary("RevertResource", (req, principal) => {
      const revision = revisions.get(`${req.type}/${req.name}`)?.[Number(req.revision) - 1];
      if (!revision) {
        throw new ConnectError(`revision ${req.revision} not found`, Code.NotFound);
      }
      return submit(principal, req, "apply", revision.spec ?? {});
    }),
  };

  const changeService: ServiceImpl<typeof ChangeService> = {
    getChange: unary("GetChange", (req) => ({ change: getChange(req.id) })),
    listChanges: unary("ListChanges", (req) => ({
      changes: [...changes.values()].filter(
        (c) =>
          (!req.status || c.status === req.status) &&
          (!req.type || c.type === req.type) &&
          (!req.name || c.name === req.name) &&
          (!req.team || c.team === req.team),
      ),
    })),
    approveChange: unary("ApproveChange", (req, principal) => {
      const change = getChange(req.id);
      if (!principal.roles.includes("reviewer") || principal.id === change.requestedBy) {
        throw new ConnectError("only a reviewer other than the requester may approve", Code.PermissionDenied);
      }
      if (change.status !== ChangeStatus.PENDING_REVIEW) {
        throw new ConnectError(`change ${change.id} is not pending review`, Code.FailedPrecondition);
      }
      change.reviews.push(
        create(ReviewSchema, { reviewer: principal.id, decision: ReviewDecision.APPROVED, comment: req.comment }),
      );
      record(change, "review", `approved by ${principal.id}`, ChangeStatus.APPROVED);
      const response = { change: clone(ChangeSchema, change) };
      run(change);
      return response;
    }),
    rejectChange: unary("RejectChange", (req, principal) => {
      requireComment(req.comment);
      const change = getChange(req.id);
      change.reviews.push(
        create(ReviewSchema, { reviewer: principal.id, decision: ReviewDecision.REJECTED, comment: req.comment }),
      );
      record(change, "review", `rejected by ${principal.id}`, ChangeStatus.REJECTED);
      return { change };
    }),
    cancelChange: unary("CancelChange", (req) => {
      requireComment(req.comment);
      const change = getChange(req.id);
      record(change, "status", req.comment, ChangeStatus.CANCELLED);
      return { change };
    }),
    retryChange: unary("RetryChange", (req) => {
      const change = getChange(req.id);
      if (change.status !== ChangeStatus.FAILED) {
        throw new ConnectError(`change ${change.id} has not failed`, Code.FailedPrecondition);
      }
      change.lastError = "";
      run(change);
      return { change };
    }),
    async *watchChange(req, context) {
      enter("WatchChange", req, context);
      getChange(req.id);
      for (const response of events.get(req.id) ?? []) {
        if (response.event && response.event.sequence > req.afterSequence) {
          yield response;
        }
      }
    },
    ...options.changeService,
  };

  const pluginService: ServiceImpl<typeof PluginService> = {
    listPlugins: unary("ListPlugins", () => ({ plugins: [widgetPlugin] })),
    listInventory: unary("ListInventory", () => {
      throw new ConnectError("the fake has no real system", Code.Unimplemented);
    }),
    getPlugin: unary("GetPlugin", (req) => {
      if (req.type !== widgetPlugin.type) {
        throw new ConnectError(`no plugin for ${req.type}`, Code.NotFound);
      }
      return { plugin: widgetPlugin };
    }),
  };

  const routes = (router: ConnectRouter) => {
    router.service(ResourceService, resourceService);
    router.service(ChangeService, changeService);
    router.service(PluginService, pluginService);
  };
  const transport: Transport = createRouterTransport(routes);

  return {
    transport,
    /** The services, for a real server (`connectNodeAdapter({ routes })`). */
    routes,
    calls,
    resources,
    changes,
    /** The calls of one method, in order. */
    callsOf: (method: string) => calls.filter((call) => call.method === method),
    /** The recorded stream of a change, as `WatchChange` replays it. */
    eventsOf: (id: string) => events.get(id) ?? [],
  };
}

export type FakePlinth = ReturnType<typeof createFakePlinth>;

const widgetPlugin = create(PluginSchema, {
  type: "test.widget",
  version: "1.0.0",
  description: "a widget for tests",
  specSchema: {
    type: "object",
    properties: { size: { type: "integer", minimum: 1 } },
    required: ["size"],
  },
  reviewPolicy: "deletes need 1 approval",
});

function invalid(fieldViolations: { field: string; description: string }[]): ConnectError {
  return new ConnectError("invalid request", Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations }) },
  ]);
}
