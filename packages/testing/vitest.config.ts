import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "testing",
    include: ["test/**/*.test.ts"],
    // These tests start real brokers, databases and Pulumi: seconds, not milliseconds.
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
