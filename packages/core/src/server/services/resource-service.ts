import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Resource } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { NotFoundError } from "../../domain/errors.ts";
import { listAccessGrants } from "../../domain/list-access-grants.ts";
import { withReadBudget } from "../../domain/read-budget.ts";
import { revokeAccessGrant } from "../../domain/revoke-access-grant.ts";
import { createResourceLookup, dependentsOf, specOwnerTeam } from "../../domain/ownership.ts";
import { teamUsage } from "../../domain/team-quota.ts";
import { revealSecret } from "../../domain/reveal-secret.ts";
import { summarizeResource } from "../../domain/summarize-resource.ts";
import { previewApply, submitApply, submitDelete, submitReconcile, submitRevert } from "../../domain/submit-change.ts";
import type { JsonObject } from "../../domain/types.ts";
import type { ResourceRecord } from "../../store/records.ts";
import { actingFor, principalOf } from "../auth.ts";
import { callbackFromProto } from "../convert-notifications.ts";
import {
  accessGrantToProto,
  changeKindToProto,
  changeToProto,
  differenceToProto,
  resourceStatusFromProto,
  resourceToProto,
  revisionToProto,
} from "../convert.ts";
import { pageSize } from "./paging.ts";
import type { ServiceDeps } from "./service-deps.ts";

/**
 * GetResource's replies, by record: the store hands out one frozen record per
 * resource until the resource changes, so each version is converted once.
 */
const resourceReplies = new WeakMap<ResourceRecord, Resource>();
function resourceReply(record: ResourceRecord): Resource {
  if (!Object.isFrozen(record)) return resourceToProto(record);
  let reply = resourceReplies.get(record);
  if (!reply) {
    reply = resourceToProto(record);
    resourceReplies.set(record, reply);
  }
  return reply;
}

const optionalRevision = (value: bigint | undefined) => (value === undefined ? undefined : Number(value));

