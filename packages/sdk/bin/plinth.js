#!/usr/bin/env node
// The sources are TypeScript; tsx runs them as they are, so a fresh checkout
// needs `pnpm install` and no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
await main();
