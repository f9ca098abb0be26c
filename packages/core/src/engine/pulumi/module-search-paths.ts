import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Every `node_modules` directory Node would search from `dir` upward. */
function nodeModulesFrom(dir: string): string[] {
  const found: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    if (!current.endsWith("/node_modules")) found.push(join(current, "node_modules"));
    if (dirname(current) === current) return found;
  }
}

/**
 * NODE_PATH for Pulumi's dynamic provider host. Its launcher resolves
 * `@pulumi/pulumi` and the provider code's `require()` calls from the stack's
 * workspace directory, which lives in the data directory, outside any
 * package. So give it the module search path of the plugin module itself,
 * then of core (which has `@pulumi/pulumi`): a plugin's dynamic provider
 * then finds exactly the packages its own file would.
 */
export function moduleSearchPaths(pluginModule: string): string[] {
  const paths: string[] = [];
  try {
    const file = pluginModule.startsWith("file:")
      ? fileURLToPath(pluginModule)
      : createRequire(import.meta.url).resolve(pluginModule);
    paths.push(...nodeModulesFrom(dirname(file)));
  } catch {
    // A specifier only the ESM resolver understands: core's own paths still find @pulumi/pulumi.
  }
  paths.push(...nodeModulesFrom(import.meta.dirname));
  return [...new Set(paths)];
}