/** ResourceService: proto in, one domain call, proto out. */
export function resourceService(deps: ServiceDeps): ServiceImpl<typeof ResourceService> {
  /**
   * The team a change names, for a caller in several teams to act for: the
   * owner its spec names, else the resource's owning team. A spec the plugin
   * cannot read names none here; submit reports what is wrong with it.
   */
  const namedTeam = async (type: string, name: string, spec?: unknown): Promise<string | undefined> => {
    const plugin = deps.plugins.get(type);
    if (plugin && spec !== undefined) {
      try {
        const team = specOwnerTeam(plugin, spec);
        if (team !== undefined) return team;
      } catch {
        // Left to submit, which reports the spec's faults field by field.
      }
    }
    return (await deps.store.getResource(type, name))?.ownerTeam;
  };
  const ownerOf = async (type: string, name: string) => (await deps.store.getResource(type, name))?.ownerTeam;

  return {
    async applyResource(req, context) {
      const caller = actingFor(principalOf(context), req.team, await namedTeam(req.type, req.name, req.spec));
      const result = await submitApply(deps, caller, {
        type: req.type,
        name: req.name,
        spec: (req.spec ?? {}) as JsonObject,
        requestId: req.requestId,
        expectedRevision: optionalRevision(req.expectedRevision),
        comment: req.comment,
        labels: req.labels,
        overrideGuardrails: req.overrideGuardrails,
        callback: callbackFromProto(req.callback),
      });
      if (result.change && !result.deduplicated)
        deps.metrics.changesSubmitted.inc({ type: req.type, kind: result.change.kind });
      return {
        change: result.change && changeToProto(result.change),
        resource: result.resource && resourceToProto(result.resource),
        deduplicated: result.deduplicated,
        noOp: result.noOp,
      };
    },

    async deleteResource(req, context) {
      const caller = actingFor(principalOf(context), req.team, await namedTeam(req.type, req.name));
      const result = await submitDelete(deps, caller, {
        type: req.type,
        name: req.name,
        requestId: req.requestId,
        expectedRevision: optionalRevision(req.expectedRevision),
        comment: req.comment,
        callback: callbackFromProto(req.callback),
      });
      if (result.change && !result.deduplicated) deps.metrics.changesSubmitted.inc({ type: req.type, kind: "DELETE" });
      return {
        change: result.change && changeToProto(result.change),
        resource: result.resource && resourceToProto(result.resource),
        deduplicated: result.deduplicated,
      };
    },

    async getResource(req, context) {
      principalOf(context);
      const resource = await deps.store.getResource(req.type, req.name);
      if (!resource) throw new NotFoundError(`${req.type} "${req.name}" does not exist`);
      const plugin = deps.plugins.get(req.type);
      const dependents =
        plugin && resource.status !== "DELETED"
          ? await dependentsOf(plugin, resource.name, resource.resolvedSpec, createResourceLookup(deps.store))
          : [];
      return { resource: dependents.length > 0 ? { ...resourceReply(resource), dependents } : resourceReply(resource) };
    },

    // Readable by whoever may read the resource: GetResource's rule, any signed-in person.
    async getResourceSummary(req, context) {
      principalOf(context);
      const summary = await summarizeResource(deps, req.type, req.name);
      return {
        facts: summary.facts,
        series: summary.series.map((series) => ({
          ...series,
          points: series.points.map((point) => ({ time: timestampFromDate(point.time), value: point.value })),
        })),
        missing: summary.missing,
        readTime: timestampFromDate(deps.now()),
      };
    },

    async listResources(req, context) {
      principalOf(context);
      const page = await deps.store.listResources(
        { type: req.type || undefined, team: req.team || undefined, status: resourceStatusFromProto.get(req.status) },
        pageSize(req.pageSize),
        req.pageToken,
      );
      return { resources: page.items.map(resourceToProto), nextPageToken: page.nextPageToken };
    },

    async listRevisions(req, context) {
      principalOf(context);
      const page = await deps.store.listRevisions(req.type, req.name, pageSize(req.pageSize), req.pageToken);
      if (page.items.length === 0 && !req.pageToken && !(await deps.store.getResource(req.type, req.name))) {
        throw new NotFoundError(`${req.type} "${req.name}" does not exist`);
      }
      return { revisions: page.items.map(revisionToProto), nextPageToken: page.nextPageToken };
    },

    async getRevision(req, context) {
      principalOf(context);
      const revision = await deps.store.getRevision(req.type, req.name, Number(req.revision));
      if (!revision) throw new NotFoundError(`${req.type} "${req.name}" has no revision ${req.revision}`);
      return { revision: revisionToProto(revision) };
    },

    async previewResource(req, context) {
      const preview = await previewApply(deps, actingFor(principalOf(context), "", await ownerOf(req.type, req.name)), {
        type: req.type,
        name: req.name,
        spec: (req.spec ?? {}) as JsonObject,
      });
      return {
        kind: changeKindToProto[preview.kind],
        resolvedSpec: preview.resolvedSpec,
        differences: preview.differences.map(differenceToProto),
        noOp: preview.noOp,
        requiredApprovals: preview.requiredApprovals,
        reviewReasons: preview.reviewReasons,
        explanations: preview.explanations,
      };
    },

    async revealSecret(req, context) {
      const value = await revealSecret(deps, actingFor(principalOf(context), "", await ownerOf(req.type, req.name)), {
        type: req.type,
        name: req.name,
        key: req.key,
      });
      // Only reveals that returned a value: the type then names a loaded plugin, so the label stays bounded.
      deps.metrics.secretReveals.inc({ type: req.type });
      return { value: fromJson(ValueSchema, value) };
    },

    async listAccessGrants(req) {
      const budgeted = {
        ...deps,
        store: withReadBudget(deps.store, deps.limits.maxReadsPerCall, "this grant listing"),
      };
      const grants = await listAccessGrants(budgeted, {
        type: req.type || undefined,
        ownerTeam: req.ownerTeam || undefined,
        requesterTeam: req.requesterTeam || undefined,
      });
      return { grants: grants.map(accessGrantToProto) };
    },

    async revokeAccessGrant(req, context) {
      const principal = principalOf(context);
      const result = await revokeAccessGrant(deps, req.team === "" ? principal : actingFor(principal, req.team), {
        type: req.type,
        name: req.name,
        field: req.field,
        requestId: req.requestId,
        comment: req.comment,
        team: req.team,
      });
      return {
        change: result.change && changeToProto(result.change),
        resource: result.resource && resourceToProto(result.resource),
        deduplicated: result.deduplicated,
      };
    },

    async getTeamUsage(req, context) {
      const team = req.team || principalOf(context).team;
      const usage = await teamUsage(deps.plugins.list(), createResourceLookup(deps.store), team);
      return { team, usage };
    },

    async reconcileResource(req, context) {
      const result = await submitReconcile(
        deps,
        actingFor(principalOf(context), "", await ownerOf(req.type, req.name)),
        {
          type: req.type,
          name: req.name,
          requestId: req.requestId,
          comment: req.comment,
        },
      );
      return {
        change: result.change && changeToProto(result.change),
        resource: result.resource && resourceToProto(result.resource),
        deduplicated: result.deduplicated,
      };
    },

    async revertResource(req, context) {
      const result = await submitRevert(deps, actingFor(principalOf(context), "", await ownerOf(req.type, req.name)), {
        type: req.type,
        name: req.name,
        revision: Number(req.revision),
        requestId: req.requestId,
        comment: req.comment,
      });
      return {
        change: result.change && changeToProto(result.change),
        resource: result.resource && resourceToProto(result.resource),
        deduplicated: result.deduplicated,
        noOp: result.noOp,
      };
    },
  };
}
