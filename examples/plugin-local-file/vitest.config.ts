import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "example-plugin-local-file",
    include: ["test/**/*.test.ts"],
    // The contract suite runs real Pulumi: seconds per step.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
