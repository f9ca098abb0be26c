import { basename } from "node:path";
import { EngineError, type PluginModuleRef } from "../engine.ts";
import type { EngineOperation, PulumiFailure } from "./child-protocol.ts";
import { redactSecrets } from "./redact-secrets.ts";

export interface ClassifyContext {
  operation: EngineOperation;
  /** The resource type, e.g. "kafka.topic". */
  type: string;
  plugin: PluginModuleRef;
  /** Strings that must never appear in a message: the passphrase, secret values. */
  secrets: readonly string[];
}

type Code = EngineError["code"];

interface Rule {
  code: Code;
  retryable: boolean;
  /** What the rule means, in the words that start the error message. */
  meaning: string;
  pattern: RegExp;
}

/**
 * Failure text to class, first match wins. This table is the only place in
 * Plinth that reads Pulumi's or a provider's message text (like the
 * Automation API's own `createCommandError`); everything downstream looks
 * at `EngineError.code` and `retryable`.
 */
const rules: readonly Rule[] = [
  {
    code: "CONCURRENT_UPDATE",
    retryable: true,
    meaning: "another update holds the stack's lock",
    pattern: /the stack is currently locked by|\[409\] Conflict|Another update is currently in progress/i,
  },
  {
    code: "TARGET_UNREACHABLE",
    retryable: true,
    meaning: "the target system is unreachable",
    pattern:
      /run out of available brokers|connection refused|ECONNREFUSED|connection reset|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|no such host|network is unreachable|i\/o timeout|context deadline exceeded|timed out|dial tcp/i,
  },
  {
    code: "PLUGIN_FAILED",
    retryable: false,
    meaning: "a Pulumi provider plugin is missing or broken (run 'make setup')",
    pattern: /no resource plugin .* found|could not read plugin|failed to load plugin|plugin .* not found/i,
  },
  {
    code: "PLUGIN_FAILED",
    retryable: false,
    meaning: "the plugin's program failed",
    pattern: /Running program .* failed with an unhandled exception|One or more errors occurred/i,
  },
  {
    code: "ALREADY_EXISTS",
    retryable: false,
    meaning: "the resource already exists outside this stack",
    pattern: /already exists/i,
  },
  {
    code: "INVALID_INPUT",
    retryable: false,
    meaning: "the target rejected the input",
    pattern:
      /has a problem:|\binvalid (argument|value|input|config|configuration|partitions?|replication factor)|Invalid(Partitions|ReplicationFactor|Config|Request)|missing required (argument|property|field)|policy violation/i,
  },
];

/** Pulumi's closing lines that say nothing about the cause. */
const noise = /^(error: )?((update|preview|destroy|refresh) failed|\d+ errors? occurred:?)$/i;

/** The lines that name the cause, short enough for an event or a change row. */
function excerpt(failure: Extract<PulumiFailure, { kind: "command" }>): string {
  const fromDiagnostics = failure.diagnostics.map((line) => line.trim()).filter((line) => line && !noise.test(line));
  const lines =
    fromDiagnostics.length > 0
      ? fromDiagnostics
      : failure.output
          .split("\n")
          .map((line) => line.trim())
          .filter((line) => /error:/i.test(line) && !noise.test(line));
  const unique = [...new Set(lines)];
  return unique.length > 0 ? unique.join("; ") : (failure.output.trim().split("\n").at(-1) ?? "");
}

function shorten(text: string, max = 600): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function pluginName(context: ClassifyContext): string {
  const module = context.plugin.module.startsWith("file:") ? basename(context.plugin.module) : context.plugin.module;
  return `plugin ${context.type} (${module}#${context.plugin.exportName})`;
}

/**
 * Turns what went wrong in an engine child into an `EngineError`, decided
 * in this one place: concurrent update / lock held and an unreachable target
 * are retryable; a plugin that cannot load or whose program throws, input
 * the target rejects and a resource that already exists are not; a child
 * that died or an unrecognised Pulumi failure is retryable `UNKNOWN`,
 * because the next attempt recovers the stack first. Messages name the
 * plugin and never contain any of `context.secrets`.
 */
export function classifyPulumiError(failure: PulumiFailure, context: ClassifyContext): EngineError {
  const where = `${context.operation} of ${pluginName(context)}`;
  const make = (code: Code, retryable: boolean, message: string): EngineError =>
    new EngineError(shorten(redactSecrets(`${where}: ${message}`, context.secrets)), retryable, code);

  switch (failure.kind) {
    case "plugin-load":
      return make("PLUGIN_FAILED", false, `cannot load the plugin: ${failure.message}`);
    case "program": {
      const unreachable = rules.find(
        (rule) => rule.code === "TARGET_UNREACHABLE" && rule.pattern.test(failure.message),
      );
      if (unreachable) return make(unreachable.code, true, `${unreachable.meaning}: ${failure.message}`);
      return make("PLUGIN_FAILED", false, `the plugin's program threw: ${failure.message}`);
    }
    case "command": {
      if (failure.errorName === "ConcurrentUpdateError") {
        return make("CONCURRENT_UPDATE", true, `another update holds the stack's lock: ${excerpt(failure)}`);
      }
      const text = `${failure.diagnostics.join("\n")}\n${failure.output}`;
      const rule = rules.find((candidate) => candidate.pattern.test(text));
      if (rule) return make(rule.code, rule.retryable, `${rule.meaning}: ${excerpt(failure)}`);
      return make(
        "UNKNOWN",
        true,
        `Pulumi failed for a reason the engine does not recognise (retryable: the next attempt recovers the stack first): ${excerpt(failure)}`,
      );
    }
    case "internal":
      return make("UNKNOWN", true, `the engine child failed (retryable): ${failure.message}`);
    case "exited": {
      const how = failure.signal ? `was killed by ${failure.signal}` : `exited with code ${failure.code}`;
      const last = failure.stderrTail.trim().split("\n").at(-1);
      return make(
        "UNKNOWN",
        true,
        `the engine child ${how} without answering (retryable: the next attempt clears the stale lock and pending operations)${last ? `; its last words: ${last}` : ""}`,
      );
    }
    case "cancelled":
      return make(
        "UNKNOWN",
        true,
        "cancelled before it finished (retryable: the next attempt recovers the stack first)",
      );
    case "timeout":
      return make("TIMEOUT", true, `did not finish within ${failure.timeoutMs} ms and was stopped`);
  }
}
