import { readFile } from "node:fs/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { parse } from "yaml";
import { BadRequestSchema, type FieldViolation } from "@plinth/sdk";

import type { CliIo } from "./cli-io.ts";
import { UsageError } from "./usage-error.ts";

/** A manifest problem: found before any call, so there is no server reason to give. */
export type ManifestViolation = Omit<FieldViolation, "reason">;

/** What `plinth apply -f` reads: one resource, as YAML or JSON. */
export interface Manifest {
  type: string;
  name: string;
  spec: Record<string, unknown>;
  comment?: string;
  labels?: Record<string, string>;
}

/**
 * Reads and checks the manifest at `path` (`-` is stdin). A file that cannot
 * be read is a usage error; a manifest of the wrong shape is rejected like the
 * server rejects bad input, with INVALID_ARGUMENT and field violations, before
 * any call is made.
 */
export async function readManifest(path: string, io: CliIo): Promise<Manifest> {
  const text = path === "-" ? await readStdin(io) : await readManifestFile(path);
  const checked = checkManifestText(text);
  if (checked.violations.length > 0) {
    throw invalidManifest(path === "-" ? "invalid manifest on stdin" : `invalid manifest ${path}`, checked.violations);
  }
  return checked.manifest!;
}

/**
 * Parses and checks one manifest's text without calling anything: the
 * manifest, or every problem of its shape (field paths relative to it).
 */
export function checkManifestText(text: string): { manifest?: Manifest; violations: ManifestViolation[] } {
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    document = parse(text);
  } catch (error) {
    return { violations: [{ field: "", description: (error as Error).message.split("\n")[0] ?? "" }] };
  }
  if (!isObject(document)) {
    return { violations: [{ field: "", description: "must be a mapping with type, name and spec" }] };
  }
  const violations: ManifestViolation[] = [];
  const { type, name, spec, comment, labels } = document;
  if (typeof type !== "string" || type === "") {
    violations.push({ field: "type", description: "required: the resource type, e.g. kafka.topic" });
  }
  if (typeof name !== "string" || name === "") {
    violations.push({ field: "name", description: "required: the resource name" });
  }
  if (!isObject(spec)) {
    violations.push({ field: "spec", description: "required: a mapping" });
  }
  if (comment !== undefined && typeof comment !== "string") {
    violations.push({ field: "comment", description: "must be a string" });
  }
  if (labels !== undefined && !(isObject(labels) && Object.values(labels).every((v) => typeof v === "string"))) {
    violations.push({ field: "labels", description: "must be a mapping of strings to strings" });
  }
  for (const key of Object.keys(document)) {
    if (!["type", "name", "spec", "comment", "labels"].includes(key)) {
      violations.push({ field: key, description: "unknown field; allowed: type, name, spec, comment, labels" });
    }
  }
  return violations.length > 0 ? { violations } : { manifest: document as unknown as Manifest, violations };
}

async function readManifestFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

async function readStdin(io: CliIo): Promise<string> {
  if (!io.stdin) {
    throw new UsageError("-f - reads the manifest from stdin, but there is no stdin");
  }
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of io.stdin) {
    text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** INVALID_ARGUMENT with every violation as a field violation, as the server reports bad input. */
export function invalidManifest(message: string, violations: ManifestViolation[]): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) },
  ]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
