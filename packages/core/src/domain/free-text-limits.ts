import type { Violation } from "../plugin/define-plugin.ts";
import type { Json } from "./types.ts";

/**
 * Bounds on text a client writes freely. Every change, its comment, labels
 * and spec are returned by Get/List/Watch calls and stored forever, so an
 * unbounded field turns one request into gigabytes for every reader.
 */
export const freeTextLimits = {
  commentChars: 4_096,
  labels: 64,
  labelKeyChars: 63,
  labelValueChars: 256,
  /** Any string inside a spec, whatever the plugin's schema says: plugins bound theirs tighter. */
  specStringChars: 4_096,
} as const;

const labelKeyPattern = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;

function stringViolations(value: Json | undefined, path: string, out: Violation[]): void {
  if (typeof value === "string") {
    if (value.length > freeTextLimits.specStringChars) {
      out.push({
        field: path,
        reason: "TOO_LONG",
        description: `at most ${freeTextLimits.specStringChars} characters (has ${value.length})`,
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => stringViolations(item, `${path}.${index}`, out));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) stringViolations(item, `${path}.${key}`, out);
  }
}

/** Violations of the free-text limits, each with its request path. Pure. */
export function freeTextViolations(input: {
  comment?: string;
  labels?: Record<string, string>;
  spec?: Json;
}): Violation[] {
  const violations: Violation[] = [];
  if (input.comment !== undefined && input.comment.length > freeTextLimits.commentChars) {
    violations.push({
      field: "comment",
      reason: "TOO_LONG",
      description: `at most ${freeTextLimits.commentChars} characters (has ${input.comment.length}): link to a document for more`,
    });
  }
  const labels = Object.entries(input.labels ?? {});
  if (labels.length > freeTextLimits.labels) {
    violations.push({
      field: "labels",
      reason: "TOO_MANY_LABELS",
      description: `at most ${freeTextLimits.labels} labels (has ${labels.length})`,
    });
  }
  for (const [key, value] of labels.slice(0, freeTextLimits.labels)) {
    if (key.length > freeTextLimits.labelKeyChars || !labelKeyPattern.test(key)) {
      violations.push({
        field: `labels.${key.slice(0, freeTextLimits.labelKeyChars)}`,
        reason: "INVALID_LABEL_KEY",
        description: `a label key has 1 to ${freeTextLimits.labelKeyChars} letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit`,
      });
    }
    if (value.length > freeTextLimits.labelValueChars) {
      violations.push({
        field: `labels.${key.slice(0, freeTextLimits.labelKeyChars)}`,
        reason: "TOO_LONG",
        description: `a label value has at most ${freeTextLimits.labelValueChars} characters (has ${value.length})`,
      });
    }
  }
  if (input.spec !== undefined) stringViolations(input.spec, "spec", violations);
  return violations;
}
