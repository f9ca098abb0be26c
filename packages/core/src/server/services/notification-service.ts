import type { ServiceImpl } from "@connectrpc/connect";
import type { NotificationService } from "@plinth/sdk/gen/plinth/v1/notification_service_pb.ts";
import {
  createSubscription,
  deleteSubscription,
  listDeliveries,
  listSubscriptions,
} from "../../notifications/manage-subscriptions.ts";
import { principalOf } from "../auth.ts";
import {
  deliveryToProto,
  formatFromProto,
  notificationKindsFromProto,
  subscriptionToProto,
} from "../convert-notifications.ts";
import type { ServiceDeps } from "./service-deps.ts";

/** NotificationService: proto in, one domain call, proto out. */
export function notificationService(deps: ServiceDeps): ServiceImpl<typeof NotificationService> {
  return {
    async createSubscription(req, context) {
      const subscription = await createSubscription(deps, principalOf(context), {
        url: req.url,
        format: formatFromProto(req.format),
        secret: req.secret,
        teams: req.filter?.teams ?? [],
        types: req.filter?.types ?? [],
        kinds: notificationKindsFromProto(req.filter?.kinds ?? []),
      });
      return { subscription: subscriptionToProto(subscription) };
    },

    async listSubscriptions(_req, context) {
      return { subscriptions: (await listSubscriptions(deps, principalOf(context))).map(subscriptionToProto) };
    },

    async deleteSubscription(req, context) {
      await deleteSubscription(deps, principalOf(context), req.id);
      return {};
    },

    async listDeliveries(req, context) {
      const deliveries = await listDeliveries(deps, principalOf(context), {
        changeId: req.changeId,
        subscriptionId: req.subscriptionId,
      });
      return { deliveries: deliveries.map(deliveryToProto) };
    },
  };
}
