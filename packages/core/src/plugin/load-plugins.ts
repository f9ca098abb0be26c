import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type NamespacedUnregister, register } from "tsx/esm/api";
import type { JsonObject } from "../domain/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { PluginDefinition } from "./define-plugin.ts";
import type { LoadedPlugin } from "./registry.ts";

export interface PluginEntry {
  module: string;
  export: string;
  settings: Record<string, unknown>;
}

export class PluginLoadError extends Error {
  override name = "PluginLoadError";
}

let loader: NamespacedUnregister | undefined;

/** One tsx loader for all plugins: registering one per import leaks (see FACTS.md). */
function tsxLoader(): NamespacedUnregister {
  loader ??= register({ namespace: "plinth-plugins" });
  return loader;
}

/**
 * A file URL for the module, so the engine's child process imports exactly the same file.
 * A package name is looked up beside the config first (a team's own plugins), then in the
 * server's own installation: a config in /etc/plinth names plugins installed with the server.
 */
export function resolvePluginModule(specifier: string, baseDir: string): string {
  if (specifier.startsWith("file:")) return specifier;
  if (specifier.startsWith(".") || isAbsolute(specifier)) return pathToFileURL(resolve(baseDir, specifier)).href;
  const places = [join(baseDir, "plinth.config.js"), import.meta.filename];
  for (const from of places) {
    try {
      return pathToFileURL(createRequire(from).resolve(specifier)).href;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw error;
    }
  }
  const looked = places.map((from) => `${join(dirname(from), "node_modules")} (and the folders above it)`);
  throw new PluginLoadError(`package ${specifier} is not installed; looked in ${looked.join(" and in ")}`);
}

function isPlugin(value: unknown): value is PluginDefinition<unknown, unknown> {
  const v = value as Partial<PluginDefinition> | undefined;
  return (
    !!v && typeof v.type === "string" && typeof v.version === "string" && typeof v.program === "function" && !!v.spec
  );
}

/**
 * Imports the TypeScript plugin modules named in the config (no build step)
 * and validates each plugin's settings with its own schema. Any problem stops
 * the start with one message naming the plugin.
 */
export async function loadPlugins(entries: PluginEntry[], baseDir: string, logger: Logger): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const [index, entry] of entries.entries()) {
    const where = `plugins[${index}] (${entry.module}#${entry.export})`;
    let url: string;
    let namespace: Record<string, unknown>;
    try {
      url = resolvePluginModule(entry.module, baseDir);
      namespace = (await tsxLoader().import(url, import.meta.url)) as Record<string, unknown>;
    } catch (error) {
      throw new PluginLoadError(`${where}: cannot import the module: ${(error as Error).message}`, { cause: error });
    }
    const definition = namespace[entry.export];
    if (!isPlugin(definition)) {
      throw new PluginLoadError(
        `${where}: the export is not a plugin made with definePlugin (type, version, spec, program)`,
      );
    }
    if (loaded.some((plugin) => plugin.definition.type === definition.type)) {
      throw new PluginLoadError(`${where}: a second plugin for type ${definition.type}`);
    }
    let settings: unknown = entry.settings;
    if (definition.settings) {
      const parsed = definition.settings.safeParse(entry.settings);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new PluginLoadError(
          `${where}: settings.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`.replace(/\.: /, ": "),
        );
      }
      settings = parsed.data;
    }
    const pluginLogger = logger.child({ plugin: definition.type });
    loaded.push({
      definition,
      context: { settings, logger: pluginLogger },
      settingsJson: JSON.parse(JSON.stringify(settings ?? {})) as JsonObject,
      ref: { module: url, exportName: entry.export },
    });
  }
  return loaded;
}
