// Builds the workspace package in the current directory into dist/ for `pnpm pack` (its prepack script):
// JavaScript and .d.ts from src/ (tsc, relative `.ts` imports rewritten to `.js`), the files tsc does not
// emit (SQL migrations, CommonJS modules), and a copy of toolchain/versions.env, which the packed package
// reads in place of the checkout's to find the pinned Pulumi, Kafka... in the toolchain cache.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const packageDir = process.cwd();
const repoRoot = resolve(import.meta.dirname, "..");
const dist = join(packageDir, "dist");

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(join(repoRoot, "package.json")).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: packageDir, stdio: "inherit" });
cpSync(join(packageDir, "src"), dist, {
  recursive: true,
  filter: (source) => statSync(source).isDirectory() || !/\.(ts|tsx)$/.test(source),
});
if (!existsSync(join(dist, "index.js"))) throw new Error(`tsc emitted no dist/index.js in ${packageDir}`);
cpSync(join(repoRoot, "toolchain/versions.env"), join(dist, "toolchain-versions.env"));
