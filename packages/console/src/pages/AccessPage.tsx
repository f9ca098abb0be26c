import { useEffect, useState } from "react";
import { type AccessAsk, pendingChanges, waitingAsks, whyNotReview } from "../access-requests.ts";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { describeError } from "../errors.ts";
import { age, isoText, shortChangeId } from "../format.ts";
import { Link, changeHref, resourceHref, teamHref } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

/** The page reads itself again this often, so a page left open stays current. */
const refreshMs = 30_000;

const askKey = (ask: AccessAsk) => `${ask.change.id}/${ask.ownerTeam}`;

/** "payments asks to read orders.*; read payments.*": every request of one change to one team, in one line. */
const askText = (ask: AccessAsk) =>
  `${ask.requests[0]?.requesterTeam ?? ask.change.team} asks to ${ask.requests.map((r) => r.access).join("; ")}`;

function AskItem({ ask, now, onDone }: { ask: AccessAsk; now: number; onDone: (message: string) => void }) {
  const { api, me } = useSession();
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const blocked = whyNotReview(ask, me);
  const { change, ownerTeam } = ask;
  const id = askKey(ask).replace(/[^a-zA-Z0-9_-]/g, "-");
  const act = (decision: "approve" | "reject") => {
    setBusy(true);
    setError(undefined);
    // Acting for the owning team: the server counts the approval for that team's request (and judges whether it may).
    const request = { id: change.id, team: ownerTeam, comment: comment.trim() };
    const call = decision === "approve" ? api.changes.approveChange(request) : api.changes.rejectChange(request);
    call.then(
      () => onDone(`${decision === "approve" ? "Approved" : "Rejected"} for ${ownerTeam}: ${askText(ask)}.`),
      (e: unknown) => {
        setError(describeError(e));
        setBusy(false);
      },
    );
  };
  return (
    <li className="ask" data-change-id={change.id} data-owner-team={ownerTeam}>
      <h2 id={`${id}-what`} data-testid="ask-what">
        {askText(ask)}
      </h2>
      <p className="ask-facts">
        <span>
          for <Link href={resourceHref(change.type, change.name)}>{`${change.type}/${change.name}`}</Link>, of team{" "}
          <Link href={teamHref(ownerTeam)}>{ownerTeam}</Link>
        </span>{" "}
        · <span data-testid="ask-who">asked by {change.requestedBy}</span> ·{" "}
        <span>
          waiting <time dateTime={isoText(change.createTime)}>{age(change.createTime, now)}</time>
        </span>{" "}
        ·{" "}
        <Link href={changeHref(change.id)} title={change.id} className="change-id">
          change {shortChangeId(change.id)}
        </Link>
      </p>
      {change.comment && <p className="muted">“{change.comment}”</p>}
      {blocked ? (
        <p className="hint" data-testid="ask-blocked">
          {blocked}
        </p>
      ) : (
        <div className="ask-review">
          <label htmlFor={`${id}-comment`}>Comment (required to reject)</label>
          <input
            id={`${id}-comment`}
            type="text"
            value={comment}
            disabled={busy}
            onChange={(e) => setComment(e.target.value)}
          />
          <div className="actions">
            <button type="button" disabled={busy} onClick={() => act("approve")} aria-describedby={`${id}-what`}>
              Approve
            </button>
            <button
              type="button"
              className="danger"
              disabled={busy || comment.trim() === ""}
              onClick={() => act("reject")}
              aria-describedby={`${id}-what`}
              title={comment.trim() === "" ? "Say why in the comment to reject" : undefined}
            >
              Reject
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
    </li>
  );
}

/**
 * Access requests waiting for the signed-in person's teams ("payments asks to
 * read orders.*"), oldest first, each approved or rejected here as a
 * reviewer of the owning team. Buttons show only where the server's rule
 * lets this person decide; the server still judges every call.
 */
export function AccessPage() {
  const { api, me } = useSession();
  const list = useLoad(
    async (signal) => ({ now: Date.now(), asks: waitingAsks(await pendingChanges(api, signal), me) }),
    "access",
  );
  const [done, setDone] = useState("");
  const { reload } = list;
  useEffect(() => {
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload]);
  const asks = list.data?.asks;
  return (
    <main>
      <h1 tabIndex={-1}>Access requests</h1>
      <p className="hint">
        Changes of other teams that ask to reach what your team owns. A reviewer of the owning team approves each before
        the change applies; the change&apos;s own review is on its page.
      </p>
      <div className="queue-bar">
        <button type="button" className="secondary" onClick={reload} disabled={list.loading}>
          Refresh
        </button>
        <p className="summary" role="status" aria-live="polite" data-testid="access-summary">
          {done}
          {done && " "}
          {!asks ? (list.loading ? "Loading…" : "") : `${asks.length} waiting, oldest first.`}
        </p>
      </div>
      <ErrorNote error={list.error} onRetry={reload} />
      {asks && asks.length === 0 && <p className="muted">None.</p>}
      {asks && asks.length > 0 && (
        <ul className="asks" data-testid="asks">
          {asks.map((ask) => (
            <AskItem
              key={askKey(ask)}
              ask={ask}
              now={list.data!.now}
              onDone={(message) => {
                setDone(message);
                reload();
              }}
            />
          ))}
        </ul>
      )}
    </main>
  );
}
