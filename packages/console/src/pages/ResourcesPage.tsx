import { type Resource, ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { useEffect, useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { describeError } from "../errors.ts";
import { resourceStatusLabel, timeText } from "../format.ts";
import { Link, navigate, resourceHref } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useFirstScreenful } from "../use-first-screenful.ts";
import { useLoad } from "../use-load.ts";

const pageSize = 500;

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
    (signal) => api.resources.listResources({ team, status, pageSize }, { signal }),
    `${team}|${status}`,
  );
  const [moreError, setMoreError] = useState<string>();
  // Pages fetched with "Load more", tied to the first page they follow: a new first page starts over.
  const [extra, setExtra] = useState<{ after?: object; resources: Resource[]; token: string }>({
    resources: [],
    token: "",
  });
  const more =
    extra.after !== undefined && extra.after === list.data
      ? extra
      : { resources: [] as Resource[], token: list.data?.nextPageToken ?? "" };
  const rows = [...(list.data?.resources ?? []), ...more.resources];
  const shown = useFirstScreenful(rows.length, () =>
    performance.mark("plinth:resources-complete", { detail: { rows: rows.length } }),
  );
  const loadMore = () => {
    setMoreError(undefined);
    api.resources.listResources({ team, status, pageSize, pageToken: more.token }).then(
      (page) =>
        setExtra({ after: list.data, resources: [...more.resources, ...page.resources], token: page.nextPageToken }),
      (e: unknown) => setMoreError(describeError(e)),
    );
  };
  useEffect(() => {
    // The mark the render benchmark reads (queue-render.test.ts): the first page's first screenful is in the DOM.
    if (list.data) performance.mark("plinth:resources-rendered", { detail: { rows: list.data.resources.length } });
  }, [list.data]);
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
      <p className="summary" role="status" aria-live="polite">
        {list.loading && !list.data
          ? "Loading…"
          : `${rows.length}${more.token ? "+" : ""} ${rows.length === 1 ? "resource" : "resources"}`}
      </p>
      <div className="table-wrap">
        <table data-testid="resources">
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
            {rows.slice(0, shown).map((r) => (
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
      {more.token && (
        <button type="button" onClick={loadMore}>
          Load more
        </button>
      )}
      <ErrorNote error={moreError} onRetry={loadMore} />
    </main>
  );
}
