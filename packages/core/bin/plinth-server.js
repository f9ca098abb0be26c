#!/usr/bin/env node
// The Plinth server: `plinth-server --config plinth.yaml`. In the checkout tsx runs
// the TypeScript sources (as `node --import tsx src/main.ts` does); a packed
// @plinth/core (`pnpm pack`) ships the compiled dist/ instead, and no sources.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const sources = import.meta.resolve("../src/main.ts");
if (existsSync(fileURLToPath(sources))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(sources);
} else {
  await import("../dist/main.js");
}
