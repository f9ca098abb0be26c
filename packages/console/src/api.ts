import { type Client, type Interceptor, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChangeSetService } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { NotificationService } from "@plinth/sdk/gen/plinth/v1/notification_service_pb.ts";
import { PluginService } from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";

/** The API clients of one signed-in session; all calls carry its bearer token. */
export interface Api {
  changes: Client<typeof ChangeService>;
  resources: Client<typeof ResourceService>;
  plugins: Client<typeof PluginService>;
  identity: Client<typeof IdentityService>;
  notifications: Client<typeof NotificationService>;
  changeSets: Client<typeof ChangeSetService>;
}

const tokenKey = "plinth.token";

// Session storage: the token lives as long as the tab, and never in a cookie the server would have to trust.
export const storedToken = (): string | null => sessionStorage.getItem(tokenKey);
export const storeToken = (token: string): void => sessionStorage.setItem(tokenKey, token);
export const forgetToken = (): void => sessionStorage.removeItem(tokenKey);

export function createApi(token: string): Api {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return await next(req);
  };
  // The page is served by the Plinth server itself: the API is on the same origin.
  // Binary protobuf: a 500-change queue decodes several times faster than from JSON.
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: true,
    interceptors: [bearer],
  });
  return {
    changes: createClient(ChangeService, transport),
    resources: createClient(ResourceService, transport),
    plugins: createClient(PluginService, transport),
    identity: createClient(IdentityService, transport),
    notifications: createClient(NotificationService, transport),
    changeSets: createClient(ChangeSetService, transport),
  };
}
