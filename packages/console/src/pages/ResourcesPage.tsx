import { ErrorNote } from "../components/ErrorNote.tsx";
import { resourceStatusLabel, timeText } from "../format.ts";
import { Link, navigate, resourceHref } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

/** Every resource, optionally of one team; the way to reach a resource page without a change link. */
export function ResourcesPage({ query }: { query: URLSearchParams }) {
  const { api, me } = useSession();
  const team = query.get("team") ?? "";
  const list = useLoad((signal) => api.resources.listResources({ team, pageSize: 500 }, { signal }), team);
  return (
    <main>
      <h1 tabIndex={-1}>Resources</h1>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Team
          <select
            value={team}
            onChange={(e) =>
              navigate(e.target.value ? `/resources?team=${encodeURIComponent(e.target.value)}` : "/resources", true)
            }
          >
            <option value="">any team</option>
            <option value={me.team}>{me.team} (yours)</option>
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
              <tr key={`${r.type}/${r.name}`}>
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
