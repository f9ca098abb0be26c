import type { EngineEvent as PulumiEngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation/index.js";
import type { JsonObject } from "../../domain/types.ts";
import type { EngineEvent } from "../engine.ts";
import { redactSecrets } from "./redact-secrets.ts";

const maxMessage = 300;

/** The last URN segment: the resource's logical name. */
function resourceName(urn: string): string {
  return urn.split("::").at(-1) ?? urn;
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > maxMessage ? `${flat.slice(0, maxMessage - 1)}…` : flat;
}

function step(metadata: StepEventMetadata, phase: "started" | "done" | "failed"): EngineEvent {
  const name = resourceName(metadata.urn);
  const details: JsonObject = { phase, op: metadata.op, type: metadata.type, name };
  if (metadata.diffs?.length) details.diffs = metadata.diffs;
  return { kind: "resource", message: `${metadata.op} ${metadata.type} ${name}: ${phase}`, details };
}

/** Steps worth telling a person about: not the stack itself, not "nothing to do". */
function isInteresting(metadata: StepEventMetadata): boolean {
  return metadata.type !== "pulumi:pulumi:Stack" && metadata.op !== "same";
}

/**
 * Maps one Pulumi engine event to a short Plinth `EngineEvent`, or
 * undefined for events nobody needs (preludes, progress, "same" steps).
 * Resource steps carry op, type and name; diagnostics their severity.
 * Pure; `secrets` are redacted from diagnostic text.
 */
export function mapEngineEvent(event: PulumiEngineEvent, secrets: readonly string[]): EngineEvent | undefined {
  if (event.resourcePreEvent && isInteresting(event.resourcePreEvent.metadata)) {
    return step(event.resourcePreEvent.metadata, "started");
  }
  if (event.resOutputsEvent && isInteresting(event.resOutputsEvent.metadata)) {
    return step(event.resOutputsEvent.metadata, "done");
  }
  if (event.resOpFailedEvent) return step(event.resOpFailedEvent.metadata, "failed");
  // Debug diagnostics (provider TRACE logs, SDK RPC chatter) stay out: tens per step.
  if (
    event.diagnosticEvent &&
    !event.diagnosticEvent.ephemeral &&
    (event.diagnosticEvent.severity as string) !== "debug"
  ) {
    const { severity, message, urn } = event.diagnosticEvent;
    const text = shorten(redactSecrets(message, secrets));
    if (!text) return undefined;
    const details: JsonObject = { severity };
    if (urn) details.resource = resourceName(urn);
    return { kind: "diagnostic", message: text, details };
  }
  if (event.summaryEvent) {
    const { resourceChanges, durationSeconds, maybeCorrupt } = event.summaryEvent;
    const counts = Object.entries(resourceChanges ?? {}).filter(([, count]) => (count ?? 0) > 0);
    const changes = Object.fromEntries(counts) as JsonObject;
    return {
      kind: "summary",
      message: `${counts.map(([op, count]) => `${op}: ${count}`).join(", ") || "no resources"} in ${durationSeconds} s`,
      details: { resourceChanges: changes, durationSeconds, maybeCorrupt },
    };
  }
  return undefined;
}
