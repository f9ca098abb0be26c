import type { JsonObject } from "@bufbuild/protobuf";
import { ChangeKind, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { ChangeSet, SkippedMember } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import type { Revision } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { SpecDiff } from "../components/SpecDiff.tsx";
import { describeError } from "../errors.ts";
import { kindLabel, statusLabel, timeText } from "../format.ts";
import { Link, changeHref, resourceHref } from "../router.tsx";
import { hasRole, useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

/**
 * A change set (`plinth apply -f DIR`) on one page: every member's diff and
 * status, which teams must still approve what, and one review for the set.
 * Approving approves every member this reviewer may approve under the usual
 * rules (the server says which it left, and why); rejecting rejects every
 * pending member.
 */
export function ChangeSetPage({ id }: { id: string }) {
  const { api } = useSession();
  const loaded = useLoad(async (signal) => {
    const set = (await api.changeSets.getChangeSet({ id }, { signal })).changeSet;
    if (!set) throw new Error("the server returned no change set");
    const bases = await Promise.all(
      set.members.map(async ({ change }) =>
        change && change.baseRevision > 0n
          ? (
              await api.resources.getRevision(
                { type: change.type, name: change.name, revision: change.baseRevision },
                { signal },
              )
            ).revision
          : undefined,
      ),
    );
    return { set, bases };
  }, id);
  const [updated, setUpdated] = useState<ChangeSet>();
  const set = updated ?? loaded.data?.set;
  if (!set) {
    return (
      <main>
        <h1 tabIndex={-1}>Change set {id}</h1>
        {loaded.loading ? <p role="status">Loading…</p> : <ErrorNote error={loaded.error} onRetry={loaded.reload} />}
      </main>
    );
  }
  const pending = set.members.filter((m) => m.change?.status === ChangeStatus.PENDING_REVIEW).length;
  return (
    <main className="change-page">
      <h1 tabIndex={-1}>Change set {set.id}</h1>
      <dl className="facts">
        <dt>Requested by</dt>
        <dd data-testid="set-requested-by">{set.requestedBy}</dd>
        <dt>Team</dt>
        <dd>{set.team}</dd>
        <dt>Requested</dt>
        <dd>{timeText(set.createTime)}</dd>
        <dt>Why</dt>
        <dd>{set.comment || <span className="muted">no comment given</span>}</dd>
        <dt>Changes</dt>
        <dd>
          {set.members.length} ({pending} pending review; {set.unchanged} unchanged, not submitted)
        </dd>
      </dl>
      <div className="columns">
        <div className="main-column">
          {set.members.map(({ change, order, waitingFor }, at) =>
            change ? (
              <section key={change.id} aria-labelledby={`member-${at}`} data-testid="set-member">
                <h2 id={`member-${at}`}>
                  {kindLabel(change.kind)} {change.type}/{change.name}
                </h2>
                <p>
                  <Link href={changeHref(change.id)}>{statusLabel(change.status)}</Link> · applies in step {order + 1} ·{" "}
                  <Link href={resourceHref(change.type, change.name)}>the resource</Link>
                </p>
                <p data-testid="set-member-waiting">
                  {waitingFor.length > 0
                    ? `Needs approval from: ${waitingFor.join(", ")}`
                    : change.status === ChangeStatus.PENDING_REVIEW
                      ? "Approved by every team it needs"
                      : "No approval needed now"}
                </p>
                <SpecDiff
                  caption={change.kind === ChangeKind.DELETE ? "Delete: everything below goes" : "Spec"}
                  before={(loaded.data?.bases[at] as Revision | undefined)?.spec as JsonObject | undefined}
                  after={change.kind === ChangeKind.DELETE ? undefined : change.spec}
                  beforeLabel="Current"
                  afterLabel={change.kind === ChangeKind.DELETE ? "After (deleted)" : "Requested"}
                />
              </section>
            ) : null,
          )}
        </div>
        <aside className="side-column">
          <SetReview set={set} onChanged={setUpdated} />
        </aside>
      </div>
    </main>
  );
}

function SetReview({ set, onChanged }: { set: ChangeSet; onChanged: (set: ChangeSet) => void }) {
  const { api, me } = useSession();
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [skipped, setSkipped] = useState<SkippedMember[]>([]);
  const pending = set.members.some((m) => m.change?.status === ChangeStatus.PENDING_REVIEW);
  const blocked =
    me.id === set.requestedBy
      ? "You requested this change set: another reviewer must approve or reject it."
      : !hasRole(me, "reviewer")
        ? `Reviewing needs the reviewer role; you (${me.id}) have: ${me.roles.join(", ") || "no roles"}.`
        : !pending
          ? "Nothing in this set is pending review."
          : undefined;
  const act = (action: "approve" | "reject") => {
    setBusy(true);
    setError(undefined);
    const call =
      action === "approve"
        ? api.changeSets.approveChangeSet({ id: set.id, comment })
        : api.changeSets.rejectChangeSet({ id: set.id, comment });
    call
      .then(
        (res) => {
          if (res.changeSet) onChanged(res.changeSet);
          setSkipped(res.skipped);
          setComment("");
        },
        (e: unknown) => setError(describeError(e)),
      )
      .finally(() => setBusy(false));
  };
  return (
    <section className="review-panel" aria-labelledby="set-review-heading">
      <h2 id="set-review-heading">Your review of the set</h2>
      <label htmlFor="set-review-comment">Comment {blocked ? "" : "(required to reject)"}</label>
      <textarea
        id="set-review-comment"
        rows={3}
        value={comment}
        disabled={blocked !== undefined || busy}
        onChange={(e) => setComment(e.target.value)}
        aria-describedby="set-review-blocked"
      />
      <div className="actions">
        <button type="button" disabled={blocked !== undefined || busy} onClick={() => act("approve")}>
          Approve all I may
        </button>
        <button
          type="button"
          className="danger"
          disabled={blocked !== undefined || busy || comment.trim() === ""}
          onClick={() => act("reject")}
        >
          Reject the set
        </button>
      </div>
      <p id="set-review-blocked" className="hint" data-testid="set-review-blocked">
        {blocked}
      </p>
      {skipped.length > 0 && (
        <ul className="notes" data-testid="set-review-skipped">
          {skipped.map((s) => (
            <li key={s.changeId}>
              Left as it was: <Link href={changeHref(s.changeId)}>{s.changeId}</Link>: {s.reason}
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={error} />
    </section>
  );
}
