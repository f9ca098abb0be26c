import type { JsonObject } from "@bufbuild/protobuf";
import {
  type Change,
  type ChangeEvent,
  ChangeKind,
  ChangeStatus,
  ReviewDecision,
} from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { Revision } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type ReactNode, useEffect, useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { Notifications } from "../components/Notifications.tsx";
import { PreviewView } from "../components/PreviewView.tsx";
import { SpecDiff } from "../components/SpecDiff.tsx";
import { describeError } from "../errors.ts";
import {
  dateOf,
  decisionLabel,
  finalStatuses,
  flatten,
  kindLabel,
  resourceStatusLabel,
  show,
  statusLabel,
  timeText,
} from "../format.ts";
import { Link, changeSetHref, resourceHref } from "../router.tsx";
import { type Session, hasRole, useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

/** Why the signed-in person cannot review this change, or undefined when they can. */
function reviewBlocked(me: Session["me"], change: Change): string | undefined {
  if (me.id === change.requestedBy) return "You requested this change: another reviewer must approve or reject it.";
  if (!hasRole(me, "reviewer")) {
    return `Reviewing needs the reviewer role; you (${me.id}) have: ${me.roles.join(", ") || "no roles"}.`;
  }
  if (change.status !== ChangeStatus.PENDING_REVIEW) {
    return `No longer pending review: it is ${statusLabel(change.status)}.`;
  }
  if (change.reviews.some((r) => r.reviewer === me.id))
    return "You already approved this change: another reviewer must.";
  return undefined;
}

function ReviewPanel({ change, onChanged }: { change: Change; onChanged: (c: Change) => void }) {
  const { api, me } = useSession();
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const blocked = reviewBlocked(me, change);
  const act = (action: "approve" | "reject") => {
    setBusy(true);
    setError(undefined);
    const call =
      action === "approve"
        ? api.changes.approveChange({ id: change.id, comment })
        : api.changes.rejectChange({ id: change.id, comment });
    call
      .then(
        (res) => {
          if (res.change) onChanged(res.change);
          setComment("");
        },
        (e: unknown) => setError(describeError(e)),
      )
      .finally(() => setBusy(false));
  };
  const approvals = change.reviews.filter((r) => r.decision === ReviewDecision.APPROVED).length;
  return (
    <section className="review-panel" aria-labelledby="review-heading">
      <h2 id="review-heading">Your review</h2>
      <p>
        {approvals} of {change.requiredApprovals} required approvals given.
      </p>
      <label htmlFor="review-comment">Comment {blocked ? "" : "(required to reject)"}</label>
      <textarea
        id="review-comment"
        rows={3}
        value={comment}
        disabled={blocked !== undefined || busy}
        onChange={(e) => setComment(e.target.value)}
        aria-describedby="review-blocked"
      />
      <div className="actions">
        <button type="button" disabled={blocked !== undefined || busy} onClick={() => act("approve")}>
          Approve
        </button>
        <button
          type="button"
          className="danger"
          disabled={blocked !== undefined || busy || comment.trim() === ""}
          onClick={() => act("reject")}
          title={comment.trim() === "" ? "Say why in the comment to reject" : undefined}
        >
          Reject
        </button>
      </div>
      <p id="review-blocked" className="hint" data-testid="review-blocked">
        {blocked}
      </p>
      <ErrorNote error={error} />
    </section>
  );
}

/** Follows a change that is not final yet through WatchChange, merging what arrives. */
function useLiveChange(initial: { change: Change; events: ChangeEvent[] } | undefined) {
  const { api } = useSession();
  const [change, setChange] = useState<Change>();
  const [events, setEvents] = useState<ChangeEvent[]>([]);
  const [watchError, setWatchError] = useState<string>();
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    setChange(initial?.change);
    setEvents(initial?.events ?? []);
  }, [initial]);
  const id = change?.id;
  const final = change ? finalStatuses.has(change.status) : true;
  useEffect(() => {
    if (!id || final) return;
    const controller = new AbortController();
    const after = events.at(-1)?.sequence ?? 0n;
    setWatchError(undefined);
    void (async () => {
      try {
        let ended = false;
        for await (const res of api.changes.watchChange({ id, afterSequence: after }, { signal: controller.signal })) {
          if (res.change) setChange(res.change);
          ended = res.change ? finalStatuses.has(res.change.status) : ended;
          const event = res.event;
          if (event) setEvents((list) => (list.some((e) => e.sequence === event.sequence) ? list : [...list, event]));
        }
        // The stream ends by itself only when the change is final; anything else is a server going away.
        if (!ended && !controller.signal.aborted) setWatchError("the server closed the connection.");
      } catch (e) {
        if (!controller.signal.aborted) setWatchError(describeError(e));
      }
    })();
    return () => controller.abort();
    // Reconnect only when the change or the attempt changes, not on every event.
  }, [api, id, final, attempt]);
  return { change, events, setChange, watchError, reconnect: () => setAttempt((a) => a + 1) };
}

