import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "sdk",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Integration tests start real servers, brokers and Pulumi.
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
