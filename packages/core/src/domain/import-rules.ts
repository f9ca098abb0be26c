import type { Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ImportRuleRecord } from "../store/records.ts";
import { freeTextLimits } from "./free-text-limits.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";

/** An operator's rule: resources whose name starts with `prefix` go to `team`. */
export type OwnerRule = ImportRuleRecord;

export interface ImportRequest {
  type: string;
  scope: string;
  rules: OwnerRule[];
  requestId: string;
  comment: string;
  dryRun: boolean;
}

const maxRules = 1_000;
const maxTeamChars = 63;
const maxContactChars = 256;
const maxPrefixChars = 255;
const maxRequestIdChars = 128;

/**
 * Every problem with an import request at once, each with its field path
 * (`rules.2.team`) and what is allowed; the plugin when there is none. Pure
 * but for the plugin's list of scopes.
 */
export function checkImportRequest(
  deps: Pick<LifecycleDeps, "plugins">,
  request: ImportRequest,
): { violations: Violation[]; plugin?: LoadedPlugin } {
  const violations: Violation[] = [];
  const plugin = request.type ? deps.plugins.get(request.type) : undefined;
  const importable = deps.plugins
    .list()
    .filter((p) => p.definition.importSpec && p.definition.inventory && p.definition.observeInBulk)
    .map((p) => p.definition.type);
  if (!plugin || !importable.includes(plugin.definition.type)) {
    const known = importable.length > 0 ? `one of ${importable.join(", ")}` : "no plugin of this service can import";
    violations.push({
      field: "type",
      reason: "NOT_IMPORTABLE",
      description: `${request.type ? `"${request.type}" is not a type that can be imported` : "is required"}: ${known}`,
    });
  } else {
    const scopes = plugin.definition.inventoryScopes?.(plugin.context);
    if (!request.scope || (scopes && !scopes.includes(request.scope))) {
      violations.push({
        field: "scope",
        reason: "UNKNOWN_SCOPE",
        description: `${request.scope ? `"${request.scope}" is not a scope of ${request.type}` : "is required"}${scopes ? `: one of ${scopes.join(", ")}` : ""}`,
      });
    }
  }
  if (request.rules.length === 0) {
    violations.push({
      field: "rules",
      reason: "REQUIRED",
      description:
        'at least one owner rule (prefix, team, contact), e.g. { prefix: "orders.", team: "orders", contact: "#orders" }',
    });
  }
  if (request.rules.length > maxRules) {
    violations.push({
      field: "rules",
      reason: "TOO_MANY",
      description: `at most ${maxRules} rules (has ${request.rules.length})`,
    });
  }
  const firstWithPrefix = new Map<string, number>();
  request.rules.slice(0, maxRules).forEach((rule, index) => {
    const at = `rules.${index}`;
    if (!rule.prefix) {
      violations.push({
        field: `${at}.prefix`,
        reason: "REQUIRED",
        description: "a name prefix of at least one character",
      });
    } else if (rule.prefix.length > maxPrefixChars) {
      violations.push({
        field: `${at}.prefix`,
        reason: "TOO_LONG",
        description: `at most ${maxPrefixChars} characters`,
      });
    } else if (firstWithPrefix.has(rule.prefix)) {
      violations.push({
        field: `${at}.prefix`,
        reason: "DUPLICATE",
        description: `"${rule.prefix}" is already the prefix of rules.${firstWithPrefix.get(rule.prefix)}: one team per prefix`,
      });
    } else {
      firstWithPrefix.set(rule.prefix, index);
    }
    if (!rule.team || rule.team.length > maxTeamChars) {
      violations.push({
        field: `${at}.team`,
        reason: "REQUIRED",
        description: `the receiving team, 1 to ${maxTeamChars} characters`,
      });
    }
    if (!rule.contact || rule.contact.length > maxContactChars) {
      violations.push({
        field: `${at}.contact`,
        reason: "REQUIRED",
        description: `where to reach the team (e.g. "#orders"), 1 to ${maxContactChars} characters`,
      });
    }
  });
  if (request.requestId.length > maxRequestIdChars) {
    violations.push({
      field: "request_id",
      reason: "TOO_LONG",
      description: `at most ${maxRequestIdChars} characters`,
    });
  }
  if (request.comment.length > freeTextLimits.commentChars) {
    violations.push({
      field: "comment",
      reason: "TOO_LONG",
      description: `at most ${freeTextLimits.commentChars} characters`,
    });
  }
  return { violations, plugin };
}

/** The rule for `name`: the longest prefix that matches, or undefined. Pure. */
export function ruleFor(rules: OwnerRule[], name: string): OwnerRule | undefined {
  let best: OwnerRule | undefined;
  for (const rule of rules) {
    if (name.startsWith(rule.prefix) && (!best || rule.prefix.length > best.prefix.length)) best = rule;
  }
  return best;
}
