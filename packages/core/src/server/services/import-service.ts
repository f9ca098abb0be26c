import type { ServiceImpl } from "@connectrpc/connect";
import type { ImportService } from "@plinth/sdk/gen/plinth/v1/import_service_pb.ts";
import { NotFoundError } from "../../domain/errors.ts";
import { approveImport, rejectImport } from "../../domain/review-import.ts";
import { submitImport } from "../../domain/submit-import.ts";
import { principalOf } from "../auth.ts";
import { importToProto } from "../convert-import.ts";
import type { ServiceDeps } from "./service-deps.ts";

/** ImportService: proto in, one domain call, proto out. */
export function importService(deps: ServiceDeps): ServiceImpl<typeof ImportService> {
  return {
    async importResources(req, context) {
      const record = await submitImport(deps, principalOf(context), {
        type: req.type,
        scope: req.scope,
        rules: req.rules.map(({ prefix, team, contact }) => ({ prefix, team, contact })),
        requestId: req.requestId,
        comment: req.comment,
        dryRun: req.dryRun,
      });
      return { import: importToProto(record) };
    },
    async getImport(req, context) {
      principalOf(context);
      const record = req.id ? await deps.store.getImport(req.id) : undefined;
      if (!record) throw new NotFoundError(`import "${req.id}" does not exist`);
      return { import: importToProto(record) };
    },
    async approveImport(req, context) {
      return { import: importToProto(await approveImport(deps, principalOf(context), req.id, req.comment, req.team)) };
    },
    async rejectImport(req, context) {
      return { import: importToProto(await rejectImport(deps, principalOf(context), req.id, req.comment)) };
    },
  };
}
