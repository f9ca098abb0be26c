import type { JsonObject } from "@bufbuild/protobuf";
import type { Resource } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { ErrorNote } from "./ErrorNote.tsx";
import { shortChangeId, show, specRows, timeText } from "../format.ts";
import { Link, changeHref } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

/** What the resource is: its spec with the service's defaults filled in, one leaf per row. */
export function ResourceSpec({ resource }: { resource: Resource }) {
  const rows = specRows((resource.resolvedSpec ?? resource.spec) as JsonObject | undefined);
  return (
    <section aria-labelledby="spec-heading">
      <h2 id="spec-heading">Spec</h2>
      <div className="table-wrap">
        <table data-testid="resource-spec">
          <caption>As applied, with defaults filled in</caption>
          <tbody>
            {rows.map(([path, value]) => (
              <tr key={path}>
                <th scope="row">
                  <code>{path}</code>
                </th>
                <td>
                  <code>{show(value)}</code>
                </td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td>Empty spec.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/**
 * The access this resource has to other teams' resources (a Kafka user's reads of another team's topics), each
 * with who of the owning team approved it and since when. Same-team access is in the spec above.
 */
export function ResourceGrants({ resource }: { resource: Resource }) {
  const { api } = useSession();
  const grants = useLoad(
    async (signal) =>
      (
        await api.resources.listAccessGrants({ type: resource.type, requesterTeam: resource.ownerTeam }, { signal })
      ).grants.filter((g) => g.name === resource.name),
    `${resource.type}/${resource.name}/${resource.revision}`,
  );
  return (
    <section aria-labelledby="grants-heading">
      <h2 id="grants-heading">Cross-team grants</h2>
      <ErrorNote error={grants.error} onRetry={grants.reload} />
      {grants.loading && !grants.data && <p role="status">Loading…</p>}
      {grants.data?.length === 0 && (
        <p className="muted" data-testid="resource-grants-none">
          None: it reaches nothing another team owns.
        </p>
      )}
      {grants.data && grants.data.length > 0 && (
        <div className="table-wrap">
          <table data-testid="resource-grants">
            <thead>
              <tr>
                <th scope="col">Access</th>
                <th scope="col">Owner team</th>
                <th scope="col">Approved by</th>
                <th scope="col">Since</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {grants.data.map((g) => (
                <tr key={g.field} data-field={g.field}>
                  <td>{g.access}</td>
                  <td>{g.ownerTeam}</td>
                  <td>{g.approvedBy.join(", ") || "nobody of that team"}</td>
                  <td>{timeText(g.since)}</td>
                  <td>
                    {g.changeId && (
                      <Link href={changeHref(g.changeId)} title={g.changeId}>
                        {shortChangeId(g.changeId)}
                      </Link>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