function ResolvedSpec({ change }: { change: Change }) {
  // By path, like the diff above it.
  const rows = [...flatten(change.resolvedSpec ?? {}).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const requested = flatten(change.spec ?? {});
  const explained = Object.keys(change.explanations).length;
  return (
    <div className="table-wrap">
      <table data-testid="resolved-spec">
        <caption>
          Resolved spec: what will be applied, with the plugin's reasons for its defaults ({explained} explained)
        </caption>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Value</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([path, value]) => (
            <tr key={path}>
              <th scope="row">
                <code>{path}</code>
              </th>
              <td>
                <code>{show(value)}</code>
              </td>
              <td>
                {change.explanations[path] ?? (requested.has(path) ? <span className="muted">as requested</span> : "")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type HistoryItem = { key: string; time?: Date; node: ReactNode; className?: string };

/** The request, the reviews and the engine's events, in the order they happened. */
function History({ change, events }: { change: Change; events: ChangeEvent[] }) {
  const items: HistoryItem[] = [
    {
      key: "request",
      time: dateOf(change.createTime),
      node: (
        <>
          requested by <strong>{change.requestedBy}</strong>
          {change.comment && <blockquote>{change.comment}</blockquote>}
        </>
      ),
    },
    ...change.reviews.map((r, i) => ({
      key: `review-${i}`,
      time: dateOf(r.createTime),
      className: `review review-${decisionLabel(r.decision)}`,
      node: (
        <>
          <strong>{r.reviewer}</strong> {decisionLabel(r.decision)}
          {r.comment && <blockquote>{r.comment}</blockquote>}
        </>
      ),
    })),
    // Review events repeat what the reviews above say.
    ...events
      .filter((e) => e.kind !== "review")
      .map((e) => ({
        key: `event-${e.sequence}`,
        time: dateOf(e.time),
        className: `event event-${e.kind}`,
        node: (
          <>
            <span className="event-kind">{e.kind}</span> {e.message}
          </>
        ),
      })),
  ];
  // A stable sort keeps same-time items in the order the service recorded them.
  items.sort((a, b) => (a.time?.getTime() ?? 0) - (b.time?.getTime() ?? 0));
  return (
    <ol className="history" data-testid="history">
      {items.map((item) => (
        <li key={item.key} className={item.className}>
          <time dateTime={item.time?.toISOString()}>{item.time?.toLocaleString()}</time> {item.node}
        </li>
      ))}
    </ol>
  );
}

/** Once a change is final, where it left its resource: e.g. "now deleted". */
function ResourceOutcome({ change }: { change: Change }) {
  const { api } = useSession();
  const final = finalStatuses.has(change.status);
  const resource = useLoad(
    async (signal) =>
      final
        ? (await api.resources.getResource({ type: change.type, name: change.name }, { signal })).resource
        : undefined,
    `${change.type}/${change.name}/${final}`,
  );
  const status = resource.data?.status;
  return (
    <p className="outcome" data-testid="resource-outcome">
      {final && status !== undefined && (
        <>
          Resource{" "}
          <Link href={resourceHref(change.type, change.name)}>
            {change.type}/{change.name}
          </Link>{" "}
          is now <strong>{resourceStatusLabel(status)}</strong>.
        </>
      )}
    </p>
  );
}

function Progress({
  change,
  events,
  watchError,
  reconnect,
}: {
  change: Change;
  events: ChangeEvent[];
  watchError?: string;
  reconnect: () => void;
}) {
  const last = events.at(-1);
  const final = finalStatuses.has(change.status);
  return (
    <div className={`progress status-${ChangeStatus[change.status]}`}>
      <p role="status" aria-live="polite" aria-atomic="true" data-testid="change-status">
        <span className="status-badge">{statusLabel(change.status)}</span>
        <span className="progress-text">
          {final ? "final" : "following live"}
          {last ? ` · ${last.message}` : ""}
        </span>
      </p>
      <ResourceOutcome change={change} />
      {change.status === ChangeStatus.FAILED && change.lastError && <p className="error">Failed: {change.lastError}</p>}
      {watchError && (
        <div className="error-note" role="alert">
          <p>Live updates stopped: {watchError}</p>
          <button type="button" className="secondary" onClick={reconnect}>
            Reconnect
          </button>
        </div>
      )}
    </div>
  );
}

export function ChangePage({ id }: { id: string }) {
  const { api } = useSession();
  const loaded = useLoad(async (signal) => {
    const res = await api.changes.getChange({ id }, { signal });
    const change = res.change;
    if (!change) throw new Error("the server returned no change");
    let base: Revision | undefined;
    if (change.baseRevision > 0n) {
      base = (
        await api.resources.getRevision(
          { type: change.type, name: change.name, revision: change.baseRevision },
          { signal },
        )
      ).revision;
    }
    return { change, events: res.events, base };
  }, id);
  const live = useLiveChange(loaded.data);
  const change = live.change;
  if (!change) {
    return (
      <main>
        <h1 tabIndex={-1}>Change {id}</h1>
        {loaded.loading ? <p role="status">Loading…</p> : <ErrorNote error={loaded.error} onRetry={loaded.reload} />}
      </main>
    );
  }
  const base = loaded.data?.base;
  const isDelete = change.kind === ChangeKind.DELETE;
  const notes = [...change.reviewReasons];
  return (
    <main className="change-page">
      <h1 tabIndex={-1}>
        {kindLabel(change.kind)}{" "}
        <Link href={resourceHref(change.type, change.name)}>
          {change.type}/{change.name}
        </Link>
      </h1>
      <dl className="facts">
        <dt>Requested by</dt>
        <dd data-testid="requested-by">{change.requestedBy}</dd>
        <dt>Team</dt>
        <dd>{change.team}</dd>
        <dt>Requested</dt>
        <dd>{timeText(change.createTime)}</dd>
        <dt>Why</dt>
        <dd>{change.comment || <span className="muted">no comment given</span>}</dd>
        <dt>Change id</dt>
        <dd>
          <code>{change.id}</code>
        </dd>
        {change.changeSetId && (
          <>
            <dt>Change set</dt>
            <dd>
              <Link href={changeSetHref(change.changeSetId)}>
                submitted with others as change set {change.changeSetId}: review them together
              </Link>
            </dd>
          </>
        )}
      </dl>
      <Progress change={change} events={live.events} watchError={live.watchError} reconnect={live.reconnect} />
      <div className="columns">
        <div className="main-column">
          <section aria-labelledby="diff-heading">
            <h2 id="diff-heading">What is asked</h2>
            <SpecDiff
              caption={isDelete ? "Delete: everything below goes" : "Spec, as the requester wrote it"}
              before={base?.spec as JsonObject | undefined}
              after={isDelete ? undefined : change.spec}
              beforeLabel={base ? `Current (revision ${base.revision})` : "Current (does not exist yet)"}
              afterLabel={isDelete ? "After (deleted)" : "Requested"}
            />
          </section>
          {!isDelete && (
            <section aria-labelledby="resolved-heading">
              <h2 id="resolved-heading">What will be applied</h2>
              <ResolvedSpec change={change} />
            </section>
          )}
          <section aria-labelledby="preview-heading">
            <h2 id="preview-heading">What the engine will do</h2>
            <PreviewView preview={change.preview} />
          </section>
          {change.accessRequests.length > 0 && (
            <section aria-labelledby="asks-heading">
              <h2 id="asks-heading">Access asked of other teams</h2>
              <ul className="notes">
                {change.accessRequests.map((request, i) => (
                  <li key={i} data-testid="access-request">
                    <strong>
                      {request.requesterTeam} asks to {request.access}
                    </strong>{" "}
                    ({request.ownerTeam} owns it:{" "}
                    {request.approvedBy.length > 0
                      ? `approved by ${request.approvedBy.join(", ")}`
                      : `a reviewer of ${request.ownerTeam} must approve`}
                    )
                  </li>
                ))}
              </ul>
            </section>
          )}
          <section aria-labelledby="notes-heading">
            <h2 id="notes-heading">Validation and guardrail notes</h2>
            {notes.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul className="notes">
                {notes.map((n, i) => (
                  <li key={i}>{n}</li>
                ))}
              </ul>
            )}
          </section>
        </div>
        <aside className="side-column">
          <ReviewPanel change={change} onChanged={live.setChange} />
          <section aria-labelledby="history-heading">
            <h2 id="history-heading">History</h2>
            <History change={change} events={live.events} />
          </section>
          <section aria-labelledby="notifications-heading">
            <h2 id="notifications-heading">Notifications</h2>
            <Notifications change={change} />
          </section>
        </aside>
      </div>
    </main>
  );
}
