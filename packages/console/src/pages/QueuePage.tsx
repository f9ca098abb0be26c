import { type Change, ChangeStatus, ReviewDecision } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { useEffect, useMemo, useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { describeError } from "../errors.ts";
import { age, filterableStatuses, isoText, kindLabel, shortChangeId, statusLabel } from "../format.ts";
import { Link, changeHref, navigate, resourceHref } from "../router.tsx";
import type { Api } from "../api.ts";
import { useSession } from "../session.tsx";
import { useFirstScreenful } from "../use-first-screenful.ts";
import { useLoad } from "../use-load.ts";

const pageSize = 500;
/** The queue reads its first page again this often while the tab is shown, so a queue left open stays current. */
const refreshMs = 15_000;

const approvals = (c: Change): number => c.reviews.filter((r) => r.decision === ReviewDecision.APPROVED).length;

/** The ListChanges request a queue address asks for. */
function queueRequest(query: URLSearchParams) {
  return { status: statusFromQuery(query), type: query.get("type") ?? "", team: query.get("team") ?? "", pageSize };
}

const requestKey = (r: ReturnType<typeof queueRequest>) => `${r.status}|${r.type}|${r.team}`;

let prefetched: { key: string; response: ReturnType<Api["changes"]["listChanges"]> } | undefined;

/**
 * Starts loading the queue while the token is still being checked, so a
 * returning reviewer does not wait for two round trips in a row. Used once.
 */
export function prefetchQueue(api: Api, query: URLSearchParams): void {
  const request = queueRequest(query);
  const response = api.changes.listChanges(request);
  response.catch(() => undefined); // The page reports errors when it asks; nobody may ask.
  prefetched = { key: requestKey(request), response };
}

function takePrefetched(key: string) {
  const found = prefetched?.key === key ? prefetched.response : undefined;
  prefetched = undefined;
  return found;
}

function statusFromQuery(query: URLSearchParams): ChangeStatus {
  const raw = query.get("status");
  if (raw === "any") return ChangeStatus.UNSPECIFIED;
  const found = filterableStatuses.find((s) => ChangeStatus[s] === raw);
  return found ?? ChangeStatus.PENDING_REVIEW;
}

/** Changes waiting for review, oldest first (the order the service lists them in). */
export function QueuePage({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const request = queueRequest(query);
  const { status, type, team } = request;
  const [moreError, setMoreError] = useState<string>();
  // Pages fetched with "Load more", tied to the first page they follow: a new first page starts over.
  const [extra, setExtra] = useState<{ after?: object; changes: Change[]; token: string }>({ changes: [], token: "" });
  const plugins = useLoad((signal) => api.plugins.listPlugins({}, { signal }), "plugins");
  const list = useLoad(
    (signal) => takePrefetched(requestKey(request)) ?? api.changes.listChanges(request, { signal }),
    requestKey(request),
  );
  // Ages are as of the last load, so a refresh updates them and nothing ticks in between.
  const now = useMemo(() => Date.now(), [list.data]);
  const more =
    extra.after !== undefined && extra.after === list.data
      ? extra
      : { changes: [] as Change[], token: list.data?.nextPageToken ?? "" };
  const rows =
    more.changes.length === 0 ? (list.data?.changes ?? []) : [...(list.data?.changes ?? []), ...more.changes];
  const shown = useFirstScreenful(rows.length, () =>
    // The benchmark's third mark (queue-render.test.ts): every row of the first page is in the DOM.
    performance.mark("plinth:queue-complete", { detail: { rows: rows.length } }),
  );

  // Pages added with "Load more" would be dropped by a reload: while there are some, only Refresh reloads.
  const live = more.changes.length === 0;
  const { reload } = list;
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => document.visibilityState === "visible" && reload(), refreshMs);
    return () => clearInterval(timer);
  }, [live, reload]);

  useEffect(() => {
    if (!list.data) return;
    // Two marks the browser test reads: the first screenful committed to the DOM, and the frame painted after it.
    const rows = list.data.changes.length;
    performance.mark("plinth:queue-rendered", { detail: { rows } });
    requestAnimationFrame(() => setTimeout(() => performance.mark("plinth:queue-painted", { detail: { rows } })));
  }, [list.data]);

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === "") next.delete(key);
    else next.set(key, value);
    const text = next.toString();
    navigate(text ? `/queue?${text}` : "/queue", true);
  };
  const loadMore = () => {
    setMoreError(undefined);
    api.changes.listChanges({ status, type, team, pageSize, pageToken: more.token }).then(
      (page) => setExtra({ after: list.data, changes: [...more.changes, ...page.changes], token: page.nextPageToken }),
      (e: unknown) => setMoreError(describeError(e)),
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
      <div className="queue-bar">
        <button type="button" className="secondary" onClick={list.reload} disabled={list.loading}>
          Refresh
        </button>
        <p className="summary" role="status" aria-live="polite">
          {list.loading && !list.data
            ? "Loading…"
            : `${rows.length}${more.token ? "+" : ""} ${rows.length === 1 ? "change" : "changes"}, oldest first`}
        </p>
      </div>
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
            {rows.slice(0, shown).map((c) => (
              <tr key={c.id} data-change-id={c.id}>
                <td>
                  <Link href={changeHref(c.id)} title={c.id}>
                    {shortChangeId(c.id)}
                  </Link>
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
                <td className="approvals">
                  {approvals(c)} of {c.requiredApprovals}
                  {c.accessRequests.map((request, i) => (
                    <div key={i} className="muted" data-testid="access-request">
                      {request.requesterTeam} asks to {request.access}
                      {request.approvedBy.length > 0 ? " (approved)" : ` (needs ${request.ownerTeam})`}
                    </div>
                  ))}
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
      <ErrorNote error={moreError} onRetry={loadMore} />
    </main>
  );
}
