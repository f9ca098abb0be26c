import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { checkManifestText, invalidManifest, type Manifest, type ManifestViolation } from "./read-manifest.ts";
import { sourceLabel } from "./source-label.ts";
import { UsageError } from "./usage-error.ts";

/** One manifest of a folder, with the file it came from (relative to the folder, `/`-separated). */
export interface FolderManifest extends Manifest {
  file: string;
}

const manifestExtensions = /\.(ya?ml|json)$/i;

/** Whether `path` names a folder (then `apply -f` / `plan -f` read it whole). */
export async function isFolder(path: string): Promise<boolean> {
  if (path === "-") return false;
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The default source name of a folder: its base name, `.` resolved. */
export function folderSourceName(path: string): string {
  return basename(resolve(path));
}

/**
 * Reads every `.yaml`, `.yml` and `.json` file under `dir` (sorted, hidden
 * files and folders skipped) and checks them all before anything is called.
 * Every problem of every file comes back at once as one INVALID_ARGUMENT,
 * each field path prefixed by its file (`topics/orders.yaml:spec`): two
 * files naming one resource, and a manifest that sets the source label
 * itself (apply sets it from `--source`), are problems too.
 */
export async function readManifestFolder(dir: string): Promise<FolderManifest[]> {
  const files = (await listManifestFiles(dir)).sort();
  const manifests: FolderManifest[] = [];
  const violations: ManifestViolation[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const text = await readFile(join(dir, ...file.split("/")), "utf8");
    const checked = checkManifestText(text);
    violations.push(...checked.violations.map((v) => ({ ...v, field: v.field ? `${file}:${v.field}` : file })));
    const manifest = checked.manifest;
    if (!manifest) continue;
    const key = `${manifest.type}/${manifest.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      violations.push({ field: `${file}:name`, description: `${key} is also described by ${first}; one file each` });
    }
    seen.set(key, first ?? file);
    if (manifest.labels && sourceLabel in manifest.labels) {
      violations.push({
        field: `${file}:labels.${sourceLabel}`,
        description: "set by apply from the folder's source (--source); remove it from the file",
      });
    }
    manifests.push({ ...manifest, file });
  }
  if (files.length === 0) {
    violations.push({ field: "", description: `${dir} holds no .yaml, .yml or .json manifest` });
  }
  if (violations.length > 0) {
    throw invalidManifest(`invalid manifests in ${dir}: nothing was submitted`, violations);
  }
  return manifests;
}

async function listManifestFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new UsageError(`cannot read ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return entries
    .filter((entry) => entry.isFile() && manifestExtensions.test(entry.name))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .filter((file) => !file.split("/").some((part) => part.startsWith(".")));
}
