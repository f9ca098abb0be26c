import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { ListChangesRequestSchema } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import type { Resource } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import type { ListResourcesRequestSchema } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import type { Api } from "./api.ts";

/** The most a list RPC returns per read. */
const pageSize = 500;

type ChangeFilter = Pick<
  MessageInitShape<typeof ListChangesRequestSchema>,
  "status" | "type" | "name" | "team" | "finishedAfter"
>;
type ResourceFilter = Pick<MessageInitShape<typeof ListResourcesRequestSchema>, "status" | "type" | "team">;

/** Every change `filter` lists, page after page, in the service's order (oldest first). */
export async function readAllChanges(api: Api, filter: ChangeFilter, signal: AbortSignal): Promise<Change[]> {
  const changes: Change[] = [];
  let pageToken = "";
  do {
    const page = await api.changes.listChanges({ ...filter, pageSize, pageToken }, { signal });
    changes.push(...page.changes);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return changes;
}

/** Every resource `filter` lists, page after page, in the service's order. */
export async function readAllResources(api: Api, filter: ResourceFilter, signal: AbortSignal): Promise<Resource[]> {
  const resources: Resource[] = [];
  let pageToken = "";
  do {
    const page = await api.resources.listResources({ ...filter, pageSize, pageToken }, { signal });
    resources.push(...page.resources);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return resources;
}
