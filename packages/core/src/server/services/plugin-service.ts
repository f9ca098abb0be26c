import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  InventoryItemSchema,
  InventoryState,
  PluginSchema,
  type PluginService,
} from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { z } from "zod";
import { InvalidArgumentError, NotFoundError } from "../../domain/errors.ts";
import { listInventory } from "../../domain/list-inventory.ts";
import type { JsonObject } from "../../domain/types.ts";
import type { LoadedPlugin } from "../../plugin/registry.ts";
import { principalOf } from "../auth.ts";
import type { ServiceDeps } from "./service-deps.ts";

const inventoryStates = {
  MANAGED: InventoryState.MANAGED,
  UNMANAGED: InventoryState.UNMANAGED,
  DRIFTED: InventoryState.DRIFTED,
} as const;

function pluginToProto(plugin: LoadedPlugin) {
  const d = plugin.definition;
  let schema: JsonObject;
  try {
    schema = z.toJSONSchema(d.spec, { unrepresentable: "any" }) as JsonObject;
  } catch {
    schema = { description: "this plugin's spec schema cannot be expressed as JSON Schema" };
  }
  return create(PluginSchema, {
    type: d.type,
    version: d.version,
    description: d.description ?? "",
    specSchema: schema,
    reviewPolicy:
      d.reviewPolicy ??
      (d.review ? "decided per change by the plugin, on top of the service policy" : "the service policy alone"),
    secretOutputs: [...(d.secretOutputs ?? [])],
  });
}

/** PluginService: what resource types this service can manage. */
export function pluginService(deps: ServiceDeps): ServiceImpl<typeof PluginService> {
  return {
    async listPlugins(_req, context) {
      principalOf(context);
      return { plugins: deps.plugins.list().map(pluginToProto) };
    },
    async listInventory(req, context) {
      principalOf(context);
      const entries = await listInventory(deps, req.type, req.scope);
      return {
        items: entries.map((entry) =>
          create(InventoryItemSchema, {
            name: entry.name,
            state: inventoryStates[entry.state],
            resourceName: entry.resourceName,
            observed: entry.observed,
            findings: entry.findings,
          }),
        ),
      };
    },

    async getPlugin(req, context) {
      principalOf(context);
      if (!req.type) throw new InvalidArgumentError([{ field: "type", description: "is required, e.g. kafka.topic" }]);
      const plugin = deps.plugins.get(req.type);
      if (!plugin) throw new NotFoundError(`no plugin handles type "${req.type}"`);
      return { plugin: pluginToProto(plugin) };
    },
  };
}
