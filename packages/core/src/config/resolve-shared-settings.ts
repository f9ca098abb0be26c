/** Where a reference stands and what it names, for the error that names its path. */
export class SharedSettingsError extends Error {
  override name = "SharedSettingsError";
}

/**
 * Replaces every `{ $shared: "<name>" }` inside a plugin's settings with the
 * section `sharedSettings.<name>` of the service config, so several plugins
 * (postgres.database and a team's postgres.role, say) read one list of
 * PostgreSQL instances written once. A reference is an object with that one
 * key; it may stand anywhere in the settings, or be the settings themselves.
 * Sections do not refer to each other. Throws naming the path of a bad reference.
 */
export function resolveSharedSettings(
  shared: Record<string, unknown>,
  settings: Record<string, unknown>,
  path: string,
): Record<string, unknown> {
  for (const [name, section] of Object.entries(shared)) {
    const inner = findReference(section, `sharedSettings.${name}`);
    if (inner) throw new SharedSettingsError(`${inner}: a shared section cannot refer to another ($shared)`);
  }
  const resolved = substitute(settings, path, shared);
  if (!resolved || typeof resolved !== "object" || Array.isArray(resolved)) {
    throw new SharedSettingsError(`${path}: the shared section it names is not an object of settings`);
  }
  return resolved as Record<string, unknown>;
}

function isReferenceShaped(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === "object" && !Array.isArray(value) && "$shared" in value;
}

function findReference(value: unknown, path: string): string | undefined {
  if (isReferenceShaped(value)) return path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findReference(item, `${path}.${index}`);
      if (found) return found;
    }
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const found = findReference(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function substitute(value: unknown, path: string, shared: Record<string, unknown>): unknown {
  if (isReferenceShaped(value)) {
    const name = value.$shared;
    const extra = Object.keys(value).filter((key) => key !== "$shared");
    if (extra.length > 0) {
      throw new SharedSettingsError(`${path}: a $shared reference has no other keys (found ${extra.join(", ")})`);
    }
    if (typeof name !== "string" || !Object.hasOwn(shared, name)) {
      const known = Object.keys(shared);
      throw new SharedSettingsError(
        `${path}: $shared ${JSON.stringify(name)} names no section of sharedSettings ` +
          `(${known.length > 0 ? `known: ${known.join(", ")}` : "there are none"})`,
      );
    }
    // A deep copy: one plugin's settings never alias another's.
    return structuredClone(shared[name]);
  }
  if (Array.isArray(value)) return value.map((item, index) => substitute(item, `${path}.${index}`, shared));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, `${path}.${key}`, shared)]),
    );
  }
  return value;
}
