import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "resource-types",
    include: ["test/**/*.test.ts"],
  },
});
