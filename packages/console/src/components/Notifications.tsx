import type { Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { DeliveryStatus } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { deliveryStatusLabel, notificationKindLabel, timeText } from "../format.ts";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";
import { ErrorNote } from "./ErrorNote.tsx";

/**
 * The webhooks sent about a change and how each went: delivered, still being
 * retried (with the last error), or given up. Only deliveries of the viewer's
 * team's subscriptions are listed (all for an admin), as the API decides.
 */
export function Notifications({ change }: { change: Change }) {
  const { api } = useSession();
  // Reloaded when the change moves: each transition may have sent more.
  const loaded = useLoad(
    async (signal) => (await api.notifications.listDeliveries({ changeId: change.id }, { signal })).deliveries,
    `${change.id}/${change.status}/${change.updateTime?.seconds ?? 0n}`,
  );
  if (loaded.error) return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
  const deliveries = loaded.data ?? [];
  return (
    <div data-testid="notifications">
      {deliveries.length === 0 ? (
        <p className="muted">{loaded.loading ? "Loading…" : "No notifications of your team's subscriptions."}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Subscription</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} className={`delivery delivery-${deliveryStatusLabel(d.status)}`}>
                  <td>{notificationKindLabel(d.kind)}</td>
                  <td>
                    <code>{d.subscriptionId}</code>
                  </td>
                  <td>
                    <strong>{deliveryStatusLabel(d.status)}</strong>
                    {d.status === DeliveryStatus.DELIVERED && ` ${timeText(d.deliverTime)}`} · {d.attempts} attempt
                    {d.attempts === 1 ? "" : "s"}
                    {d.status !== DeliveryStatus.DELIVERED && d.lastError && ` · last: ${d.lastError}`}
                    {d.status === DeliveryStatus.PENDING && ` · next try ${timeText(d.nextAttemptTime)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" className="secondary" onClick={loaded.reload}>
        Refresh
      </button>
    </div>
  );
}
