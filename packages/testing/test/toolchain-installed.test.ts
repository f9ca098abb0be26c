import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pulumiBinDir, pulumiEnv, toolchainVersions } from "../src/index.ts";

// What `make setup` promises to have installed, checked the way an operator would.
describe("the installed toolchain", () => {
  const pulumi = (...args: string[]) =>
    execFileSync(join(pulumiBinDir(), "pulumi"), args, { env: { ...process.env, ...pulumiEnv() }, encoding: "utf8" });

  it("has the pinned Pulumi CLI, printing a semver", () => {
    expect(pulumi("version").trim()).toBe(`v${toolchainVersions().PULUMI_VERSION}`);
  });

  it("has the Kafka provider plugin at the version @pulumi/kafka asks for", () => {
    const plugins = JSON.parse(pulumi("plugin", "ls", "--json")) as { name: string; kind: string; version: string }[];
    expect(plugins).toContainEqual(
      expect.objectContaining({ name: "kafka", kind: "resource", version: toolchainVersions().PULUMI_KAFKA_VERSION }),
    );
  });

  it("has the dynamic provider launcher beside the CLI", () => {
    expect(() => execFileSync("test", ["-x", join(pulumiBinDir(), "pulumi-resource-pulumi-nodejs")])).not.toThrow();
  });
});
