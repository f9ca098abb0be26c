#!/usr/bin/env node
// In the checkout the sources are TypeScript and tsx runs them as they are, so a
// fresh checkout needs `pnpm install` and no build step. A packed @plinth/cli
// (`pnpm pack`) ships the compiled dist/ instead, and no sources: tsx is only a devDependency.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const sources = import.meta.resolve("../src/main.ts");
if (existsSync(fileURLToPath(sources))) {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import(sources);
  await main();
} else {
  const { main } = await import("../dist/main.js");
  await main();
}
