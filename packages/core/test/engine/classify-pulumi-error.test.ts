import { describe, expect, it } from "vitest";
import type { PulumiFailure } from "../../src/engine/pulumi/child-protocol.ts";
import { type ClassifyContext, classifyPulumiError } from "../../src/engine/pulumi/classify-pulumi-error.ts";

const context: ClassifyContext = {
  operation: "apply",
  type: "kafka.topic",
  plugin: { module: "file:///srv/plugins/kafka-topic.ts", exportName: "kafkaTopic" },
  secrets: ["correct-horse-battery-staple"],
};

const command = (output: string, diagnostics: string[] = [], errorName = "CommandError"): PulumiFailure => ({
  kind: "command",
  errorName,
  output,
  diagnostics,
});

// Texts are what Pulumi, the Kafka provider and the PostgreSQL driver print (seen in this repo's tests).
const cases: Array<{ reason: string; failure: PulumiFailure; code: string; retryable: boolean }> = [
  {
    reason: "the Automation API's own class for a held lock",
    failure: command("error: the stack is currently locked by 1 lock(s)", [], "ConcurrentUpdateError"),
    code: "CONCURRENT_UPDATE",
    retryable: true,
  },
  {
    reason: "the DIY backend's lock message without the class",
    failure: command("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end"),
    code: "CONCURRENT_UPDATE",
    retryable: true,
  },
  {
    reason: "a stopped broker, as the Kafka provider reports it",
    failure: command("update failed", [
      "sdk-v2/provider2.go:572: sdk.helper_schema: kafka: client has run out of available brokers to talk to: dial tcp 127.0.0.1:39001: connect: connection refused: provider=kafka@3.13.2",
      "update failed",
    ]),
    code: "TARGET_UNREACHABLE",
    retryable: true,
  },
  {
    reason: "a database that refuses connections, from a dynamic provider",
    failure: command("", ["Error: connect ECONNREFUSED 127.0.0.1:5432"]),
    code: "TARGET_UNREACHABLE",
    retryable: true,
  },
  {
    reason: "a target that does not answer in time",
    failure: command("", ["dial tcp 10.0.0.9:9092: i/o timeout"]),
    code: "TARGET_UNREACHABLE",
    retryable: true,
  },
  {
    reason: "a program that calls an unreachable target is still unreachable, not a plugin bug",
    failure: { kind: "program", message: "connect ECONNREFUSED 127.0.0.1:9092" },
    code: "TARGET_UNREACHABLE",
    retryable: true,
  },
  {
    reason: "a topic that exists outside the stack",
    failure: command("", ["kafka server: Topic with this name already exists: provider=kafka@3.13.2"]),
    code: "ALREADY_EXISTS",
    retryable: false,
  },
  {
    reason: "input the provider's schema check rejects",
    failure: command("", [
      "kafka:index/topic:Topic resource 'topic' has a problem: expected partitions to be at least (1), got 0",
    ]),
    code: "INVALID_INPUT",
    retryable: false,
  },
  {
    reason: "input the broker rejects",
    failure: command("", ["kafka server: Number of partitions is invalid: InvalidPartitions"]),
    code: "INVALID_INPUT",
    retryable: false,
  },
  {
    reason: "the plugin's program threw",
    failure: { kind: "program", message: "spec.partitions is not a number" },
    code: "PLUGIN_FAILED",
    retryable: false,
  },
  {
    reason: "an error in the program's promise chain, as Pulumi reports it",
    failure: command("error: Running program '/srv' failed with an unhandled exception: TypeError: x is undefined"),
    code: "PLUGIN_FAILED",
    retryable: false,
  },
  {
    reason: "a provider plugin that is not installed",
    failure: command("error: no resource plugin 'pulumi-resource-kafka' found in the workspace at version v3.13.2"),
    code: "PLUGIN_FAILED",
    retryable: false,
  },
  {
    reason: "a plugin module that does not load",
    failure: {
      kind: "plugin-load",
      message: "cannot import the module: Cannot find module '/srv/plugins/kafka-topic.ts'",
    },
    code: "PLUGIN_FAILED",
    retryable: false,
  },
  {
    reason: "a Pulumi failure nobody recognises: the next attempt recovers first, so retrying is safe",
    failure: command("error: an unexpected thing happened"),
    code: "UNKNOWN",
    retryable: true,
  },
  {
    reason: "a child killed before it answered",
    failure: { kind: "exited", code: null, signal: "SIGKILL", stderrTail: "" },
    code: "UNKNOWN",
    retryable: true,
  },
  {
    reason: "a child that crashed on its own",
    failure: { kind: "internal", message: "Maximum call stack size exceeded" },
    code: "UNKNOWN",
    retryable: true,
  },
  { reason: "cancelled by the caller", failure: { kind: "cancelled" }, code: "UNKNOWN", retryable: true },
  {
    reason: "ran past the engine's timeout",
    failure: { kind: "timeout", timeoutMs: 1000 },
    code: "TIMEOUT",
    retryable: true,
  },
];

describe("classifyPulumiError", () => {
  it.each(cases)("$code, retryable=$retryable: $reason", ({ failure, code, retryable }) => {
    const error = classifyPulumiError(failure, context);
    expect(error).toMatchObject({ name: "EngineError", code, retryable });
    expect(error.message).toContain("kafka.topic (kafka-topic.ts#kafkaTopic)");
  });

  it("names the plugin of a child that exited without answering", () => {
    const error = classifyPulumiError(
      { kind: "exited", code: 1, signal: null, stderrTail: "boom\nlast words" },
      context,
    );
    expect(error.message).toMatch(/^apply of plugin kafka\.topic .*exited with code 1.*last words$/);
  });

  it("never lets a secret into a message, wherever it appears", () => {
    const secret = context.secrets[0] ?? "";
    const failures: PulumiFailure[] = [
      { kind: "program", message: `cannot use passphrase ${secret}` },
      { kind: "plugin-load", message: secret },
      command(`error: ${secret}`, [`diagnostic with ${secret}`]),
      { kind: "exited", code: 1, signal: null, stderrTail: `PULUMI_CONFIG_PASSPHRASE=${secret}` },
      { kind: "internal", message: secret },
    ];
    for (const failure of failures) {
      const message = classifyPulumiError(failure, context).message;
      expect(message).not.toContain(secret);
      expect(message).toContain("[secret]");
    }
  });

  it("keeps messages short", () => {
    const error = classifyPulumiError(command("", ["x".repeat(5_000)]), context);
    expect(error.message.length).toBeLessThanOrEqual(600);
  });
});
