import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { PulumiEngineOptions } from "./create-pulumi-engine.ts";
import { defaultEngineConcurrency } from "./default-engine-concurrency.ts";

/** Options with every default filled in and checked. */
export interface PulumiEngineSettings {
  backendUrl: string;
  passphrase: string;
  secretsProvider: string;
  pulumiHome: string;
  pulumiRoot: string;
  /** Parent of the per-stack workspace directories. */
  workRoot: string;
  projectName: string;
  concurrency: number;
  operationsPerChild: number;
  timeoutMs: number;
  killGraceMs: number;
  parentSilenceMs: number;
}

/**
 * The pinned versions: the copy a packed @plinth/core carries in dist/ (this
 * file is dist/engine/pulumi/), else the checkout's (packages/core/src/engine/pulumi/).
 */
const versionsFiles = [
  resolve(import.meta.dirname, "../../toolchain-versions.env"),
  resolve(import.meta.dirname, "../../../../../toolchain/versions.env"),
];

function pinnedPulumiVersion(): string | undefined {
  const file = versionsFiles.find((candidate) => existsSync(candidate));
  if (!file) return undefined;
  return /^PULUMI_VERSION=(.+)$/m.exec(readFileSync(file, "utf8"))?.[1]?.trim();
}

/**
 * Fills in the defaults documented on `PulumiEngineOptions` and fails fast,
 * with the command that fixes it, when the Pulumi CLI is missing. Creates
 * the data directories a file backend needs.
 */
export function resolveEngineSettings(options: PulumiEngineOptions): PulumiEngineSettings {
  const cache = process.env.PLINTH_CACHE ?? join(homedir(), ".cache/plinth");
  const dataDir = resolve(options.dataDir);
  const version = pinnedPulumiVersion();
  const pulumiRoot = resolve(
    options.pulumiRoot ?? (version ? join(cache, `pulumi-${version}`) : join(cache, "pulumi")),
  );
  if (!existsSync(join(pulumiRoot, "bin/pulumi"))) {
    throw new Error(
      `the Pulumi CLI is not at ${join(pulumiRoot, "bin/pulumi")}: run 'make setup' or set the engine's pulumiRoot`,
    );
  }
  const passphrase = options.passphrase ?? process.env.PULUMI_CONFIG_PASSPHRASE;
  if (passphrase === undefined) {
    throw new Error("the Pulumi engine needs a passphrase for its secrets provider (engine.passphrase)");
  }
  const concurrency = options.concurrency ?? defaultEngineConcurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`engine concurrency must be at least 1, got ${concurrency}`);

  const operationsPerChild = options.operationsPerChild ?? 25;
  if (!Number.isInteger(operationsPerChild) || operationsPerChild < 1)
    throw new RangeError(`engine operationsPerChild must be at least 1, got ${operationsPerChild}`);

  const backendUrl = options.backendUrl ?? `file://${join(dataDir, "pulumi")}`;
  // Pulumi's file backend wants its directory to exist ("file:///abs/path?options").
  const statePath = backendUrl.startsWith("file://") ? backendUrl.slice("file://".length).split("?")[0] : undefined;
  // The state and the stack workspaces hold encrypted secrets and the passphrase's salt: this user's only.
  if (statePath && isAbsolute(statePath)) mkdirSync(statePath, { recursive: true, mode: 0o700 });
  const workRoot = join(dataDir, "pulumi-work");
  mkdirSync(workRoot, { recursive: true, mode: 0o700 });
  return {
    backendUrl,
    passphrase,
    secretsProvider: options.secretsProvider ?? "passphrase",
    pulumiHome: resolve(options.pulumiHome ?? process.env.PULUMI_HOME ?? join(cache, "pulumi-home")),
    pulumiRoot,
    workRoot,
    projectName: options.projectName ?? "plinth",
    concurrency,
    operationsPerChild,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    killGraceMs: options.killGraceMs ?? 10_000,
    parentSilenceMs: options.parentSilenceMs ?? 10_000,
  };
}
