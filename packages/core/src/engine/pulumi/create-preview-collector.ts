import type { EngineEvent as PulumiEngineEvent, OpType } from "@pulumi/pulumi/automation/index.js";
import type { JsonObject } from "../../domain/types.ts";
import type { EnginePreview } from "../engine.ts";

/** Steps that lose the resource or its data; "replace" already counts a replacement once. */
const destructiveOps: ReadonlySet<OpType> = new Set([
  "delete",
  "replace",
  "create-replacement",
  "delete-replaced",
  "discard",
  "discard-replaced",
]);

/** Steps that are not planned changes: parts of a replacement Pulumi's summary does not count separately, and reads. */
const uncountedOps: ReadonlySet<OpType> = new Set([
  "same",
  // A refreshing preview reads each resource first; the reading is not a planned change.
  "refresh",
  "create-replacement",
  "delete-replaced",
  "discard-replaced",
  "read-replacement",
  "import-replacement",
  "remove-pending-replace",
]);

/** The stack and provider instances are bookkeeping, not the plugin's resources. */
function isPluginResource(type: string): boolean {
  return type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:");
}

/** Gathers a preview's planned steps from its engine events. */
export interface PreviewCollector {
  observe(event: PulumiEngineEvent): void;
  finish(): EnginePreview;
}

/**
 * Counts the steps a preview plans for the plugin's own resources (the
 * stack and provider instances left out), e.g. `{ update: 1 }`, and flags
 * it destructive when any of them would be deleted or replaced.
 */
export function createPreviewCollector(): PreviewCollector {
  const steps: Record<string, number> = {};
  const changes: JsonObject[] = [];
  let destructive = false;
  return {
    observe(event) {
      const metadata = event.resourcePreEvent?.metadata;
      if (!metadata || !isPluginResource(metadata.type)) return;
      if (destructiveOps.has(metadata.op)) destructive = true;
      if (uncountedOps.has(metadata.op)) return;
      steps[metadata.op] = (steps[metadata.op] ?? 0) + 1;
      const change: JsonObject = { op: metadata.op, type: metadata.type, name: metadata.urn.split("::").at(-1) ?? "" };
      if (metadata.diffs?.length) change.diffs = metadata.diffs;
      if (metadata.keys?.length) change.replaceKeys = metadata.keys;
      changes.push(change);
    },
    finish: () => ({ steps: { ...steps }, destructive, details: { changes } }),
  };
}
