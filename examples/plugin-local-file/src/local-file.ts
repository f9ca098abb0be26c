import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, posix } from "node:path";
import { definePlugin, type VerifyResult, type Violation } from "@plinth/core";
import { z } from "zod";

/** The plugin's section of the service config. */
export const LocalFileSettings = z.strictObject({
  /** Absolute directory every file lives under. */
  root: z.string().refine(isAbsolute, "must be an absolute path"),
});
export type LocalFileSettings = z.output<typeof LocalFileSettings>;

/** A `local.file` spec: a text file under the configured root. */
export const LocalFileSpec = z.strictObject({
  /** Relative to the root, "/"-separated, e.g. "notes/today.txt". */
  path: z.string().min(1).max(255),
  content: z.string().max(1_000_000),
  /** Octal permission bits, e.g. "0640"; default "0644". */
  mode: z
    .string()
    .regex(/^0[0-7]{3}$/, 'four octal digits, e.g. "0644"')
    .optional(),
});
export type LocalFileSpec = z.output<typeof LocalFileSpec>;

const defaultMode = "0644";

/** The path as the file system sees it: "a/./b.txt" and "a/b.txt" are one file. */
export const normalizedPath = (path: string) => posix.normalize(path);

/** Where the file of `spec` lives on disk. */
export const fileOf = (spec: LocalFileSpec, settings: LocalFileSettings) =>
  join(settings.root, normalizedPath(spec.path));

function pathViolations(path: string): Violation[] {
  if (posix.isAbsolute(path)) {
    return [{ field: "path", description: "must be relative to the configured root", reason: "ABSOLUTE_PATH" }];
  }
  const normalized = normalizedPath(path);
  if (normalized === ".." || normalized.startsWith("../")) {
    return [{ field: "path", description: "must stay inside the configured root (no ..)", reason: "ESCAPES_ROOT" }];
  }
  if (normalized === "." || normalized.endsWith("/")) {
    return [{ field: "path", description: "must name a file, not a directory", reason: "NOT_A_FILE" }];
  }
  return [];
}

/** What is on disk compared with the spec; `undefined` when the file is missing. */
async function observe(file: string): Promise<{ content: string; mode: string } | undefined> {
  try {
    const [content, info] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    return { content, mode: (info.mode & 0o777).toString(8).padStart(4, "0") };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export const localFile = definePlugin<LocalFileSpec, LocalFileSettings>({
  type: "local.file",
  version: "0.1.0",
  description: "A text file under a directory of the Plinth host (an example plugin).",
  settings: LocalFileSettings,
  spec: LocalFileSpec,
  identity: (_name, spec) => normalizedPath(spec.path),
  defaults: (_name, spec) => {
    const explanations: Record<string, string> = {};
    if (!spec.mode) explanations.mode = `${defaultMode}: readable by all, writable by the service`;
    return { spec: { ...spec, mode: spec.mode ?? defaultMode }, explanations };
  },
  validate: (_name, next) => pathViolations(next.path),
  program: async ({ name, spec, settings }) => {
    // Pulumi is loaded only in the engine's child process, which runs programs.
    const { declareFile } = await import("./file-resource.ts");
    return declareFile(name, { file: fileOf(spec, settings), content: spec.content, mode: spec.mode ?? defaultMode });
  },
  verify: async ({ spec, settings }): Promise<VerifyResult> => {
    const seen = await observe(fileOf(spec, settings));
    if (!seen) return { ready: false, message: `${fileOf(spec, settings)} does not exist` };
    if (seen.content !== spec.content) return { ready: false, message: "the content differs from the spec" };
    if (seen.mode !== (spec.mode ?? defaultMode)) return { ready: false, message: `mode is ${seen.mode}` };
    return { ready: true, message: `${fileOf(spec, settings)} holds the spec's content` };
  },
  verifyGone: async ({ spec, settings }) =>
    (await observe(fileOf(spec, settings)))
      ? { ready: false, message: `${fileOf(spec, settings)} still exists` }
      : { ready: true },
});
