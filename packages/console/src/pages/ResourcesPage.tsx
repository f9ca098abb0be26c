import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { resourceStatusLabel, timeText } from "../format.ts";
import { Link, navigate, resourceHref } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

const filterableResourceStatuses: ResourceStatus[] = [
  ResourceStatus.PROVISIONING,
  ResourceStatus.READY,
  ResourceStatus.DRIFTED,
  ResourceStatus.FAILED,
  ResourceStatus.DELETING,
  ResourceStatus.DELETED,
];

function statusFromQuery(query: URLSearchParams): ResourceStatus {
  const raw = query.get("status");
  return filterableResourceStatuses.find((s) => ResourceStatus[s] === raw) ?? ResourceStatus.UNSPECIFIED;
}

/** Every resource, optionally of one team; the way to reach a resource page without a change link. */
export function ResourcesPage({ query }: { query: URLSearchParams }) {
  const { api, me } = useSession();
  const team = query.get("team") ?? "";
  const status = statusFromQuery(query);
  const list = useLoad(
    (signal) => api.resources.listResources({ team, status, pageSize: 500 }, { signal }),
    `${team}|${status}`,
  );
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === "") next.delete(key);
    else next.set(key, value);
    const text = next.toString();
    navigate(text ? `/resources?${text}` : "/resources", true);
  };
  return (
    <main>
      <h1 tabIndex={-1}>Resources</h1>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Team
          <select value={team} onChange={(e) => setFilter("team", e.target.value)}>
            <option value="">any team</option>
            <option value={me.team}>{me.team} (yours)</option>
          </select>
        </label>
        <label>
          Status
          <select
            value={status === ResourceStatus.UNSPECIFIED ? "" : ResourceStatus[status]}
            onChange={(e) => setFilter("status", e.target.value)}
          >
            <option value="">any status</option>
            {filterableResourceStatuses.map((s) => (
              <option key={s} value={ResourceStatus[s]}>
                {resourceStatusLabel(s)}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={list.error} onRetry={list.reload} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Resource</th>
              <th scope="col">Team</th>
              <th scope="col">Status</th>
              <th scope="col">Revision</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.resources.map((r) => (
              <tr key={`${r.type}/${r.name}`} data-resource={`${r.type}/${r.name}`}>
                <td>
                  <Link href={resourceHref(r.type, r.name)}>
                    {r.type}/{r.name}
                  </Link>
                </td>
                <td>{r.ownerTeam}</td>
                <td>{resourceStatusLabel(r.status)}</td>
                <td>{String(r.revision)}</td>
                <td>{timeText(r.updateTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
