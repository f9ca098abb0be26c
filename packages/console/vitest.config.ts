import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "console",
    include: ["test/**/*.test.ts"],
    // Browser tests start a real server, broker, Pulumi and Chromium.
    testTimeout: 300_000,
    hookTimeout: 180_000,
    // expect.poll waits for what a page shows: vitest's default of 1 s is less than one page load beside another
    // test file on CI's two cores (a topic page's schema list missed it so).
    expect: { poll: { timeout: 30_000 } },
  },
});
