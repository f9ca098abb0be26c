import { ChangeStatus, type Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { useEffect, useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { ReviewDecision } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { age, filterableStatuses, isoText, kindLabel, statusLabel } from "../format.ts";
import { Link, changeHref, navigate, resourceHref } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

const pageSize = 500;

const approvals = (c: Change): number => c.reviews.filter((r) => r.decision === ReviewDecision.APPROVED).length;

function statusFromQuery(query: URLSearchParams): ChangeStatus {
  const raw = query.get("status");
  if (raw === "any") return ChangeStatus.UNSPECIFIED;
  const found = filterableStatuses.find((s) => ChangeStatus[s] === raw);
  return found ?? ChangeStatus.PENDING_REVIEW;
}

/** Changes waiting for review, oldest first (the order the service lists them in). */
export function QueuePage({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const status = statusFromQuery(query);
  const type = query.get("type") ?? "";
  const team = query.get("team") ?? "";
  const [now] = useState(() => Date.now());
  const [more, setMore] = useState<{ changes: Change[]; token: string }>({ changes: [], token: "" });
  const plugins = useLoad((signal) => api.plugins.listPlugins({}, { signal }), "plugins");
  const list = useLoad(
    (signal) => api.changes.listChanges({ status, type, team, pageSize }, { signal }),
    `${status}|${type}|${team}`,
  );
  useEffect(() => setMore({ changes: [], token: list.data?.nextPageToken ?? "" }), [list.data]);
  const rows = [...(list.data?.changes ?? []), ...more.changes];

  useEffect(() => {
    if (list.data) performance.mark("plinth:queue-rendered", { detail: { rows: list.data.changes.length } });
  }, [list.data]);

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === "") next.delete(key);
    else next.set(key, value);
    const text = next.toString();
    navigate(text ? `/?${text}` : "/", true);
  };
  const loadMore = () => {
    api.changes.listChanges({ status, type, team, pageSize, pageToken: more.token }).then(
      (page) => setMore((m) => ({ changes: [...m.changes, ...page.changes], token: page.nextPageToken })),
      () => list.reload(),
    );
  };

  return (
    <main>
      <h1 tabIndex={-1}>Review queue</h1>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status === ChangeStatus.UNSPECIFIED ? "any" : ChangeStatus[status]}
            onChange={(e) => setFilter("status", e.target.value === "PENDING_REVIEW" ? "" : e.target.value)}
          >
            {filterableStatuses.map((s) => (
              <option key={s} value={ChangeStatus[s]}>
                {statusLabel(s)}
              </option>
            ))}
            <option value="any">any status</option>
          </select>
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => setFilter("type", e.target.value)}>
            <option value="">any type</option>
            {plugins.data?.plugins.map((p) => (
              <option key={p.type} value={p.type}>
                {p.type}
              </option>
            ))}
          </select>
        </label>
        <label>
          Team
          <input
            type="search"
            defaultValue={team}
            placeholder="any team"
            onKeyDown={(e) => {
              if (e.key === "Enter") setFilter("team", e.currentTarget.value.trim());
            }}
            onBlur={(e) => setFilter("team", e.currentTarget.value.trim())}
          />
        </label>
      </form>
      <ErrorNote error={list.error} onRetry={list.reload} />
      <p className="summary" role="status" aria-live="polite">
        {list.loading && !list.data ? "Loading…" : `${rows.length}${more.token ? "+" : ""} changes, oldest first`}
      </p>
      <div className="table-wrap">
        <table className="queue" data-testid="queue" aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Resource</th>
              <th scope="col">Kind</th>
              <th scope="col">Requester</th>
              <th scope="col">Team</th>
              <th scope="col">Age</th>
              <th scope="col">Approvals</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id} data-change-id={c.id}>
                <td>
                  <Link href={changeHref(c.id)}>{c.id.slice(0, 12)}</Link>
                </td>
                <td>
                  <Link href={resourceHref(c.type, c.name)}>
                    {c.type}/{c.name}
                  </Link>
                </td>
                <td className={`kind kind-${kindLabel(c.kind)}`}>{kindLabel(c.kind)}</td>
                <td>{c.requestedBy}</td>
                <td>{c.team}</td>
                <td>
                  <time dateTime={isoText(c.createTime)}>{age(c.createTime, now)}</time>
                </td>
                <td>
                  {approvals(c)} of {c.requiredApprovals}
                </td>
                <td>{statusLabel(c.status)}</td>
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
    </main>
  );
}
