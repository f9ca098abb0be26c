import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // The CLI against a fake server (the real server: packages/core/test/sdk).
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
