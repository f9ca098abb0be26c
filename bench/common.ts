/** Shared by the servers, the load generator and the driver. */
export const benchPrincipal = {
  id: "bench",
  team: "payments",
  roles: ["requester"] as const,
  token: "bench-token",
};

export const widgetType = "test.widget";

/** The one line a server process prints on stdout once it serves. */
export interface ServerReady {
  url: string;
  pid: number;
}
