import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
    // One scratch directory per run; its teardown kills and removes leftovers.
    globalSetup: ["packages/testing/src/global-setup.ts"],
  },
});
