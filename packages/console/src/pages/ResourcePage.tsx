import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ResourceStatus, type Resource, type Revision } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type FormEvent, useState } from "react";
import { ErrorNote } from "../components/ErrorNote.tsx";
import { ResourceGrants, ResourceSpec } from "../components/ResourceFacts.tsx";
import { ResourceSummary } from "../components/ResourceSummary.tsx";
import { SpecDiff } from "../components/SpecDiff.tsx";
import { TopicSchemas } from "../components/TopicSchemas.tsx";
import { describeError } from "../errors.ts";
import { flatten, kindLabel, shortChangeId, resourceStatusLabel, show, statusLabel, timeText } from "../format.ts";
import { Link, changeHref, navigate, teamHref } from "../router.tsx";
import { type Session, hasRole, useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";

/** Why the signed-in person cannot request changes to this resource, or undefined. */
function changeBlocked(me: Session["me"], resource: Resource): string | undefined {
  if (!hasRole(me, "requester"))
    return `Changing resources needs the requester role; you have: ${me.roles.join(", ")}.`;
  if (resource.ownerTeam !== me.team && !me.roles.includes("admin")) {
    return `This resource belongs to team ${resource.ownerTeam}; you are in team ${me.team}.`;
  }
  if (resource.status === ResourceStatus.DELETED) return "This resource is deleted.";
  return undefined;
}

function SecretOutput({ resource, name }: { resource: Resource; name: string }) {
  const { api, me } = useSession();
  const [value, setValue] = useState<string>();
  const [error, setError] = useState<string>();
  const allowed = me.team === resource.ownerTeam || me.roles.includes("admin");
  const reveal = () => {
    api.resources.revealSecret({ type: resource.type, name: resource.name, key: name }).then(
      (res) => setValue(show(res.value ? toJson(ValueSchema, res.value) : null)),
      (e: unknown) => setError(describeError(e)),
    );
  };
  return (
    <tr>
      <th scope="row">
        <code>{name}</code> <span className="muted">(secret)</span>
      </th>
      <td>
        {value !== undefined ? (
          <code className="secret">{value}</code>
        ) : (
          <>
            <button
              type="button"
              className="secondary"
              disabled={!allowed}
              onClick={reveal}
              aria-describedby={`reveal-${name}`}
            >
              Reveal
            </button>{" "}
            <span id={`reveal-${name}`} className="hint">
              {allowed
                ? "Every reveal is written to the audit log."
                : `Only team ${resource.ownerTeam} or an admin can reveal it.`}
            </span>
          </>
        )}
        <ErrorNote error={error} />
      </td>
    </tr>
  );
}

/** Asks for a comment, then submits: used for delete and revert, both of which create a change to review. */
function ConfirmAction(props: {
  label: string;
  danger?: boolean;
  blocked?: string;
  prompt: string;
  run: (comment: string) => Promise<string | undefined>;
}) {
  const [open, setOpen] = useState(false);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const fieldId = `confirm-${props.label.replaceAll(/\W+/g, "-").toLowerCase()}`;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    props.run(comment).then(
      (changeId) => {
        if (changeId) navigate(changeHref(changeId));
        else setError("Nothing to do: the resource is already like that.");
        setBusy(false);
      },
      (e: unknown) => {
        setError(describeError(e));
        setBusy(false);
      },
    );
  };
  if (!open) {
    return (
      <span className="confirm-action">
        <button
          type="button"
          className={props.danger ? "danger" : "secondary"}
          disabled={props.blocked !== undefined}
          title={props.blocked}
          onClick={() => setOpen(true)}
        >
          {props.label}
        </button>
      </span>
    );
  }
  return (
    <form className="confirm-form" onSubmit={submit}>
      <label htmlFor={fieldId}>{props.prompt}</label>
      <textarea id={fieldId} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} autoFocus />
      <div className="actions">
        <button type="submit" className={props.danger ? "danger" : undefined} disabled={busy}>
          {busy ? "Submitting…" : `Request: ${props.label.toLowerCase()}`}
        </button>
        <button type="button" className="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function Revisions({ resource, revisions }: { resource: Resource; revisions: Revision[] }) {
  const { api, me } = useSession();
  const newest = revisions[0]?.revision;
  const [left, setLeft] = useState(String(revisions[1]?.revision ?? newest ?? ""));
  const [right, setRight] = useState(String(newest ?? ""));
  const find = (r: string) => revisions.find((x) => String(x.revision) === r);
  const a = find(left);
  const b = find(right);
  const blocked = changeBlocked(me, resource);
  return (
    <>
      <div className="table-wrap">
        <table data-testid="revisions">
          <caption>Revision history, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">When</th>
              <th scope="col">Requested by</th>
              <th scope="col">Approved by</th>
              <th scope="col">Change</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {revisions.map((r) => (
              <tr key={String(r.revision)}>
                <td>
                  {String(r.revision)}
                  {r.deleted ? " (delete)" : ""}
                </td>
                <td>{timeText(r.createTime)}</td>
                <td>{r.requestedBy}</td>
                <td>{r.approvedBy.join(", ") || "auto"}</td>
                <td>
                  <Link href={changeHref(r.changeId)} title={r.changeId}>
                    {shortChangeId(r.changeId)}
                  </Link>
                </td>
                <td>
                  {r.revision !== resource.revision && !r.deleted && (
                    <ConfirmAction
                      label={`Revert to ${r.revision}`}
                      blocked={blocked}
                      prompt={`Why revert to revision ${r.revision}?`}
                      run={async (comment) =>
                        (
                          await api.resources.revertResource({
                            type: resource.type,
                            name: resource.name,
                            revision: r.revision,
                            requestId: crypto.randomUUID(),
                            comment,
                          })
                        ).change?.id
                      }
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {revisions.length > 0 && (
        <fieldset className="compare">
          <legend>Compare two revisions</legend>
          <label>
            From
            <select value={left} onChange={(e) => setLeft(e.target.value)}>
              {revisions.map((r) => (
                <option key={String(r.revision)}>{String(r.revision)}</option>
              ))}
            </select>
          </label>
          <label>
            To
            <select value={right} onChange={(e) => setRight(e.target.value)}>
              {revisions.map((r) => (
                <option key={String(r.revision)}>{String(r.revision)}</option>
              ))}
            </select>
          </label>
        </fieldset>
      )}
      {a && b && (
        <SpecDiff
          caption={`Resolved spec, revision ${a.revision} → ${b.revision}`}
          before={a.resolvedSpec as JsonObject | undefined}
          after={b.resolvedSpec as JsonObject | undefined}
          beforeLabel={`Revision ${a.revision}`}
          afterLabel={`Revision ${b.revision}`}
        />
      )}
    </>
  );
}

export function ResourcePage({ type, name }: { type: string; name: string }) {
  const { api, me } = useSession();
  const loaded = useLoad(async (signal) => {
    const [res, revs, open] = await Promise.all([
      api.resources.getResource({ type, name }, { signal }),
      api.resources.listRevisions({ type, name, pageSize: 100 }, { signal }),
      api.changes.listChanges({ type, name, pageSize: 50 }, { signal }),
    ]);
    return {
      resource: res.resource,
      revisions: [...revs.revisions].sort((x, y) => Number(y.revision - x.revision)),
      changes: open.changes,
    };
  }, `${type}/${name}`);
  const resource = loaded.data?.resource;
  if (!resource) {
    return (
      <main>
        <h1 tabIndex={-1}>
          {type}/{name}
        </h1>
        {loaded.loading ? <p role="status">Loading…</p> : <ErrorNote error={loaded.error} onRetry={loaded.reload} />}
      </main>
    );
  }
  const outputs = [...flatten(resource.outputs ?? {}).entries()];
  const blocked = changeBlocked(me, resource);
  const changes = [...(loaded.data?.changes ?? [])].reverse();
  return (
    <main className="resource-page">
      <h1 tabIndex={-1}>
        {resource.type}/{resource.name}
      </h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd data-testid="resource-status">
          <span className={`status-badge rs-${ResourceStatus[resource.status]}`}>
            {resourceStatusLabel(resource.status)}
          </span>
        </dd>
        <dt>Owner team</dt>
        <dd>
          <Link href={teamHref(resource.ownerTeam)} data-testid="owner-team">
            {resource.ownerTeam}
          </Link>
        </dd>
        <dt>Revision</dt>
        <dd>{String(resource.revision)}</dd>
        <dt>Updated</dt>
        <dd>{timeText(resource.updateTime)}</dd>
      </dl>
      {resource.drift && (
        <div className="destructive" role="note">
          <strong>Drifted:</strong> {resource.drift.findings.join("; ")}
        </div>
      )}
      {resource.dependents.length > 0 && (
        <section aria-labelledby="dependents-heading">
          <h2 id="dependents-heading">Depends on it</h2>
          <ul data-testid="dependents">
            {resource.dependents.map((dependent) => (
              <li key={dependent}>{dependent}</li>
            ))}
          </ul>
        </section>
      )}
      <ResourceSummary resource={resource} />
      <ResourceSpec resource={resource} />
      <ResourceGrants resource={resource} />
      {resource.type === "kafka.topic" && <TopicSchemas topic={resource} />}
      <div className="actions">
        <ConfirmAction
          label="Delete"
          danger
          blocked={blocked}
          prompt={`Why delete ${resource.name}? A reviewer will see this.`}
          run={async (comment) =>
            (
              await api.resources.deleteResource({
                type: resource.type,
                name: resource.name,
                requestId: crypto.randomUUID(),
                expectedRevision: resource.revision,
                comment,
              })
            ).change?.id
          }
        />
        {blocked && <span className="hint">{blocked}</span>}
      </div>
      <section aria-labelledby="changes-heading">
        <h2 id="changes-heading">Changes</h2>
        <ul className="changes" data-testid="resource-changes">
          {changes.length === 0 && <li className="muted">None.</li>}
          {changes.map((c) => (
            <li key={c.id}>
              <Link href={changeHref(c.id)}>
                {kindLabel(c.kind)} by {c.requestedBy}
              </Link>{" "}
              — {statusLabel(c.status)}, {timeText(c.createTime)}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="outputs-heading">
        <h2 id="outputs-heading">Outputs</h2>
        <div className="table-wrap">
          <table data-testid="outputs">
            <tbody>
              {outputs.map(([key, value]) => (
                <tr key={key}>
                  <th scope="row">
                    <code>{key}</code>
                  </th>
                  <td>
                    <code>{show(value)}</code>
                  </td>
                </tr>
              ))}
              {resource.secretOutputKeys.map((key) => (
                <SecretOutput key={key} resource={resource} name={key} />
              ))}
              {outputs.length + resource.secretOutputKeys.length === 0 && (
                <tr>
                  <td>No outputs.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="revisions-heading">
        <h2 id="revisions-heading">Revisions</h2>
        <Revisions resource={resource} revisions={loaded.data?.revisions ?? []} />
      </section>
    </main>
  );
}
