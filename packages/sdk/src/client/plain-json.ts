import { toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { ChangeKind, ChangeStatus } from "../gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "../gen/plinth/v1/resource_pb.ts";

/**
 * A response (or any message) as plain JSON, for logs and printing: the
 * canonical proto3 JSON a Connect JSON client gets, with enums by name
 * (`"CHANGE_STATUS_SUCCEEDED"`), int64 as strings, timestamps in RFC 3339,
 * no `$typeName`, and every field present even when it holds its default.
 * The same as the CLI's `--json`.
 *
 * ```ts
 * console.log(JSON.stringify(plainJson(ApplyResourceResponseSchema, response)));
 * ```
 */
export function plainJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}

/** `SUCCEEDED` for `ChangeStatus.SUCCEEDED`: the name without its prefix. */
export const changeStatusName = (status: ChangeStatus): string => ChangeStatus[status] ?? String(status);

/** `CREATE` for `ChangeKind.CREATE`. */
export const changeKindName = (kind: ChangeKind): string => ChangeKind[kind] ?? String(kind);

/** `READY` for `ResourceStatus.READY`. */
export const resourceStatusName = (status: ResourceStatus): string => ResourceStatus[status] ?? String(status);
