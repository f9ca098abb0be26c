import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
    // One scratch directory per run; its teardown kills and removes leftovers.
    globalSetup: ["packages/testing/src/global-setup.ts"],
    // Most files wait on real brokers, databases and Pulumi children rather than
    // compute; vitest's default (cores - 1) ran them one at a time on CI's 2 cores.
    maxWorkers: 2,
  },
});
