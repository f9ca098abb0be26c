import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Change, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type Delivery, DeliveryStatus } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import type { Resource } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { useEffect, useMemo } from "react";
import type { Api } from "../api.ts";
import { appliedPerHour } from "../applied-per-hour.ts";
import { readAllChanges, readAllResources } from "../read-all.ts";
import { AppliedChart } from "../components/AppliedChart.tsx";
import { ErrorNote } from "../components/ErrorNote.tsx";
import {
  age,
  dateOf,
  duration,
  isoText,
  kindLabel,
  notificationKindLabel,
  shortChangeId,
  statusLabel,
} from "../format.ts";
import { waitingAsks } from "../access-requests.ts";
import { type ReviewSettings, loadReviewSettings, waitsForMe } from "../review-settings.ts";
import { Link, changeHref, resourceHref } from "../router.tsx";
import { type Session, useSession } from "../session.tsx";
import { useFirstScreenful } from "../use-first-screenful.ts";
import { useLoad } from "../use-load.ts";

const day = 24 * 3600 * 1000;
/** The overview reads itself again this often, so a page left open stays current. */
const refreshMs = 30_000;

/** A delivery that is not getting through: given up on, or refused and waiting for its next try. */
const failing = (d: Delivery): boolean =>
  d.status === DeliveryStatus.EXPIRED || (d.status === DeliveryStatus.PENDING && d.attempts > 0);

async function failingDeliveries(api: Api, signal: AbortSignal) {
  const { subscriptions } = await api.notifications.listSubscriptions({}, { signal });
  const lists = await Promise.all(
    subscriptions.map(
      async (s) => (await api.notifications.listDeliveries({ subscriptionId: s.id }, { signal })).deliveries,
    ),
  );
  return lists.flat().filter(failing);
}

/** Everything the overview shows, read from the API the way the CLI would. */
export async function loadOverview(api: Api, me: Session["me"], signal: AbortSignal, now = Date.now()) {
  const since = timestampFromMs(now - day);
  const [settings, pending, failed, succeeded, queued, applying, drifted, deliveries] = await Promise.all([
    loadReviewSettings(signal),
    readAllChanges(api, { status: ChangeStatus.PENDING_REVIEW }, signal),
    readAllChanges(api, { status: ChangeStatus.FAILED, finishedAfter: since }, signal),
    readAllChanges(api, { status: ChangeStatus.SUCCEEDED, finishedAfter: since }, signal),
    readAllChanges(api, { status: ChangeStatus.QUEUED }, signal),
    readAllChanges(api, { status: ChangeStatus.APPLYING }, signal),
    readAllResources(api, { status: ResourceStatus.DRIFTED }, signal),
    failingDeliveries(api, signal),
  ]);
  const clusters = new Map<string, Resource[]>();
  for (const resource of drifted) {
    const spec = (resource.resolvedSpec ?? resource.spec ?? {}) as { cluster?: unknown };
    const cluster = typeof spec.cluster === "string" ? spec.cluster : "";
    clusters.set(cluster, [...(clusters.get(cluster) ?? []), resource]);
  }
  return {
    now,
    settings,
    // The service lists oldest first: the longest wait comes first.
    mine: pending.filter((c) => waitsForMe(c, me, settings)),
    // Requests to reach what the person's teams own, still waiting for a reviewer of the owning team.
    accessAsks: waitingAsks(pending, me).length,
    failedToday: failed,
    applied: appliedPerHour(succeeded, now),
    // Open, and an attempt has already failed: the worker is trying again.
    retrying: [...queued, ...applying].filter((c) => c.lastError !== ""),
    drifted: [...clusters.entries()].sort(([a], [b]) => a.localeCompare(b)),
    deliveries,
  };
}

function overdue(change: Change, settings: ReviewSettings, now: number): boolean {
  const since = dateOf(change.createTime)?.getTime();
  return settings.remindAfterMs > 0 && since !== undefined && now - since > settings.remindAfterMs;
}

function Count({ value, href, label }: { value: number; href: string; label: string }) {
  return (
    <Link href={href} className="count" data-testid={`count-${label}`}>
      <span className="count-value">{value}</span> <span className="count-label">{label.replaceAll("-", " ")}</span>
    </Link>
  );
}

function ChangeList({ changes, now, settings }: { changes: Change[]; now: number; settings?: ReviewSettings }) {
  const shown = useFirstScreenful(changes.length);
  if (changes.length === 0) return <p className="muted">None.</p>;
  return (
    <ul className="overview-list">
      {changes.slice(0, shown).map((c) => {
        const late = settings !== undefined && overdue(c, settings, now);
        return (
          <li key={c.id} data-change-id={c.id}>
            <Link href={changeHref(c.id)} title={c.id} className="change-id">
              {shortChangeId(c.id)}
            </Link>{" "}
            {kindLabel(c.kind)} <Link href={resourceHref(c.type, c.name)}>{`${c.type}/${c.name}`}</Link> by{" "}
            {c.requestedBy} ({c.team}), {statusLabel(c.status)}
            {c.lastError && <span className="muted"> — {c.lastError}</span>}
            {c.status === ChangeStatus.PENDING_REVIEW ? ", waiting " : ", submitted "}
            <time dateTime={isoText(c.createTime)} className={late ? "overdue" : undefined} data-testid="age">
              {age(c.createTime, now)}
              {late && " (overdue)"}
            </time>
            {c.status !== ChangeStatus.PENDING_REVIEW && " ago"}
          </li>
        );
      })}
    </ul>
  );
}

