// The baseline: connect-node's adapter on a plain http.createServer, the same
// ResourceService descriptor as Plinth, no auth, no store, no interceptors.
// ApplyResource and GetResource return constant messages shaped like Plinth's
// replies (similar size), built once. Run as its own process:
//   node --import tsx bench/bare-server.ts
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ChangeKind, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import {
  ApplyResourceResponseSchema,
  GetResourceResponseSchema,
  ResourceService,
} from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { benchPrincipal, widgetType } from "./common.ts";
import { connectNodeAdapter, create, timestampFromDate } from "./deps.ts";
import { profileOnSignal } from "./window-profiler.ts";

const profiles = profileOnSignal(process.env.BENCH_PROFILE_LABEL ?? "bare");

const now = timestampFromDate(new Date());
const spec = { size: 10 };
const resolvedSpec = { size: 10, color: "blue" };
const resource = {
  type: widgetType,
  name: "bench-0000-000000",
  ownerTeam: benchPrincipal.team,
  status: ResourceStatus.READY,
  revision: 1n,
  spec,
  resolvedSpec,
  outputs: { name: "bench-0000-000000" },
  createTime: now,
  updateTime: now,
};
const getReply = create(GetResourceResponseSchema, { resource });
const applyReply = create(ApplyResourceResponseSchema, {
  change: {
    id: "chg_0123456789abcdef0123456789abcdef",
    type: widgetType,
    name: "bench-0000-000000",
    kind: ChangeKind.CREATE,
    status: ChangeStatus.QUEUED,
    requestedBy: benchPrincipal.id,
    team: benchPrincipal.team,
    spec,
    resolvedSpec,
    createTime: now,
    updateTime: now,
  },
  resource: { ...resource, status: ResourceStatus.PROVISIONING, revision: 0n, spec: undefined, outputs: {} },
});

const handler = connectNodeAdapter({
  routes: (router) => {
    router.service(ResourceService, {
      applyResource: () => applyReply,
      getResource: () => getReply,
    });
  },
});
const server = createServer(handler);
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => void profiles().finally(() => process.exit(0)));
});
