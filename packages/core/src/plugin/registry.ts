import type { PluginModuleRef } from "../engine/engine.ts";
import type { JsonObject } from "../domain/types.ts";
import type { PluginContext, PluginDefinition } from "./define-plugin.ts";

/** A plugin as the service runs it: its definition, validated settings and where it came from. */
export interface LoadedPlugin {
  definition: PluginDefinition<unknown, unknown>;
  /** Settings as validated by the plugin's own schema. */
  context: PluginContext<unknown>;
  /** The same settings as plain JSON, for the engine's child process. */
  settingsJson: JsonObject;
  ref: PluginModuleRef;
}

export interface PluginRegistry {
  get(type: string): LoadedPlugin | undefined;
  list(): LoadedPlugin[];
}

export function createPluginRegistry(plugins: LoadedPlugin[]): PluginRegistry {
  const byType = new Map(plugins.map((plugin) => [plugin.definition.type, plugin]));
  return {
    get: (type) => byType.get(type),
    list: () => [...byType.values()].sort((a, b) => a.definition.type.localeCompare(b.definition.type)),
  };
}