/** The landing page for reviewers and admins: what needs a person today, each number a link to its list. */
export function OverviewPage() {
  const { api, me } = useSession();
  const overview = useLoad((signal) => loadOverview(api, me, signal), "overview");
  const { reload } = overview;
  useEffect(() => {
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload]);
  const data = overview.data;
  useEffect(() => {
    // The mark the render benchmark reads (queue-render.test.ts): the overview's lists are in the DOM.
    if (data) performance.mark("plinth:overview-rendered", { detail: { waiting: data.mine.length } });
  }, [data]);
  const driftedCount = useMemo(() => data?.drifted.reduce((n, [, list]) => n + list.length, 0) ?? 0, [data]);
  return (
    <main className="overview">
      <h1 tabIndex={-1}>Overview</h1>
      <ErrorNote error={overview.error} onRetry={overview.reload} />
      {!data && overview.loading && <p role="status">Loading…</p>}
      {data && (
        <>
          <nav className="counts" aria-label="Counts">
            <Count value={data.mine.length} href="#waiting" label="waiting-for-you" />
            <Count value={data.accessAsks} href="/access" label="access-requests" />
            <Count value={data.failedToday.length} href="/queue?status=FAILED" label="failed-today" />
            <Count value={data.retrying.length} href="#retrying" label="retrying" />
            <Count value={driftedCount} href="/resources?status=DRIFTED" label="drifted" />
            <Count value={data.deliveries.length} href="#deliveries" label="webhooks-failing" />
          </nav>
          <section aria-labelledby="waiting">
            <h2 id="waiting">Waiting for your review, oldest first</h2>
            <p className="hint">
              {data.settings.remindAfterMs > 0
                ? `Overdue (in red) after ${duration(data.settings.remindAfterMs)}, when the review reminder goes out.`
                : "The server sends no review reminder, so nothing is marked overdue."}{" "}
              <Link href="/queue">All changes pending review</Link>
            </p>
            <ChangeList changes={data.mine} now={data.now} settings={data.settings} />
          </section>
          <section aria-labelledby="applied">
            <h2 id="applied">Applied in the last day</h2>
            <AppliedChart applied={data.applied} />
          </section>
          <section aria-labelledby="failed">
            <h2 id="failed">Failed in the last day</h2>
            <ChangeList changes={data.failedToday} now={data.now} />
          </section>
          <section aria-labelledby="retrying">
            <h2 id="retrying">Retrying</h2>
            <ChangeList changes={data.retrying} now={data.now} />
          </section>
          <section aria-labelledby="drifted">
            <h2 id="drifted">Drifted, by cluster</h2>
            {data.drifted.length === 0 && <p className="muted">None.</p>}
            {data.drifted.map(([cluster, resources]) => (
              <div key={cluster} data-testid="drift-cluster" data-cluster={cluster}>
                <h3>
                  {cluster || "Not on a cluster"}: {resources.length}
                </h3>
                <ul className="overview-list">
                  {resources.map((r) => (
                    <li key={`${r.type}/${r.name}`}>
                      <Link href={resourceHref(r.type, r.name)}>{`${r.type}/${r.name}`}</Link>{" "}
                      <span className="muted">{r.drift?.findings.join("; ")}</span>
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </section>
          <section aria-labelledby="deliveries">
            <h2 id="deliveries">Webhook deliveries failing</h2>
            {data.deliveries.length === 0 && <p className="muted">None.</p>}
            <ul className="overview-list">
              {data.deliveries.map((d) => (
                <li key={d.id} data-delivery-id={d.id}>
                  {notificationKindLabel(d.kind)} to <code>{d.subscriptionId}</code>:{" "}
                  {d.status === DeliveryStatus.EXPIRED ? "given up" : "retrying"} after {d.attempts}{" "}
                  {d.attempts === 1 ? "attempt" : "attempts"}
                  {d.lastStatusCode > 0 && ` (HTTP ${d.lastStatusCode})`}
                  {d.lastError && <span className="muted"> — {d.lastError}</span>}
                  {d.changeId && (
                    <>
                      {" · "}
                      <Link href={changeHref(d.changeId)} title={d.changeId}>
                        change {shortChangeId(d.changeId)}
                      </Link>
                    </>
                  )}
                </li>
              ))}
            </ul>
          </section>
        </>
      )}
    </main>
  );
}
