import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "console",
    include: ["test/**/*.test.ts"],
    // Browser tests start a real server, broker, Pulumi and Chromium.
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
