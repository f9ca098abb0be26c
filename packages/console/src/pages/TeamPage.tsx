import type { Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { Resource } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import type { AccessGrant, TeamUsage } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { describeError } from "../errors.ts";
import { finalStatuses, resourceStatusLabel, shortChangeId, statusLabel, timeText } from "../format.ts";
import { Link, changeHref, resourceHref, teamHref } from "../router.tsx";
import { readAllResources } from "../read-all.ts";
import { type Session, hasRole, useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";
import type { Api } from "../api.ts";

/** Everything the team page shows, read the way the CLI would. */
async function loadTeam(api: Api, team: string, signal: AbortSignal) {
  const [resources, usage, held, given] = await Promise.all([
    readAllResources(api, { team }, signal),
    api.resources.getTeamUsage({ team }, { signal }),
    api.resources.listAccessGrants({ requesterTeam: team }, { signal }),
    api.resources.listAccessGrants({ ownerTeam: team }, { signal }),
  ]);
  const byType = new Map<string, Resource[]>();
  for (const resource of resources) byType.set(resource.type, [...(byType.get(resource.type) ?? []), resource]);
  return {
    byType: [...byType.entries()].sort(([a], [b]) => a.localeCompare(b)),
    usage: usage.usage,
    held: held.grants,
    given: given.grants,
  };
}

/** The server's rule for RevokeAccessGrant: a reviewer of the owning team (the caller's own), or an admin. */
const mayRevoke = (me: Session["me"], team: string): boolean =>
  me.roles.includes("admin") || (hasRole(me, "reviewer") && me.team === team);

const amount = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** A share of the quota at which the bar turns to the warning colour. */
const nearLimit = 0.8;

function UsageBar({ usage }: { usage: TeamUsage }) {
  const label = `${usage.type} · ${usage.scope} · ${usage.metric}`;
  const limit = usage.limit;
  const id = `usage-${label.replace(/[^a-zA-Z0-9_-]/g, "-")}`;
  if (limit === undefined) {
    return (
      <li className="usage" data-testid="usage" data-metric={label}>
        <span id={id}>{label}</span>
        <span className="usage-text">{amount(usage.used)}, no limit</span>
      </li>
    );
  }
  const share = limit > 0 ? usage.used / limit : usage.used > 0 ? 1 : 0;
  const text = `${amount(usage.used)} of ${amount(limit)} (${Math.round(share * 100)} %)`;
  return (
    <li className="usage" data-testid="usage" data-metric={label}>
      <span id={id}>{label}</span>
      <div
        role="meter"
        className={`bar${share >= nearLimit ? " bar-near" : ""}`}
        aria-labelledby={id}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={usage.used}
        aria-valuetext={text}
      >
        <div className="bar-fill" style={{ width: `${Math.min(1, share) * 100}%` }} />
      </div>
      <span className="usage-text">{text}</span>
    </li>
  );
}

function GrantRows({
  grants,
  side,
  onRevoke,
}: {
  grants: AccessGrant[];
  /** Which team the table names besides the resource: whose it reaches, or whose resource reaches. */
  side: "owner" | "requester";
  onRevoke?: (grant: AccessGrant) => void;
}) {
  return (
    <tbody>
      {grants.map((g) => (
        <tr key={`${g.type}/${g.name}/${g.field}`} data-grant={`${g.type}/${g.name}/${g.field}`}>
          <td>
            <Link href={resourceHref(g.type, g.name)}>{`${g.type}/${g.name}`}</Link>
          </td>
          <td>{g.access}</td>
          <td>
            <Link href={teamHref(side === "owner" ? g.ownerTeam : g.requesterTeam)}>
              {side === "owner" ? g.ownerTeam : g.requesterTeam}
            </Link>
          </td>
          <td>{g.approvedBy.join(", ") || "nobody of that team"}</td>
          <td>{timeText(g.since)}</td>
          <td>
            {g.changeId && (
              <Link href={changeHref(g.changeId)} title={g.changeId}>
                {shortChangeId(g.changeId)}
              </Link>
            )}
          </td>
          {onRevoke && (
            <td>
              <button type="button" className="danger" onClick={() => onRevoke(g)}>
                Revoke<span className="visually-hidden">{`: ${g.requesterTeam} may no longer ${g.access}`}</span>
              </button>
            </td>
          )}
        </tr>
      ))}
    </tbody>
  );
}

function GrantTable({
  grants,
  side,
  caption,
  testId,
  onRevoke,
}: {
  grants: AccessGrant[];
  side: "owner" | "requester";
  caption: string;
  testId: string;
  onRevoke?: (grant: AccessGrant) => void;
}) {
  if (grants.length === 0)
    return (
      <p className="muted" data-testid={`${testId}-none`}>
        None.
      </p>
    );
  return (
    <>
      {/* Above the table, not its caption: a caption wrapping at phone width ran under the sticky header. */}
      <p className="hint">{caption}</p>
      <div className="table-wrap">
        <table data-testid={testId}>
          <thead>
            <tr>
              <th scope="col">Resource</th>
              <th scope="col">Access</th>
              <th scope="col">{side === "owner" ? "Owner team" : "Team"}</th>
              <th scope="col">Approved by</th>
              <th scope="col">Since</th>
              <th scope="col">Change</th>
              {onRevoke && <th scope="col">Revoke</th>}
            </tr>
          </thead>
          <GrantRows grants={grants} side={side} onRevoke={onRevoke} />
        </table>
      </div>
    </>
  );
}

/** Asks for a reason, submits the revocation, and follows its change until it ends. */
function RevokeForm({ grant, onClose }: { grant: AccessGrant; onClose: (submitted?: Change) => void }) {
  const { api } = useSession();
  // One key per opened form: a second click after a lost answer is the same request, not a second change.
  const [requestId] = useState(() => crypto.randomUUID());
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const why = useRef<HTMLInputElement>(null);
  // Opened from a row's button: the keyboard's focus moves on to the form, where the next keys are meant to go.
  useEffect(() => why.current?.focus(), []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    api.resources
      .revokeAccessGrant({ type: grant.type, name: grant.name, field: grant.field, requestId, comment: comment.trim() })
      .then(
        (res) => onClose(res.change),
        (e: unknown) => {
          setError(describeError(e));
          setBusy(false);
        },
      );
  };
  return (
    <form className="confirm-form" onSubmit={submit} aria-labelledby="revoke-heading" data-testid="revoke-form">
      <h3 id="revoke-heading">
        Revoke: {grant.requesterTeam} may no longer {grant.access} through {grant.type}/{grant.name}?
      </h3>
      <p className="hint">
        A change of team {grant.requesterTeam}&apos;s resource, submitted for your team and reviewed like any other; the
        access ends when it applies.
      </p>
      <label htmlFor="revoke-comment">Why</label>
      <input ref={why} id="revoke-comment" type="text" value={comment} onChange={(e) => setComment(e.target.value)} />
      <div className="actions">
        <button type="submit" className="danger" disabled={busy}>
          Revoke access
        </button>
        <button type="button" className="secondary" onClick={() => onClose()} disabled={busy}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

/**
 * One team: its resources by type, its usage against each quota, the access
 * its resources have to other teams' and the access other teams have to its
 * own, which a reviewer of the team (or an admin) revokes here.
 */
export function TeamPage({ team }: { team: string }) {
  const { api, me } = useSession();
  const data = useLoad((signal) => loadTeam(api, team, signal), team);
  const [revoking, setRevoking] = useState<AccessGrant>();
  const [revoked, setRevoked] = useState<{ id: string; text: string }>();
  const revocation = useLoad(async (signal) => {
    if (!revoked) return undefined;
    // Follow the revocation to its end, then read the grants again: an applied revocation removes the row.
    let change: Change | undefined;
    for await (const res of api.changes.watchChange({ id: revoked.id }, { signal })) {
      change = res.change ?? change;
      if (change && finalStatuses.has(change.status)) break;
    }
    data.reload();
    return change;
  }, revoked?.id ?? "");
  const canRevoke = mayRevoke(me, team);
  const loaded = data.data;
  return (
    <main className="team">
      <h1 tabIndex={-1}>Team {team}</h1>
      <ErrorNote error={data.error} onRetry={data.reload} />
      {!loaded && data.loading && <p role="status">Loading…</p>}
      {loaded && (
        <>
          <section aria-labelledby="usage-heading">
            <h2 id="usage-heading">Usage against quotas</h2>
            {loaded.usage.length === 0 ? (
              <p className="muted">No quota applies to what this team holds.</p>
            ) : (
              <ul className="usages" data-testid="usages">
                {loaded.usage.map((u) => (
                  <UsageBar key={`${u.type}/${u.scope}/${u.metric}`} usage={u} />
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="resources-heading">
            <h2 id="resources-heading">Resources by type</h2>
            {loaded.byType.length === 0 && <p className="muted">None.</p>}
            {loaded.byType.map(([type, resources]) => (
              <div key={type} data-testid="resource-type" data-type={type}>
                <h3>
                  {type}: {resources.length}
                </h3>
                <ul className="overview-list">
                  {resources.map((r) => (
                    <li key={r.name} data-resource={`${r.type}/${r.name}`}>
                      <Link href={resourceHref(r.type, r.name)}>{r.name}</Link>{" "}
                      <span className="muted">{resourceStatusLabel(r.status)}</span>
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </section>
          <section aria-labelledby="held-heading">
            <h2 id="held-heading">Access {team} has to other teams&apos; resources</h2>
            <GrantTable
              grants={loaded.held}
              side="owner"
              caption={`What resources of team ${team} reach, approved by a reviewer of the owning team`}
              testId="grants-held"
            />
          </section>
          <section aria-labelledby="given-heading">
            <h2 id="given-heading">Access other teams have to resources of {team}</h2>
            {!canRevoke && loaded.given.length > 0 && (
              <p className="hint">Only a reviewer of {team} or an admin revokes these.</p>
            )}
            <GrantTable
              grants={loaded.given}
              side="requester"
              caption={`What resources of other teams reach of team ${team}`}
              testId="grants-given"
              onRevoke={canRevoke ? setRevoking : undefined}
            />
            {revoking && (
              <RevokeForm
                key={`${revoking.type}/${revoking.name}/${revoking.field}`}
                grant={revoking}
                onClose={(change) => {
                  setRevoking(undefined);
                  if (change)
                    setRevoked({ id: change.id, text: `${revoking.requesterTeam} may no longer ${revoking.access}` });
                }}
              />
            )}
            <p role="status" className="outcome" data-testid="revocation">
              {revoked && (
                <>
                  Revocation ({revoked.text}):{" "}
                  <Link href={changeHref(revoked.id)} title={revoked.id}>
                    change {shortChangeId(revoked.id)}
                  </Link>{" "}
                  {revocation.data ? statusLabel(revocation.data.status) : "submitted, applying…"}
                </>
              )}
            </p>
            <ErrorNote error={revocation.error} />
          </section>
        </>
      )}
    </main>
  );
}
