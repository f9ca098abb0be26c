import type { PluginDefinition } from "../../plugin/define-plugin.ts";
import type { PluginModuleRef } from "../engine.ts";
import { PulumiFailureError } from "./child-protocol.ts";

/**
 * Imports a plugin module inside the engine child (tsx is registered, so a
 * TypeScript module needs no build) and returns the named export. Fails with
 * a `plugin-load` failure when the module cannot be imported or the export is
 * not a plugin made with `definePlugin`.
 */
export async function loadPluginDefinition(ref: PluginModuleRef): Promise<PluginDefinition<unknown, unknown>> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(ref.module)) as Record<string, unknown>;
  } catch (error) {
    throw new PulumiFailureError({
      kind: "plugin-load",
      message: `cannot import the module: ${(error as Error).message}`,
    });
  }
  const definition = namespace[ref.exportName] as Partial<PluginDefinition<unknown, unknown>> | undefined;
  if (!definition || typeof definition.type !== "string" || typeof definition.program !== "function") {
    throw new PulumiFailureError({
      kind: "plugin-load",
      message: `export ${ref.exportName} is not a plugin made with definePlugin (type, version, spec, program)`,
    });
  }
  return definition as PluginDefinition<unknown, unknown>;
}
